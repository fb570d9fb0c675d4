// confsgm/sample/compensation.hpp: exposure-bias compensation at sampling time,
// as an adapter of the update rule (update.hpp), so that every sampler (CPU and
// GPU, both state spaces, the bias estimator) applies it the same way.
//
// Epsilon Scaling (Ning et al., ICLR 2024, "Elucidating the exposure bias in
// diffusion models"): a network trained on ground-truth inputs over-predicts
// the noise of the inputs it meets while sampling; dividing the predicted noise
// eps_theta by lambda_t > 1 before the update compensates. With a score model
// (s = -eps / sigma) that is dividing the score, i.e. the drift coefficient, by
//     lambda(level) = k * t + b,   t = L - level   (L levels; t = L at sigma_max, 1 at sigma_min),
// the noise term unchanged. k = 0, b = 1 is the unscaled sampler, bit for bit
// (x / 1 is exact). The paper reports b = 1.004-1.017 (k = 0) at 100 steps, and
// k = 0.0025, b = 1 at 20 steps for its image models; the values for conformer
// models are chosen on validation data (docs/results.md).
#pragma once

#include "confsgm/error.hpp"
#include "confsgm/sample/update.hpp"
#include "confsgm/schedule/noise_schedule.hpp"

#include <cmath>
#include <cstddef>
#include <string>

namespace confsgm::sample {

/// lambda(level) = k (L - level) + b divides the score (see the file comment).
struct epsilon_scaling {
  double k = 0.0;
  double b = 1.0;

  /// False for the identity (k = 0, b = 1).
  bool active() const noexcept { return !(k == 0.0 && b == 1.0); }
  void check() const {
    if (!std::isfinite(k) || !std::isfinite(b))
      throw invalid_argument("epsilon_scaling: k and b must be finite, got k = " + std::to_string(k) + ", b = " +
                             std::to_string(b));
  }
  template <NoiseSchedule Schedule>
  double lambda(const Schedule& schedule, std::size_t level) const {
    const double t = static_cast<double>(schedule.size() - level);
    const double l = k * t + b;
    if (!(l > 0))
      throw invalid_argument("epsilon_scaling: lambda = k t + b must be > 0 at every level; k = " + std::to_string(k) +
                             ", b = " + std::to_string(b) + " gives " + std::to_string(l) + " at level " +
                             std::to_string(level));
    return l;
  }
};

/// An update rule whose drift is divided by @p scaling's lambda at each level (Epsilon Scaling); steps and noise
/// are the inner rule's. Models LevelUpdate, so it goes wherever an update rule goes.
template <class Update>
struct epsilon_scaled {
  Update inner;
  epsilon_scaling scaling;

  static std::string name() { return Update::name(); }
  template <NoiseSchedule Schedule>
  level_coefficients at(const Schedule& schedule, std::size_t level) const {
    level_coefficients c = inner.at(schedule, level);
    c.drift /= scaling.lambda(schedule, level);
    return c;
  }
};

static_assert(LevelUpdate<epsilon_scaled<langevin>> && LevelUpdate<epsilon_scaled<reverse_sde>> &&
              LevelUpdate<epsilon_scaled<probability_flow>>);

}  // namespace confsgm::sample
