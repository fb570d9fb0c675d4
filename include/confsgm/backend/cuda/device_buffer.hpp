// confsgm/backend/cuda/device_buffer.hpp: device memory owned by RAII types
// (plain cudaMalloc, never managed memory), and a cuBLAS handle.
#pragma once

#include "confsgm/backend/cuda/check.hpp"

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
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

/// cuBLAS handles kept for reuse: creating one costs far more than a small training step, so a network holds a
/// pool and each forward pass leases a handle (one per thread in flight) and gives it back with its cache. Always
/// owned by a shared_ptr (make()): a lease keeps its pool alive.
class blas_pool : public std::enable_shared_from_this<blas_pool> {
 public:
  static std::shared_ptr<blas_pool> make(bool tf32 = false) { return std::shared_ptr<blas_pool>(new blas_pool(tf32)); }
  blas_pool(const blas_pool&) = delete;
  blas_pool& operator=(const blas_pool&) = delete;

  /// A handle out of the pool until the lease ends. Empty when default-constructed.
  class lease {
   public:
    lease() = default;
    lease(std::shared_ptr<blas_pool> pool, std::unique_ptr<blas_handle> h) : pool_(std::move(pool)), h_(std::move(h)) {}
    lease(lease&& o) noexcept : pool_(std::move(o.pool_)), h_(std::move(o.h_)) {}
    lease& operator=(lease&& o) noexcept {
      if (this != &o) {
        give_back();
        pool_ = std::move(o.pool_);
        h_ = std::move(o.h_);
      }
      return *this;
    }
    ~lease() { give_back(); }
    explicit operator bool() const noexcept { return h_ != nullptr; }
    const blas_handle& operator*() const noexcept { return *h_; }

   private:
    void give_back() noexcept {
      if (pool_ && h_) pool_->put(std::move(h_));
      pool_.reset();
    }
    std::shared_ptr<blas_pool> pool_;
    std::unique_ptr<blas_handle> h_;
  };

  lease acquire() {
    {
      const std::lock_guard<std::mutex> hold(mutex_);
      if (!free_.empty()) {
        auto h = std::move(free_.back());
        free_.pop_back();
        return lease(shared_from_this(), std::move(h));
      }
    }
    return lease(shared_from_this(), std::make_unique<blas_handle>(tf32_));
  }

 private:
  explicit blas_pool(bool tf32) : tf32_(tf32) {}
  void put(std::unique_ptr<blas_handle> h) noexcept {
    try {
      const std::lock_guard<std::mutex> hold(mutex_);
      free_.push_back(std::move(h));
    } catch (...) {  // no room to keep it: it is destroyed instead
    }
  }
  bool tf32_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<blas_handle>> free_;
};

/// Throws cuda_error with a clear sentence when no device can be used.
inline void require_device() {
  if (device_count() == 0) throw cuda_error("no CUDA device is available (driver missing or no GPU)");
}

/// The device of the calling host thread. Each thread has its own, device 0 until it chooses: objects that work on
/// one device remember it (current_device() when made) and choose it again (use_device) in every call, so that
/// worker threads land on the same card.
inline int current_device() {
  int d = 0;
  CONFSGM_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}
inline void use_device(int d) { CONFSGM_CUDA_CHECK(cudaSetDevice(d)); }

/// Chooses the device of the @p node_rank-th process on a node: node_rank mod the device count, so one GPU per
/// rank when a node runs as many ranks as it has GPUs, and ranks sharing cards round-robin when it runs more.
/// Makes it the calling thread's device and returns it.
inline int use_device_of_node_rank(int node_rank) {
  require_device();
  if (node_rank < 0) throw invalid_argument("use_device_of_node_rank(): node rank " + std::to_string(node_rank));
  const int d = node_rank % device_count();
  use_device(d);
  return d;
}

}  // namespace confsgm::cuda
