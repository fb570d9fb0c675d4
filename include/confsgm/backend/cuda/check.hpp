// confsgm/backend/cuda/check.hpp: every CUDA runtime and cuBLAS call is
// checked; a failure becomes a typed exception naming the call, file and line.
#pragma once

#if !defined(__CUDACC__)
#error "confsgm/backend/cuda headers are CUDA code: compile this translation unit with nvcc (.cu), and link confsgm::cuda (CMake option CONFSGM_ENABLE_CUDA)"
#endif

#include "confsgm/error.hpp"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

namespace confsgm::cuda {

/// A CUDA runtime or cuBLAS call failed (or no device is present).
class cuda_error : public error {
 public:
  using error::error;
};

inline void check(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess)
    throw cuda_error(std::string(what) + " failed: " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ") at " +
                     file + ":" + std::to_string(line));
}
inline void check(cublasStatus_t s, const char* what, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw cuda_error(std::string(what) + " failed: cuBLAS status " + std::to_string(static_cast<int>(s)) + " at " +
                     file + ":" + std::to_string(line));
}

/// Number of CUDA devices, 0 when there is none or no driver (never throws).
inline int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

}  // namespace confsgm::cuda

#define CONFSGM_CUDA_CHECK(call) ::confsgm::cuda::check((call), #call, __FILE__, __LINE__)
#define CONFSGM_CUDA_CHECK_LAUNCH(what) ::confsgm::cuda::check(cudaGetLastError(), what, __FILE__, __LINE__)
