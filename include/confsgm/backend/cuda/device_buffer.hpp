// confsgm/backend/cuda/device_buffer.hpp: device memory owned by RAII types
// (plain cudaMalloc, never managed memory), and a cuBLAS handle.
#pragma once

#include "confsgm/backend/cuda/check.hpp"

#include <cstddef>
#include <utility>
#include <vector>

namespace confsgm::cuda {

/// n elements of T on the current device. Move-only.
template <class T>
class device_buffer {
 public:
  device_buffer() = default;
  explicit device_buffer(std::size_t n) { resize(n); }
  explicit device_buffer(const std::vector<T>& host) { upload(host); }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  device_buffer(device_buffer&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)), cap_(std::exchange(o.cap_, 0)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
      cap_ = std::exchange(o.cap_, 0);
    }
    return *this;
  }
  ~device_buffer() { release(); }

  /// Reallocates only when growing; contents are not kept.
  void resize(std::size_t n) {
    if (n <= cap_) {
      n_ = n;
      return;
    }
    release();
    if (n) CONFSGM_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)));
    n_ = cap_ = n;
  }
  void upload(const T* host, std::size_t n) {
    resize(n);
    if (n) CONFSGM_CUDA_CHECK(cudaMemcpy(p_, host, n * sizeof(T), cudaMemcpyHostToDevice));
  }
  void upload(const std::vector<T>& host) { upload(host.data(), host.size()); }
  void download(T* host, std::size_t n) const {
    if (n > n_) throw shape_mismatch("device_buffer::download(): " + std::to_string(n) + " elements asked, " +
                                     std::to_string(n_) + " held");
    if (n) CONFSGM_CUDA_CHECK(cudaMemcpy(host, p_, n * sizeof(T), cudaMemcpyDeviceToHost));
  }
  std::vector<T> download() const {
    std::vector<T> h(n_);
    download(h.data(), n_);
    return h;
  }
  void zero() {
    if (n_) CONFSGM_CUDA_CHECK(cudaMemset(p_, 0, n_ * sizeof(T)));
  }
  T* data() noexcept { return p_; }
  const T* data() const noexcept { return p_; }
  std::size_t size() const noexcept { return n_; }

 private:
  void release() noexcept {
    if (p_) cudaFree(p_);
    p_ = nullptr;
    n_ = cap_ = 0;
  }
  T* p_ = nullptr;
  std::size_t n_ = 0, cap_ = 0;
};

/// A cuBLAS handle (RAII). FP32 by default; TF32 tensor cores on request.
class blas_handle {
 public:
  explicit blas_handle(bool tf32 = false) {
    CONFSGM_CUDA_CHECK(cublasCreate(&h_));
    CONFSGM_CUDA_CHECK(cublasSetMathMode(h_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
  }
  blas_handle(const blas_handle&) = delete;
  blas_handle& operator=(const blas_handle&) = delete;
  ~blas_handle() { cublasDestroy(h_); }
  cublasHandle_t get() const noexcept { return h_; }

 private:
  cublasHandle_t h_ = nullptr;
};

/// Throws cuda_error with a clear sentence when no device can be used.
inline void require_device() {
  if (device_count() == 0) throw cuda_error("no CUDA device is available (driver missing or no GPU)");
}

}  // namespace confsgm::cuda
