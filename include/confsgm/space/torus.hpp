// confsgm/space/torus.hpp: the wrapped normal distribution on the circle,
// the noise of torsional diffusion (reference-spec §2.4), computed exactly:
//   p_sigma(x) = sum_k N(x + 2 pi k; 0, sigma^2)
//   s_sigma(x) = d/dx log p_sigma(x)          by log-sum-exp over the images
//   E[s^2](sigma) = integral of p s^2 over one period, by quadrature
// instead of the reference's lookup tables and 10,000-sample Monte Carlo
// normaliser (which underflow to NaN for |x| / sigma > ~38.6).
#pragma once

#include "confsgm/error.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

namespace confsgm::torus {

inline constexpr double pi = std::numbers::pi;
inline constexpr double two_pi = 2.0 * std::numbers::pi;

/// x mapped to [-pi, pi).
inline double wrap(double x) noexcept {
  double y = std::fmod(x + pi, two_pi);
  if (y < 0) y += two_pi;
  return y - pi;
}

/// Images k = -K..K needed so that every neglected term is below e^-50 of the largest.
inline int images_for(double sigma) noexcept { return 2 + static_cast<int>(std::ceil(10.0 * sigma / two_pi)); }

/// Score of the wrapped normal of width @p sigma at @p x (any real x; wrapped first).
inline double score(double x, double sigma) {
  if (!(sigma > 0)) throw invalid_argument("torus::score: sigma must be > 0, got " + std::to_string(sigma));
  x = wrap(x);
  const int K = images_for(sigma);
  const double inv2s2 = 0.5 / (sigma * sigma);
  double amax = -INFINITY;
  for (int k = -K; k <= K; ++k) amax = std::max(amax, -(x + two_pi * k) * (x + two_pi * k) * inv2s2);
  double num = 0, den = 0;
  for (int k = -K; k <= K; ++k) {
    const double y = x + two_pi * k;
    const double w = std::exp(-y * y * inv2s2 - amax);
    num += y * w;
    den += w;
  }
  return -num / (den * sigma * sigma);
}

/// Normalised density of the wrapped normal at @p x.
inline double density(double x, double sigma) {
  if (!(sigma > 0)) throw invalid_argument("torus::density: sigma must be > 0");
  x = wrap(x);
  const int K = images_for(sigma);
  double p = 0;
  for (int k = -K; k <= K; ++k) {
    const double y = x + two_pi * k;
    p += std::exp(-0.5 * y * y / (sigma * sigma));
  }
  return p / (sigma * std::sqrt(two_pi));
}

/// E[s_sigma(x)^2] for x ~ wrapped normal(sigma), by composite Simpson over
/// [-pi, pi] with enough points to resolve the narrowest density (>= 200 per sigma).
inline double score_norm(double sigma) {
  if (!(sigma > 0)) throw invalid_argument("torus::score_norm: sigma must be > 0");
  // Narrow densities do not feel the wrapping: E[s^2] = 1/sigma^2 to below 1e-15 relative.
  if (sigma < 0.15) return 1.0 / (sigma * sigma);
  const int n = 2 * std::max(2000, static_cast<int>(std::ceil(two_pi / sigma * 100)));
  const double h = two_pi / n;
  double acc = 0;
  for (int i = 0; i <= n; ++i) {
    const double x = -pi + h * i;
    const double s = score(x, sigma);
    const double w = (i == 0 || i == n) ? 1.0 : (i % 2 ? 4.0 : 2.0);
    acc += w * density(x, sigma) * s * s;
  }
  return acc * h / 3.0;
}

/// score_norm on a log-spaced sigma grid with cubic interpolation in
/// (log sigma, log E[s^2]): exact to ~1e-9 relative, O(1) per call.
class score_norm_table {
 public:
  explicit score_norm_table(double sigma_min = 1e-3, double sigma_max = 10.0, int points = 2001)
      : lo_(std::log(sigma_min)), hi_(std::log(sigma_max)), n_(points) {
    if (!(sigma_min > 0 && sigma_max > sigma_min) || points < 4)
      throw invalid_argument("score_norm_table: need 0 < sigma_min < sigma_max and >= 4 points");
    v_.resize(static_cast<std::size_t>(n_));
    for (int i = 0; i < n_; ++i) v_[static_cast<std::size_t>(i)] = std::log(score_norm(std::exp(lo_ + step() * i)));
  }
  double operator()(double sigma) const {
    const double t = (std::log(sigma) - lo_) / step();
    if (t < 0 || t > n_ - 1) return score_norm(sigma);  // outside the table: compute
    const int i = std::clamp(static_cast<int>(t), 1, n_ - 3);
    const double u = t - i;
    const double p0 = v_[i - 1], p1 = v_[i], p2 = v_[i + 1], p3 = v_[i + 2];
    // Catmull-Rom spline through the four neighbours.
    const double y = p1 + 0.5 * u * (p2 - p0 + u * (2 * p0 - 5 * p1 + 4 * p2 - p3 + u * (3 * (p1 - p2) + p3 - p0)));
    return std::exp(y);
  }

 private:
  double step() const noexcept { return (hi_ - lo_) / (n_ - 1); }
  double lo_, hi_;
  int n_;
  std::vector<double> v_;
};

}  // namespace confsgm::torus
