// The program of compose/torsion.cpp with its score network on the GPU: the one type it names changes
// (model::score_model<..., backend::cuda_device>), and the trainer, the sampler and the estimator are the same code.
// Exits 77 (skipped) where there is no CUDA device.
//   example_compose_torsion_cuda REF.sdf
#include <confsgm/backend/cuda/score_model.cuh>

#include <cstdlib>
#include <iostream>

namespace {
const bool device_present = [] {
  if (confsgm::cuda::device_count() > 0) return true;
  std::cerr << "example_compose_torsion_cuda: no CUDA device, skipped\n";
  std::exit(77);
}();
}  // namespace

#define COMPOSE_EXECUTION confsgm::backend::cuda_device
#include "torsion.cpp"
