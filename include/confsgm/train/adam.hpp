// confsgm/train/adam.hpp: the trainer's parameters, per-micro-batch gradients and Adam state, kept in the
// network's execution space: train::adam_state<Scalar, Execution>.
//
//   adam_state<float, backend::host>         here: host vectors (the default)
//   adam_state<float, backend::cuda_device>  confsgm/backend/cuda/adam.cuh: device buffers, the update a kernel
//
// The Adam update of one element is written once (adam_element) and run by both. A state gives the network its
// weights in the form its forward pass takes (weights()), holds gradient slots of its own kind, sums them in the
// order it is given (the trainer's micro-batch order: thread-independent results), and takes one clipped Adam step.
// Host copies (parameters(), moments()) are for checkpoints, model files and callers; a device state makes them
// only when asked.
#pragma once

#include "confsgm/backend/execution.hpp"
#include "confsgm/config.hpp"
#include "confsgm/error.hpp"
#include "confsgm/model/parameters.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace confsgm::train {

/// Adam with global gradient-norm clipping (the trainer's options, one step's view).
struct adam_settings {
  double learning_rate = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double clip_grad_norm = 0;  ///< global L2 norm; 0 = off
};

/// Bias corrections 1 - beta^t of step @p step (0-based), computed once per step on the host.
struct adam_corrections {
  double c1, c2;
};
inline adam_corrections corrections_of(const adam_settings& s, std::uint64_t step) {
  const double t = static_cast<double>(step + 1);
  return {1.0 - std::pow(s.beta1, t), 1.0 - std::pow(s.beta2, t)};
}

/// Clip factor for a gradient of global norm @p norm.
inline double clip_scale(const adam_settings& s, double norm) {
  return (s.clip_grad_norm > 0 && norm > s.clip_grad_norm) ? s.clip_grad_norm / norm : 1.0;
}

/// One element's Adam update in double, stored back in Scalar; @p g is the raw gradient, @p scale the clip factor.
template <class Scalar>
CONFSGM_HOST_DEVICE inline void adam_element(Scalar& p, Scalar& m, Scalar& v, Scalar g, double scale, double lr,
                                             double beta1, double beta2, double c1, double c2, double epsilon) {
  const double gi = double(g) * scale;
  const double mi = beta1 * double(m) + (1 - beta1) * gi;
  const double vi = beta2 * double(v) + (1 - beta2) * gi * gi;
  m = static_cast<Scalar>(mi);
  v = static_cast<Scalar>(vi);
  p = static_cast<Scalar>(double(p) - lr * (mi / c1) / (sqrt(vi / c2) + epsilon));
}

namespace detail {
template <class>
inline constexpr bool no_adam_state = false;
}

/// Parameters, gradients and Adam state of a trainer whose network runs on @p Execution. Specialised per execution
/// space; the primary template says what is missing.
template <class Scalar, class Execution>
class adam_state {
  static_assert(detail::no_adam_state<Execution>,
                "adam_state<Scalar, Execution>: no training state for this execution space. backend::host is in "
                "train/adam.hpp; backend::cuda_device (float) is in confsgm/backend/cuda/adam.cuh (nvcc, target "
                "confsgm::cuda); a new execution space specialises adam_state");
};

/// The host's state: plain vectors, the update a loop.
template <class Scalar>
class adam_state<Scalar, backend::host> {
 public:
  using params = model::parameter_vector<Scalar>;
  using weights_type = params;  ///< what the network's forward/backward take
  using gradient = params;      ///< one micro-batch's gradient

  /// State of a network (any: the host needs nothing of it) starting at @p initial, moments zero.
  template <class Network>
  adam_state(const Network&, params initial)
      : p_(std::move(initial)), m_(p_.size(), Scalar(0)), v_(p_.size(), Scalar(0)) {}

  std::size_t size() const noexcept { return p_.size(); }
  /// The parameters as the network's passes take them.
  const weights_type& weights() const noexcept { return p_; }
  const params& parameters() const noexcept { return p_; }
  params& parameters() noexcept { return p_; }
  void moments(params& m, params& v) const {
    m = m_;
    v = v_;
  }
  /// Replaces parameters and moments (a checkpoint's); the caller has checked the sizes.
  void load(params p, params m, params v) {
    p_ = std::move(p);
    m_ = std::move(m);
    v_ = std::move(v);
  }

  /// @p g sized to the parameters, all zero.
  void zero(gradient& g) const { g.assign(p_.size(), Scalar(0)); }
  /// sum += g, element by element.
  void add(gradient& sum, const gradient& g) const {
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += g[i];
  }
  void to_host(const gradient& g, params& out) const { out = g; }
  void from_host(const params& in, gradient& g) const { g = in; }

  /// Clips the global norm of @p g and takes Adam step @p step (0-based); returns the norm before clipping.
  double step(const gradient& g, const adam_settings& s, std::uint64_t step) {
    if (g.size() != p_.size())
      throw shape_mismatch("adam_state::step(): " + std::to_string(g.size()) + " gradients for " +
                           std::to_string(p_.size()) + " parameters");
    double sq = 0;
    for (const auto x : g) sq += double(x) * double(x);
    const double norm = std::sqrt(sq);
    const double scale = clip_scale(s, norm);
    const auto c = corrections_of(s, step);
    for (std::size_t i = 0; i < p_.size(); ++i)
      adam_element(p_[i], m_[i], v_[i], g[i], scale, s.learning_rate, s.beta1, s.beta2, c.c1, c.c2, s.epsilon);
    return norm;
  }

 private:
  params p_, m_, v_;
};

/// What the trainer needs of a network trained with @p State: forward and backward passes on the state's weights,
/// backward accumulating into the state's gradient slot.
template <class Network, class State>
concept TrainableWith = requires(const Network& n, const State& s, typename State::gradient& g,
                                 const typename Network::batch_type& b,
                                 const std::vector<typename Network::scalar_type>& v,
                                 std::vector<typename Network::scalar_type>& out, typename Network::cache& c) {
  n.forward(s.weights(), b, v, v, c, out);
  n.backward(s.weights(), b, c, v, g);
};

}  // namespace confsgm::train
