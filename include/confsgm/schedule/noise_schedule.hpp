// confsgm/schedule/noise_schedule.hpp: the NoiseSchedule policy and the
// schedules the references use. Level 0 is the largest sigma; samplers walk
// levels 0..L-1 (paper Algorithm 1 walks t = L..1; same order).
#pragma once

#include "confsgm/error.hpp"

#include <cmath>
#include <concepts>
#include <cstddef>
#include <string>
#include <vector>

namespace confsgm {

/// A NoiseSchedule lists L > 0 strictly decreasing positive noise levels.
template <class S>
concept NoiseSchedule = requires(const S& s, std::size_t i) {
  { s.size() } -> std::convertible_to<std::size_t>;
  { s.sigma(i) } -> std::convertible_to<double>;
};

/// ConfGF default: sigma_i = sigma_max (sigma_min/sigma_max)^(i/(L-1)), 10 -> 0.01 over 50 levels.
class geometric_schedule {
 public:
  explicit geometric_schedule(double sigma_max = 10.0, double sigma_min = 0.01, std::size_t levels = 50)
      : max_(sigma_max), min_(sigma_min), n_(levels) {
    if (!(sigma_max > sigma_min) || !(sigma_min > 0) || levels < 2)
      throw invalid_argument("geometric_schedule: need sigma_max > sigma_min > 0 and >= 2 levels (got " +
                             std::to_string(sigma_max) + ", " + std::to_string(sigma_min) + ", " +
                             std::to_string(levels) + ")");
  }
  std::size_t size() const noexcept { return n_; }
  double sigma(std::size_t i) const noexcept {
    return max_ * std::pow(min_ / max_, static_cast<double>(i) / static_cast<double>(n_ - 1));
  }
  double sigma_max() const noexcept { return max_; }
  double sigma_min() const noexcept { return min_; }

 private:
  double max_, min_;
  std::size_t n_;
};

/// A schedule that training may also sample continuously: sigma_at(u) for u
/// in [0, 1) maps a uniform draw to a noise level (Torsional Diffusion draws
/// sigma log-uniformly instead of from a fixed list). Samplers still walk the
/// discrete levels sigma(0..size()-1).
template <class S>
concept ContinuousNoiseSchedule = NoiseSchedule<S> && requires(const S& s, double u) {
  { s.sigma_at(u) } -> std::convertible_to<double>;
};

/// Torsional Diffusion (reference-spec §2.5, §2.7): training draws
/// sigma = exp(U(ln sigma_min, ln sigma_max)); sampling uses `steps` levels
/// sigma_i = sigma_max (sigma_min/sigma_max)^(i/steps), i = 0..steps-1 (the
/// grid stops one step short of sigma_min, as the reference's does).
/// Defaults: 3.14 -> 0.0314 (3.14, not pi, as in the reference), 20 steps.
class log_uniform_schedule {
 public:
  explicit log_uniform_schedule(double sigma_max = 3.14, double sigma_min = 0.0314, std::size_t steps = 20)
      : max_(sigma_max), min_(sigma_min), n_(steps) {
    if (!(sigma_max > sigma_min) || !(sigma_min > 0) || steps < 1)
      throw invalid_argument("log_uniform_schedule: need sigma_max > sigma_min > 0 and >= 1 step (got " +
                             std::to_string(sigma_max) + ", " + std::to_string(sigma_min) + ", " +
                             std::to_string(steps) + ")");
  }
  std::size_t size() const noexcept { return n_; }
  double sigma(std::size_t i) const noexcept {
    return max_ * std::pow(min_ / max_, static_cast<double>(i) / static_cast<double>(n_));
  }
  double sigma_at(double u) const noexcept { return std::exp(std::log(min_) + u * std::log(max_ / min_)); }
  double sigma_max() const noexcept { return max_; }
  double sigma_min() const noexcept { return min_; }
  /// Diffusion coefficient of the reference's variance-exploding SDE at sigma: g = sigma sqrt(2 ln(max/min)).
  double diffusion(double sigma) const noexcept { return sigma * std::sqrt(2.0 * std::log(max_ / min_)); }

 private:
  double max_, min_;
  std::size_t n_;
};

/// Any user list of levels (validated: positive, strictly decreasing).
class custom_schedule {
 public:
  explicit custom_schedule(std::vector<double> sigmas) : s_(std::move(sigmas)) {
    if (s_.empty()) throw invalid_argument("custom_schedule: no noise levels");
    for (std::size_t i = 0; i < s_.size(); ++i) {
      if (!(s_[i] > 0) || !std::isfinite(s_[i]))
        throw invalid_argument("custom_schedule: level " + std::to_string(i) + " is " + std::to_string(s_[i]) +
                               " (must be positive and finite)");
      if (i && !(s_[i] < s_[i - 1]))
        throw invalid_argument("custom_schedule: levels must decrease strictly (level " + std::to_string(i) + ")");
    }
  }
  std::size_t size() const noexcept { return s_.size(); }
  double sigma(std::size_t i) const { return s_.at(i); }

 private:
  std::vector<double> s_;
};

/// Copies any schedule's levels (for storing in a model file).
template <NoiseSchedule S>
std::vector<double> levels_of(const S& s) {
  std::vector<double> v(s.size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = s.sigma(i);
  return v;
}

static_assert(NoiseSchedule<geometric_schedule>, "geometric_schedule must model NoiseSchedule");
static_assert(ContinuousNoiseSchedule<log_uniform_schedule>, "log_uniform_schedule must model ContinuousNoiseSchedule");
static_assert(NoiseSchedule<custom_schedule>, "custom_schedule must model NoiseSchedule");

}  // namespace confsgm
