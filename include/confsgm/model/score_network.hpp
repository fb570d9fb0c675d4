// confsgm/model/score_network.hpp: the ScoreNetwork concept: what the DSM
// trainer, the samplers (through sample::network_score) and the estimator use
// of a score network. The CPU networks (model/*_score_network.hpp) and the
// CUDA backend's trainables model it; a third space's network would too.
#pragma once

#include "confsgm/model/parameters.hpp"
#include "confsgm/space/state_space.hpp"

#include <concepts>
#include <cstdint>
#include <string>
#include <vector>

namespace confsgm::model {

/// A ScoreNetwork names its scalar, space and batch types, builds its initial parameters, and runs a forward
/// pass (per-variable scores of a batch at given noise levels, keeping what backward needs in a `cache`) and a
/// backward pass (accumulating parameter gradients from d(loss)/d(score)). Its `config()` carries the four
/// sizes every model file records: hidden, layers, atom_types, edge_types.
template <class N>
concept ScoreNetwork = requires(const N& n, const parameter_vector<typename N::scalar_type>& p,
                                parameter_vector<typename N::scalar_type>& grad, const typename N::batch_type& b,
                                const std::vector<typename N::scalar_type>& v, std::vector<typename N::scalar_type>& out,
                                typename N::cache& c, std::uint64_t seed) {
  typename N::scalar_type;
  typename N::space_type;
  typename N::batch_type;
  typename N::cache;
  requires std::floating_point<typename N::scalar_type>;
  requires StateSpace<typename N::space_type>;
  { N::kind() } -> std::convertible_to<std::string>;
  { n.num_parameters() } -> std::convertible_to<std::size_t>;
  { n.initial_parameters(seed) } -> std::convertible_to<parameter_vector<typename N::scalar_type>>;
  n.config().hidden;
  n.config().layers;
  n.config().atom_types;
  n.config().edge_types;
  n.forward(p, b, v, v, c, out);
  n.backward(p, b, c, v, grad);
};

/// static_assert(check_score_network<N>()) names the first member N lacks.
template <class N>
constexpr bool check_score_network() {
  static_assert(requires { typename N::scalar_type; typename N::space_type; typename N::batch_type; typename N::cache; },
                "ScoreNetwork: needs the member types scalar_type (float or double), space_type (a StateSpace), "
                "batch_type (what forward() takes) and cache (what forward() keeps for backward())");
  static_assert(std::floating_point<typename N::scalar_type>, "ScoreNetwork: scalar_type must be float or double");
  static_assert(check_state_space<typename N::space_type>());
  static_assert(requires { { N::kind() } -> std::convertible_to<std::string>; },
                "ScoreNetwork: needs `static std::string kind()` (the model-file kind, e.g. \"distance-gine\")");
  static_assert(requires(const N& n, std::uint64_t seed) {
    { n.num_parameters() } -> std::convertible_to<std::size_t>;
    { n.initial_parameters(seed) } -> std::convertible_to<parameter_vector<typename N::scalar_type>>;
  }, "ScoreNetwork: needs `std::size_t num_parameters() const` and `params initial_parameters(std::uint64_t seed) const`");
  static_assert(requires(const N& n) {
    n.config().hidden;
    n.config().layers;
    n.config().atom_types;
    n.config().edge_types;
  }, "ScoreNetwork: needs `config()` with the fields hidden, layers, atom_types and edge_types (model-file header)");
  static_assert(requires(const N& n, const parameter_vector<typename N::scalar_type>& p, const typename N::batch_type& b,
                         const std::vector<typename N::scalar_type>& v, std::vector<typename N::scalar_type>& out,
                         typename N::cache& c) { n.forward(p, b, v, v, c, out); },
                "ScoreNetwork: needs `void forward(const params&, const batch_type&, const vec& state, const vec& sigma, "
                "cache&, vec& score) const`");
  static_assert(requires(const N& n, const parameter_vector<typename N::scalar_type>& p,
                         parameter_vector<typename N::scalar_type>& grad, const typename N::batch_type& b,
                         const std::vector<typename N::scalar_type>& v, typename N::cache& c) {
    n.backward(p, b, c, v, grad);
  }, "ScoreNetwork: needs `void backward(const params&, const batch_type&, const cache&, const vec& d_score, "
     "params& grad) const`");
  return ScoreNetwork<N>;
}

}  // namespace confsgm::model
