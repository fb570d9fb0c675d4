// confsgm/backend/cuda/adam.cuh: the trainer's state on the CUDA device, train::adam_state<float, cuda_device>.
// Parameters, Adam moments and every micro-batch gradient stay on the device between steps; a step moves one
// double (the gradient norm, which the observers report and the clip needs) to the host. Host copies of the
// parameters and moments are made only when asked (checkpoints, model files, callers of parameters()).
//
// The state lives on its network's device (network.device()) and selects it in every call, so worker threads
// and ranks that share a node (cuda::use_device_of_node_rank) reach the right card.
//
// Deterministic: slot sums in the order given, the squared norm by a fixed grid and fixed tree order, the update
// the host's own element function (train::adam_element) per element. Device and host runs differ by rounding
// only (nvcc contracts a*b + c into FMAs; cuBLAS sums in its own order).
#pragma once

#include "confsgm/backend/cuda/distance_network.cuh"
#include "confsgm/backend/execution.hpp"
#include "confsgm/train/adam.hpp"
#include "confsgm/train/data_parallel.hpp"

#include <memory>
#include <mutex>

namespace confsgm::cuda {

namespace kernels {
namespace {

constexpr int norm_blocks = 256;  // fixed grid: the same partial sums on every run and every card

/// sum[i] += g[i]
__global__ void add_into(float* sum, const float* g, std::size_t n) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t < n) sum[t] += g[t];
}

/// partial[block] = sum of g[i]^2 over the block's elements (strided), in double, by a fixed tree.
__global__ void squares_partial(double* partial, const float* g, std::size_t n) {
  __shared__ double acc[threads];
  double s = 0;
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n; i += std::size_t(gridDim.x) * blockDim.x)
    s += double(g[i]) * double(g[i]);
  acc[threadIdx.x] = s;
  __syncthreads();
  for (int half = threads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) acc[threadIdx.x] += acc[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = acc[0];
}

/// total[0] = sum of partial[0..blocks) by a fixed tree (one block of `threads`).
__global__ void squares_total(double* total, const double* partial, int blocks) {
  __shared__ double acc[threads];
  double s = 0;
  for (int i = static_cast<int>(threadIdx.x); i < blocks; i += threads) s += partial[i];
  acc[threadIdx.x] = s;
  __syncthreads();
  for (int half = threads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) acc[threadIdx.x] += acc[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) total[0] = acc[0];
}

__global__ void adam_update(float* p, float* m, float* v, const float* g, std::size_t n, double scale, double lr,
                            double beta1, double beta2, double c1, double c2, double epsilon) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t < n) train::adam_element(p[t], m[t], v[t], g[t], scale, lr, beta1, beta2, c1, c2, epsilon);
}

}  // namespace
}  // namespace kernels

}  // namespace confsgm::cuda

namespace confsgm::train {

/// The device's state: device_parameters the network reads in place, moments and gradient slots as device buffers.
template <>
class adam_state<float, backend::cuda_device> {
 public:
  using params = model::parameter_vector<float>;
  using weights_type = cuda::device_parameters;
  using gradient = cuda::device_buffer<float>;

  /// State of @p net (its layout names the parameter blocks; its device holds the state) starting at @p initial,
  /// moments zero.
  template <class Network>
  adam_state(const Network& net, params initial)
      : device_(net.device()),
        weights_(on_device(device_, [&] { return std::make_unique<cuda::device_parameters>(net.layout(), initial); })),
        host_(std::move(initial)),
        m_(host_.size()),
        v_(host_.size()),
        partial_(cuda::kernels::norm_blocks),
        total_(1),
        sync_(std::make_unique<std::mutex>()) {
    m_.zero();
    v_.zero();
  }

  std::size_t size() const noexcept { return host_.size(); }
  /// The parameters on the device, where the network reads them. Host edits (parameters()) are uploaded first.
  const weights_type& weights() const {
    const std::lock_guard<std::mutex> hold(*sync_);
    if (host_edited_) {
      cuda::use_device(device_);
      weights_->upload(host_);
      host_edited_ = false;
    }
    return *weights_;
  }
  /// A host copy, downloaded when a step has changed the device's.
  const params& parameters() const {
    const std::lock_guard<std::mutex> hold(*sync_);
    if (!host_current_) {
      cuda::use_device(device_);
      weights_->download(host_);
      host_current_ = true;
    }
    return host_;
  }
  /// The host copy, writable: it becomes the parameters (uploaded before the next pass).
  params& parameters() {
    std::as_const(*this).parameters();
    const std::lock_guard<std::mutex> hold(*sync_);
    host_edited_ = true;
    return host_;
  }
  void moments(params& m, params& v) const {
    cuda::use_device(device_);
    m.resize(size());
    v.resize(size());
    m_.download(m.data(), m.size());
    v_.download(v.data(), v.size());
  }
  void load(params p, params m, params v) {
    if (p.size() != size() || m.size() != size() || v.size() != size())
      throw shape_mismatch("adam_state<cuda_device>::load(): " + std::to_string(p.size()) + " parameters and " +
                           std::to_string(m.size()) + " + " + std::to_string(v.size()) + " moments for " +
                           std::to_string(size()));
    const std::lock_guard<std::mutex> hold(*sync_);
    cuda::use_device(device_);
    weights_->upload(p);
    m_.upload(m.data(), m.size());
    v_.upload(v.data(), v.size());
    host_ = std::move(p);
    host_current_ = true;
    host_edited_ = false;
  }

  void zero(gradient& g) const {
    cuda::use_device(device_);
    g.resize(size());
    g.zero();
  }
  void add(gradient& sum, const gradient& g) const {
    using namespace cuda::kernels;
    check_size(g, "add");
    check_size(sum, "add");
    cuda::use_device(device_);
    add_into<<<blocks_for(size()), threads>>>(sum.data(), g.data(), size());
    CONFSGM_CUDA_CHECK_LAUNCH("adam_state<cuda_device>::add");
  }
  void to_host(const gradient& g, params& out) const {
    check_size(g, "to_host");
    cuda::use_device(device_);
    out.resize(size());
    g.download(out.data(), out.size());
  }
  void from_host(const params& in, gradient& g) const {
    if (in.size() != size())
      throw shape_mismatch("adam_state<cuda_device>::from_host(): " + std::to_string(in.size()) + " values for " +
                           std::to_string(size()) + " parameters");
    cuda::use_device(device_);
    g.upload(in.data(), in.size());
  }

  /// Data-parallel training with a device gather (data_parallel::gathering_on_device): every rank has computed
  /// the micro-batches it owns (mb mod ranks = rank) into @p slot; afterwards every slot holds its micro-batch's
  /// gradient on every rank. One gather of ceil(micro-batches / ranks) gradients per rank (the last ones zero-padded).
  void gather_slots(std::vector<gradient>& slot, const data_parallel& sharing) const {
    const std::size_t n = size(), ranks = static_cast<std::size_t>(sharing.size());
    const std::size_t rank = static_cast<std::size_t>(sharing.rank()), per_rank = (slot.size() + ranks - 1) / ranks;
    cuda::use_device(device_);
    send_.resize(per_rank * n);
    send_.zero();
    for (std::size_t j = 0, mb = rank; mb < slot.size(); ++j, mb += ranks) {
      check_size(slot[mb], "gather_slots");
      CONFSGM_CUDA_CHECK(cudaMemcpy(send_.data() + j * n, slot[mb].data(), n * sizeof(float), cudaMemcpyDeviceToDevice));
    }
    received_.resize(ranks * per_rank * n);
    sharing.on_device()(send_.data(), received_.data(), per_rank * n);
    for (std::size_t mb = 0; mb < slot.size(); ++mb) {
      slot[mb].resize(n);
      const float* from = received_.data() + ((mb % ranks) * per_rank + mb / ranks) * n;
      CONFSGM_CUDA_CHECK(cudaMemcpy(slot[mb].data(), from, n * sizeof(float), cudaMemcpyDeviceToDevice));
    }
  }

  /// Clips the global norm of @p g and takes Adam step @p step (0-based) on the device; returns the norm before
  /// clipping.
  double step(const gradient& g, const adam_settings& s, std::uint64_t step) {
    using namespace cuda::kernels;
    check_size(g, "step");
    weights();  // host edits first
    cuda::use_device(device_);
    squares_partial<<<norm_blocks, threads>>>(partial_.data(), g.data(), size());
    squares_total<<<1, threads>>>(total_.data(), partial_.data(), norm_blocks);
    CONFSGM_CUDA_CHECK_LAUNCH("adam_state<cuda_device>::step (norm)");
    double sq = 0;
    total_.download(&sq, 1);
    const double norm = std::sqrt(sq);
    const auto c = corrections_of(s, step);
    adam_update<<<blocks_for(size()), threads>>>(weights_->data(), m_.data(), v_.data(), g.data(), size(),
                                                 clip_scale(s, norm), s.learning_rate, s.beta1, s.beta2, c.c1, c.c2,
                                                 s.epsilon);
    CONFSGM_CUDA_CHECK_LAUNCH("adam_state<cuda_device>::step (update)");
    const std::lock_guard<std::mutex> hold(*sync_);
    host_current_ = false;
    return norm;
  }

 private:
  /// @p make() run with @p device current (the state's buffers are made on its device).
  template <class Make>
  static auto on_device(int device, const Make& make) {
    cuda::use_device(device);
    return make();
  }
  void check_size(const gradient& g, const char* what) const {
    if (g.size() != size())
      throw shape_mismatch(std::string("adam_state<cuda_device>::") + what + "(): a gradient of " +
                           std::to_string(g.size()) + " values for " + std::to_string(size()) + " parameters");
  }

  int device_;
  std::unique_ptr<cuda::device_parameters> weights_;  // behind a pointer: the state stays movable
  mutable params host_;
  cuda::device_buffer<float> m_, v_;
  cuda::device_buffer<double> partial_, total_;
  mutable cuda::device_buffer<float> send_, received_;  ///< gather_slots' buffers, kept between steps
  std::unique_ptr<std::mutex> sync_;  ///< guards the host copy and the upload of host edits
  mutable bool host_current_ = true, host_edited_ = false;
};

}  // namespace confsgm::train
