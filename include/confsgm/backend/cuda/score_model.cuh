// confsgm/backend/cuda/score_model.cuh: the CUDA device's score models, so that
// model::score_model<Space, float, backend::cuda_device> names them (model/score_model.hpp). They present the host
// networks' interface (forward/backward on host vectors) with both passes on the GPU, so the trainer, the samplers
// and the exposure-bias estimator take them unchanged. Float only: the kernels are single precision.
#pragma once

#include "confsgm/backend/cuda/distance_training.cuh"
#include "confsgm/backend/cuda/torsion_training.cuh"
#include "confsgm/model/score_model.hpp"

namespace confsgm::model {

template <>
struct score_model_for<distance_space, float, backend::cuda_device> {
  using type = cuda::distance_network_trainable;
};
template <>
struct score_model_for<torsion_space, float, backend::cuda_device> {
  using type = cuda::torsion_network_trainable;
};

static_assert(ScoreNetwork<score_model<distance_space, float, backend::cuda_device>> &&
                  ScoreNetwork<score_model<torsion_space, float, backend::cuda_device>>,
              "the CUDA device's score models must model ScoreNetwork");

}  // namespace confsgm::model
