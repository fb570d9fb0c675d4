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
//
// Langevin corrector steps (predictor-corrector sampling, Song et al., ICLR 2021):
// before each level's predictor update, M updates
//     x <- x + alpha_i s(x, sigma_i) + noise_scale sqrt(2 alpha_i) z,   alpha_i = r sigma_i^2
// at the level's own sigma. Langevin dynamics leaves p_sigma_i invariant (up to
// a discretisation error that shrinks with r), so a sample that arrives at
// level i off p_sigma_i (exposure bias) is pulled back towards it before the
// next predictor step. Running the correctors at the start of a level is Song
// et al.'s "corrector after the predictor of the level above"; the first level's
// correctors act on the prior, where they do nothing on average.
//
// Sigma-shift (after Li et al., ICLR 2024, "Alleviating exposure bias in
// diffusion models through sampling with shifted time steps"): the network is
// given the noise level that matches the sample's actual state instead of the
// scheduled one, chosen within a window of levels around it. The paper
// estimates a sample's noise from its pixel variance; a conformer's state has
// no such statistic, so the estimate here comes from the score itself: under
// the perturbation kernel of width sigma the score's expected squared norm is
// known (n/sigma^2 for Gaussian distances, the wrapped-normal table on the
// torus), and a network evaluated at sigma on a sample that carries noise
// sigma' returns a score about sigma'/sigma times larger, so
//     sigma_hat = sigma sqrt(|s|^2 / E|s_sigma|^2).
// The estimate pools the conformers of one molecule within a network batch
// (one conformer's few torsions give too noisy a norm). The ratio
// sigma_hat / sigma_i seen at one step sets the network level of the next:
// the level j of the window whose sigma_j is nearest (in log) to
// ratio * sigma_next. The update's coefficients stay those of the scheduled
// level (every level is still walked once). The network learns the score of
// the data perturbed by the kernel, whose norm equals the kernel's only where
// sigma is large against the spread of the data's modes; at smaller sigma the
// estimate reads low (a mode of width tau gives sigma / sqrt(sigma^2 + tau^2)
// of the true ratio). So the shift applies only at levels with sigma >= cutoff
// (Li et al. too stop shifting at a cut-off step).
#pragma once

#include "confsgm/error.hpp"
#include "confsgm/sample/particle_guidance.hpp"
#include "confsgm/sample/update.hpp"
#include "confsgm/schedule/noise_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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
    const double lambda = scaling.lambda(schedule, level);
    c.drift /= lambda;  // the score is scaled, so the correctors' drift too
    c.corrector_drift /= lambda;
    return c;
  }
};

/// Langevin corrector steps before each level's predictor (see the file comment); steps = 0 is none.
struct langevin_corrector {
  std::size_t steps = 0;   ///< M per level
  double step_size = 0.1;  ///< r: alpha_i = r sigma_i^2

  bool active() const noexcept { return steps > 0; }
  void check() const {
    if (active() && !(std::isfinite(step_size) && step_size > 0))
      throw invalid_argument("langevin_corrector: step_size must be a finite number > 0, got " +
                             std::to_string(step_size));
  }
};

/// An update rule with Langevin corrector steps before each level's predictor. @p noise_scale multiplies the
/// corrector's noise like the predictor's (0 for the zero-noise f_S of Algorithm 2). Without correctors
/// (corrector.steps = 0) it gives the inner rule's coefficients unchanged.
template <class Update>
struct with_corrector {
  Update inner;
  langevin_corrector corrector;
  double noise_scale = 1.0;

  static std::string name() { return Update::name(); }
  template <NoiseSchedule Schedule>
  level_coefficients at(const Schedule& schedule, std::size_t level) const {
    level_coefficients c = inner.at(schedule, level);
    if (!corrector.active()) return c;
    const double sigma = schedule.sigma(level), alpha = corrector.step_size * sigma * sigma;
    c.corrector_steps = corrector.steps;
    c.corrector_drift = alpha;
    c.corrector_noise = noise_scale * std::sqrt(2.0 * alpha);
    return c;
  }
};

static_assert(LevelUpdate<epsilon_scaled<langevin>> && LevelUpdate<epsilon_scaled<reverse_sde>> &&
              LevelUpdate<epsilon_scaled<probability_flow>>);
static_assert(LevelUpdate<epsilon_scaled<with_corrector<reverse_sde>>>);

/// Sigma-shift (see the file comment): window = 0 is none, bit for bit.
struct sigma_shift {
  std::size_t window = 0;  ///< levels on either side of the scheduled one the network level may move to
  /// The shift applies at levels whose sigma is at least this (where the kernel's score dominates); 0 = all.
  double cutoff = 0.0;

  bool active() const noexcept { return window > 0; }
  void check() const {
    if (active() && !(std::isfinite(cutoff) && cutoff >= 0))
      throw invalid_argument("sigma_shift: cutoff must be a finite sigma >= 0, got " + std::to_string(cutoff));
  }
  template <NoiseSchedule Schedule>
  bool applies(const Schedule& schedule, std::size_t level) const {
    return active() && schedule.sigma(level) >= cutoff;
  }
  /// The network level for scheduled level @p level of a sample whose noise is @p ratio times the scheduled
  /// sigma: the level within the window with sigma nearest (in log) to ratio * sigma(level); ties go to the
  /// level nearer the scheduled one.
  template <NoiseSchedule Schedule>
  std::size_t network_level(const Schedule& schedule, std::size_t level, double ratio) const {
    if (!applies(schedule, level) || !(ratio > 0) || !std::isfinite(ratio) || ratio == 1.0) return level;
    const double target = std::log(ratio * schedule.sigma(level));
    std::size_t best = level;
    double best_gap = std::abs(std::log(schedule.sigma(level)) - target);
    for (std::size_t d = 1; d <= window; ++d)
      for (const std::ptrdiff_t j : {static_cast<std::ptrdiff_t>(level) - static_cast<std::ptrdiff_t>(d),
                                     static_cast<std::ptrdiff_t>(level + d)}) {
        if (j < 0 || static_cast<std::size_t>(j) >= schedule.size()) continue;
        const double gap = std::abs(std::log(schedule.sigma(static_cast<std::size_t>(j))) - target);
        if (gap < best_gap) best_gap = gap, best = static_cast<std::size_t>(j);
      }
    return best;
  }
  /// The noise ratio sigma_hat / sigma_scheduled estimated from one score evaluation at @p sigma_used whose
  /// squared norm is @p score_square against @p expected_square under the kernel; 1 when the estimate is
  /// undefined (no variables, zero or non-finite norm).
  static double noise_ratio(double sigma_used, double sigma_scheduled, double score_square, double expected_square) {
    if (!(score_square > 0) || !(expected_square > 0) || !std::isfinite(score_square)) return 1.0;
    return sigma_used * std::sqrt(score_square / expected_square) / sigma_scheduled;
  }
};

/// The buffers of pooled_noise_ratios, kept by a sampler from step to step so that a step allocates nothing.
template <class Key>
struct pooled_noise_workspace {
  std::vector<std::size_t> order, group;
  std::vector<double> square, expectation, ratio;
};

/// Sigma-shift's pooled estimate for the members of one network evaluation at scheduled level @p level (the CPU
/// and GPU samplers share it): member m's score is score[offset[m] .. offset[m + 1]), evaluated at network level
/// @p net_level[m], with kernel expectation @p expected[m]; members with the same @p pool key (the samplers: the
/// structure and the chunk) and the same network level share one estimate, from their summed squared scores
/// over their summed expectations. The sums run in member order, so the estimate does not depend on how the
/// scores were computed. Members with @p alive[m] false (when given) take no part and get ratio 1. The result is
/// @p w.ratio.
template <class Key, class Scalar, NoiseSchedule Schedule>
const std::vector<double>& pooled_noise_ratios(const Schedule& schedule, std::size_t level,
                                               const std::vector<Key>& pool, const std::vector<std::size_t>& net_level,
                                               const std::vector<std::size_t>& offset, const Scalar* score,
                                               const std::vector<double>& expected, const std::vector<char>* alive,
                                               pooled_noise_workspace<Key>& w) {
  const std::size_t n = pool.size();
  if (net_level.size() != n || expected.size() != n || offset.size() != n + 1 || (alive && alive->size() != n))
    throw shape_mismatch("sample::pooled_noise_ratios(): " + std::to_string(n) + " members but " +
                         std::to_string(net_level.size()) + " levels, " + std::to_string(expected.size()) +
                         " expectations and " + std::to_string(offset.size()) + " offsets");
  const auto taking_part = [&](std::size_t m) { return !alive || (*alive)[m]; };
  // Groups: members sorted by (key, network level); a group's sums then run in member order.
  w.order.clear();
  for (std::size_t m = 0; m < n; ++m)
    if (taking_part(m)) w.order.push_back(m);
  const std::less<Key> key_less;
  std::stable_sort(w.order.begin(), w.order.end(), [&](std::size_t a, std::size_t b) {
    if (key_less(pool[a], pool[b])) return true;
    if (key_less(pool[b], pool[a])) return false;
    return net_level[a] < net_level[b];
  });
  w.group.assign(n, 0);
  std::size_t groups = 0;
  for (std::size_t q = 0; q < w.order.size(); ++q) {
    const auto m = w.order[q], prev = q ? w.order[q - 1] : m;
    const bool same = q && !key_less(pool[prev], pool[m]) && !key_less(pool[m], pool[prev]) &&
                      net_level[prev] == net_level[m];
    if (q && !same) ++groups;
    w.group[m] = groups;
  }
  if (!w.order.empty()) ++groups;
  w.square.assign(groups, 0.0);
  w.expectation.assign(groups, 0.0);
  for (std::size_t m = 0; m < n; ++m) {
    if (!taking_part(m)) continue;
    for (std::size_t v = offset[m]; v < offset[m + 1]; ++v)
      w.square[w.group[m]] += static_cast<double>(score[v]) * static_cast<double>(score[v]);
    w.expectation[w.group[m]] += expected[m];
  }
  w.ratio.assign(n, 1.0);
  for (std::size_t m = 0; m < n; ++m)
    if (taking_part(m))
      w.ratio[m] = sigma_shift::noise_ratio(schedule.sigma(net_level[m]), schedule.sigma(level), w.square[w.group[m]],
                                            w.expectation[w.group[m]]);
  return w.ratio;
}

/// pooled_noise_ratios with buffers of its own (one call; samplers keep a pooled_noise_workspace).
template <class Key, class Scalar, NoiseSchedule Schedule>
std::vector<double> pooled_noise_ratios(const Schedule& schedule, std::size_t level, const std::vector<Key>& pool,
                                        const std::vector<std::size_t>& net_level,
                                        const std::vector<std::size_t>& offset, const Scalar* score,
                                        const std::vector<double>& expected,
                                        const std::vector<char>* alive = nullptr) {
  pooled_noise_workspace<Key> w;
  return pooled_noise_ratios(schedule, level, pool, net_level, offset, score, expected, alive, w);
}

/// The sampling-time compensations of this file together, with particle guidance (particle_guidance.hpp), as
/// callers pass them on to a sampler's options (langevin_options, torus_sampler_options: members scaling,
/// corrector, shift, and guidance where the sampler has it). An epsilon_scaling alone converts.
struct sampling_compensation {
  epsilon_scaling scaling{};
  langevin_corrector corrector{};
  sigma_shift shift{};
  particle_guidance guidance{};

  sampling_compensation() = default;
  sampling_compensation(epsilon_scaling s) : scaling(s) {}  // NOLINT(google-explicit-constructor): by design
  sampling_compensation(epsilon_scaling s, langevin_corrector c, sigma_shift h, particle_guidance g = {})
      : scaling(s), corrector(c), shift(h), guidance(std::move(g)) {}

  bool active() const noexcept { return scaling.active() || corrector.active() || shift.active() || guidance.active(); }
  /// Sets the sampler options' members; particle guidance on a sampler without it throws.
  template <class SamplerOptions>
  void apply_to(SamplerOptions& o) const {
    o.scaling = scaling;
    o.corrector = corrector;
    o.shift = shift;
    if constexpr (requires { o.guidance = guidance; })
      o.guidance = guidance;
    else if (guidance.active())
      throw invalid_argument("particle guidance: this sampler does not sample a molecule's conformers jointly "
                             "(the torus sampler does)");
  }
};

/// Which compensation a run asks for, part by part: a part given is used as given (none included); a part left
/// unset takes the value a model recommends (generate/recommended_sampling.hpp: the model file's header, chosen
/// on validation data), or none where the model recommends nothing.
struct compensation_request {
  std::optional<epsilon_scaling> scaling;
  std::optional<langevin_corrector> corrector;
  std::optional<sigma_shift> shift;
  std::optional<particle_guidance> guidance;

  /// Every part fixed to @p c: what a model recommends is not consulted.
  static compensation_request exactly(const sampling_compensation& c) {
    return {c.scaling, c.corrector, c.shift, c.guidance};
  }
  /// True when no part is left to a model.
  bool complete() const noexcept { return scaling && corrector && shift && guidance; }
  /// The parts given, the rest from @p recommended.
  sampling_compensation resolve(const sampling_compensation& recommended = {}) const {
    return {scaling.value_or(recommended.scaling), corrector.value_or(recommended.corrector),
            shift.value_or(recommended.shift), guidance.value_or(recommended.guidance)};
  }
};

}  // namespace confsgm::sample
