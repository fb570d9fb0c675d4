// A second translation unit including every CUDA header: the kernels and
// inline functions they define must link into one program more than once.
#include <confsgm/backend/cuda/distance_training.cuh>
#include <confsgm/backend/cuda/langevin.cuh>
#include <confsgm/backend/cuda/torsion_sampler.cuh>
#include <confsgm/backend/cuda/torsion_training.cuh>

int confsgm_gpu_link_check() { return confsgm::cuda::device_count() >= 0 ? 0 : 1; }
