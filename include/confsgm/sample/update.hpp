// confsgm/sample/update.hpp: the sampler's update rule as a policy. Every
// sampler of this library walks the noise levels from the largest sigma down
// and, at each level, repeats
//     x <- x + drift * s_theta(x, sigma) + noise * z,   z ~ N(0, I)
// a number of times; an update rule says, per level, how many steps and with
// which drift and noise coefficients:
//   langevin            annealed Langevin (paper Algorithm 1): T steps,
//                       alpha = a sigma^2 / sigma_L^2, drift alpha, noise sqrt(2 alpha);
//   reverse_sde         Euler-Maruyama step of the reverse variance-exploding SDE:
//                       1 step, drift g^2 dt, noise g sqrt(dt);
//   probability_flow    Euler step of the probability-flow ODE: 1 step, drift g^2 dt / 2.
// noise_scale = 0 gives the zero-noise variants (f_S of paper Algorithm 2).
// The state space (coordinates, torus) is the dynamics' business
// (annealed_sampler.hpp), so every rule works in every space.
#pragma once

#include "confsgm/error.hpp"
#include "confsgm/schedule/noise_schedule.hpp"

#include <cmath>
#include <concepts>
#include <cstddef>
#include <string>

namespace confsgm::sample {

/// One update of the state: x <- x + drift * score + noise * z, with z keyed by `key` within the level.
struct step_update {
  double drift = 0;
  double noise = 0;
  std::size_t key = 0;  ///< the step index in the noise key (predictor steps 0.., corrector steps after them)
};

/// What an update rule prescribes for one level: `steps` predictor updates, preceded by `corrector_steps`
/// Langevin corrector updates at the level's own sigma (compensation.hpp; 0 unless a corrector is added).
struct level_coefficients {
  std::size_t steps = 1;  ///< updates at this level
  double drift = 0;       ///< multiplies the score
  double noise = 0;       ///< multiplies z ~ N(0, I); 0 = no noise drawn
  std::size_t corrector_steps = 0;
  double corrector_drift = 0;
  double corrector_noise = 0;

  /// Updates at this level, correctors included.
  std::size_t total_steps() const noexcept { return corrector_steps + steps; }
  /// The @p e-th update of the level in execution order: the correctors first, then the predictor. A predictor
  /// step keeps the noise key it has without correctors (so adding none changes nothing); correctors take the
  /// keys after the predictor's.
  step_update update(std::size_t e) const noexcept {
    if (e < corrector_steps) return {corrector_drift, corrector_noise, steps + e};
    return {drift, noise, e - corrector_steps};
  }
};

/// g_i^2 dt of level i: the schedule's diffusion()^2 / L when it has one (Torsional Diffusion's
/// g = sigma sqrt(2 ln(max/min)), dt = 1/L), else the variance drop sigma_i^2 - sigma_{i+1}^2.
template <NoiseSchedule Schedule>
double sde_variance_step(const Schedule& schedule, std::size_t i) {
  if constexpr (requires { schedule.diffusion(1.0); }) {
    const double g = schedule.diffusion(schedule.sigma(i));
    return g * g / static_cast<double>(schedule.size());
  } else {
    const double s0 = schedule.sigma(i), s1 = i + 1 < schedule.size() ? schedule.sigma(i + 1) : 0.0;
    return s0 * s0 - s1 * s1;
  }
}

/// Annealed Langevin dynamics (paper Algorithm 1).
struct langevin {
  std::size_t steps_per_level = 100;  ///< T
  double step_size = 2.4e-6;          ///< a
  double noise_scale = 1.0;
  static std::string name() { return "langevin"; }
  template <NoiseSchedule Schedule>
  level_coefficients at(const Schedule& schedule, std::size_t level) const {
    const double sigma = schedule.sigma(level), sigma_last = schedule.sigma(schedule.size() - 1);
    const double alpha = step_size * (sigma * sigma) / (sigma_last * sigma_last);
    return {steps_per_level, alpha, noise_scale * std::sqrt(2.0 * alpha)};
  }
};

/// Reverse SDE, one Euler-Maruyama step per level (Torsional Diffusion's sampler).
struct reverse_sde {
  double noise_scale = 1.0;
  static std::string name() { return "sde"; }
  template <NoiseSchedule Schedule>
  level_coefficients at(const Schedule& schedule, std::size_t level) const {
    const double var_step = sde_variance_step(schedule, level);
    return {1, var_step, noise_scale * std::sqrt(var_step)};
  }
};

/// Probability-flow ODE, one Euler step per level (deterministic).
struct probability_flow {
  static std::string name() { return "ode"; }
  template <NoiseSchedule Schedule>
  level_coefficients at(const Schedule& schedule, std::size_t level) const {
    return {1, 0.5 * sde_variance_step(schedule, level), 0.0};
  }
};

/// An update rule names itself and gives each level's coefficients for a schedule.
template <class U, class Schedule = geometric_schedule>
concept LevelUpdate = requires(const U& u, const Schedule& s, std::size_t level) {
  { U::name() } -> std::convertible_to<std::string>;
  { u.at(s, level) } -> std::same_as<level_coefficients>;
};

/// Checks @p U with messages that name what is missing (used by the samplers).
template <class U, class Schedule>
constexpr bool check_level_update() {
  static_assert(requires { { U::name() } -> std::convertible_to<std::string>; },
                "LevelUpdate: the update rule needs `static std::string name()`");
  static_assert(requires(const U& u, const Schedule& s, std::size_t level) {
    { u.at(s, level) } -> std::same_as<level_coefficients>;
  }, "LevelUpdate: the update rule needs `level_coefficients at(const Schedule&, std::size_t level) const`");
  return true;
}

static_assert(LevelUpdate<langevin> && LevelUpdate<reverse_sde> && LevelUpdate<probability_flow>);

}  // namespace confsgm::sample
