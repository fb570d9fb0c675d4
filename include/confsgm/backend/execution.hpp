// confsgm/backend/execution.hpp: execution spaces, where a score network's passes and its training state live
// (Kokkos' execution spaces, reduced to tags), and the trait that reads a network's.
//
//   backend::execution_of<Network>   // backend::host unless the network says `using execution_space = ...;`
//
// The trainer keeps its parameters, gradients and Adam state in the network's execution space
// (train::adam_state<Scalar, Execution>), so a device network trains without a host round trip per step.
#pragma once

namespace confsgm::backend {

/// Execution spaces. Tags only: what runs there is chosen by model::score_model_for and train::adam_state.
struct host {};         ///< this process's cores, Eigen GEMMs (backend::cpu_eigen)
struct cuda_device {};  ///< one CUDA device, cuBLAS GEMMs and confsgm's kernels (confsgm::cuda, float only)

namespace detail {
template <class Network>
struct execution_of {
  using type = host;
};
template <class Network>
  requires requires { typename Network::execution_space; }
struct execution_of<Network> {
  using type = typename Network::execution_space;
};
}  // namespace detail

/// Where @p Network runs: its `execution_space` member type, else backend::host.
template <class Network>
using execution_of = typename detail::execution_of<Network>::type;

}  // namespace confsgm::backend
