// confsgm/space/state_space.hpp: the StateSpace policy, the extension point
// for a new kind of conformer state (distances, torsions, and e.g. GeoDiff's
// Euclidean coordinates next: docs/design.md says what a third space takes).
//
// What the trainer and the estimator use of a space: a per-molecule
// description (`structure`), the number of noise variables of one conformer,
// how a displacement perturbs a clean state, the denoising-score-matching
// target of a displacement, and the DSM loss weight lambda(sigma). How a space
// is *sampled* is its SamplerDynamics (sample/annealed_sampler.hpp).
#pragma once

#include <concepts>
#include <cstddef>
#include <string>

namespace confsgm {

template <class S>
concept StateSpace = requires(const typename S::structure& st, double x, double disp, double sigma) {
  typename S::structure;
  { S::name() } -> std::convertible_to<std::string>;
  { S::noise_dim(st) } -> std::convertible_to<std::size_t>;
  { S::perturb(x, disp) } -> std::convertible_to<double>;
  { S::dsm_target(disp, sigma) } -> std::convertible_to<double>;
  { S::loss_weight(sigma) } -> std::convertible_to<double>;
};

/// static_assert(check_state_space<S>()) names the first member S lacks (a plain
/// `StateSpace<S>` failure only says that the concept is not satisfied).
template <class S>
constexpr bool check_state_space() {
  static_assert(requires { typename S::structure; },
                "StateSpace: needs a member type `structure` (what the space knows about one molecule)");
  static_assert(requires { { S::name() } -> std::convertible_to<std::string>; },
                "StateSpace: needs `static std::string name()` (written into model files)");
  static_assert(requires(const typename S::structure& st) { { S::noise_dim(st) } -> std::convertible_to<std::size_t>; },
                "StateSpace: needs `static std::size_t noise_dim(const structure&)` (noise variables per conformer)");
  static_assert(requires(double x, double disp) { { S::perturb(x, disp) } -> std::convertible_to<double>; },
                "StateSpace: needs `static double perturb(double clean, double displacement)`");
  static_assert(requires(double disp, double sigma) { { S::dsm_target(disp, sigma) } -> std::convertible_to<double>; },
                "StateSpace: needs `static double dsm_target(double displacement, double sigma)` (the DSM regression "
                "target: the score of the perturbation kernel)");
  static_assert(requires(double sigma) { { S::loss_weight(sigma) } -> std::convertible_to<double>; },
                "StateSpace: needs `static double loss_weight(double sigma)` (lambda(sigma) of the DSM objective)");
  return StateSpace<S>;
}

}  // namespace confsgm
