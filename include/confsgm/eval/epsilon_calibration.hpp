// confsgm/eval/epsilon_calibration.hpp: Epsilon Scaling's factor chosen from
// data, for torsion models.
//
// Epsilon Scaling (sample/compensation.hpp) divides the score by lambda(level)
// because a network sees, while sampling, inputs that are off the training
// distribution and answers them with a larger score than it gives training
// inputs of the same level (Ning et al., ICLR 2024: the prediction's norm
// grows with the exposure bias). That excess can be measured: for each level,
//     lambda_i = sqrt( E|s_theta(theta_i^sampled, sigma_i)|^2 / E|s_theta(theta_i^training, sigma_i)|^2 ),
// the mean squared network score per torsion on the states the plain sampler
// reaches at level i, over the same on reference dihedrals perturbed with the
// training kernel (wrapped normal of width sigma_i) - the network's own answer
// to training inputs, measured on the same molecules. The kernel's target norm
// (torsion_space::loss_weight, the score-norm table) is reported beside it for
// reference: the network predicts the target's conditional mean, whose norm is
// smaller wherever several modes overlap, so the kernel is not the network's
// training-time answer at large sigma. The factor Epsilon Scaling uses is the
// least-squares line lambda = k t + b, t = L - level, through the lambda_i.
//
// Sums of squares are accumulated in fixed point (2^-16), so the result does not
// depend on the order in which the sampler's threads report.
#pragma once

#include "confsgm/error.hpp"
#include "confsgm/eval/exposure_bias.hpp"
#include "confsgm/random/philox.hpp"
#include "confsgm/sample/compensation.hpp"
#include "confsgm/sample/torus_sampler.hpp"
#include "confsgm/schedule/noise_schedule.hpp"
#include "confsgm/space/torsion_space.hpp"
#include "confsgm/space/torus.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace confsgm::eval {

/// Per level: sigma, the mean squared score per torsion while sampling and on perturbed references, the
/// kernel's expectation, their ratio lambda, and the fitted Epsilon Scaling.
struct epsilon_calibration {
  std::vector<double> sigma;
  std::vector<double> sampled_square;   ///< E s^2 per torsion on the sampler's states
  std::vector<double> training_square;  ///< E s^2 per torsion on references perturbed with the kernel
  std::vector<double> kernel_square;    ///< E s^2 per torsion of the kernel's target (score-norm table)
  std::vector<double> lambda;           ///< sqrt(sampled / training)
  sample::epsilon_scaling fit;          ///< least squares lambda = k t + b
};

namespace detail {
/// Order-independent sums of squares per level (fixed point, 2^-16).
class square_sums {
 public:
  explicit square_sums(std::size_t levels) : sum_(levels, 0), count_(levels, 0) {}
  template <class Scalar>
  void add(std::size_t level, const Scalar* v, std::size_t n) {
    std::uint64_t s = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const double x = static_cast<double>(v[k]);
      s += static_cast<std::uint64_t>(std::llround(std::min(x * x, 1e12) * 65536.0));
    }
    const std::lock_guard<std::mutex> hold(lock_);
    sum_.at(level) += s;
    count_.at(level) += n;
  }
  double mean(std::size_t level) const {
    return count_[level] ? static_cast<double>(sum_[level]) / 65536.0 / static_cast<double>(count_[level]) : 0.0;
  }

 private:
  std::vector<std::uint64_t> sum_, count_;
  std::mutex lock_;
};
}  // namespace detail

/// Measures lambda per level for a torsion model @p score (a network_torsion_score or any callable of that shape)
/// on @p references (structures with reference dihedrals): the plain sampler @p o (its compensations ignored)
/// samples one conformer per reference, and each reference is perturbed once per level (seed o.seed).
template <class Scalar, class Score, NoiseSchedule Schedule>
epsilon_calibration calibrate_epsilon_scaling(const Score& score, const Schedule& schedule,
                                              const std::vector<torsion_sample>& references,
                                              sample::torus_sampler_options o = {}) {
  if (references.empty()) throw invalid_argument("calibrate_epsilon_scaling(): no reference conformer");
  const std::size_t L = schedule.size();
  std::vector<const torsion_structure*> structures;
  for (std::size_t i = 0; i < references.size(); ++i) {
    if (!references[i].structure) throw invalid_argument("calibrate_epsilon_scaling(): reference " + std::to_string(i) + " has no structure");
    if (references[i].torsions.size() != references[i].structure->torsions.size())
      throw shape_mismatch("calibrate_epsilon_scaling(): reference " + std::to_string(i) + " has " +
                           std::to_string(references[i].torsions.size()) + " dihedrals for " +
                           std::to_string(references[i].structure->torsions.size()) + " torsions");
    structures.push_back(references[i].structure);
  }
  // The sampling side: the plain sampler, its scores summed per level (identified by the sigma it passes).
  std::map<Scalar, std::size_t> level_of;
  for (std::size_t l = 0; l < L; ++l) level_of.emplace(static_cast<Scalar>(schedule.sigma(l)), l);
  detail::square_sums sampled(L), training(L);
  const auto probe = [&](const auto& batch, const std::vector<Scalar>& input, const std::vector<Scalar>& sigma,
                         std::vector<Scalar>& out) {
    score(batch, input, sigma, out);
    if (sigma.empty()) return;
    const auto it = level_of.find(sigma.front());
    if (it != level_of.end()) sampled.add(it->second, out.data(), out.size());
  };
  o.scaling = {};
  o.corrector = {};
  o.shift = {};
  o.guidance = {};
  sample::sample_torsions<Scalar>(probe, schedule, structures, o);
  // The training side: each reference perturbed with the kernel at each level, scored in batches of o.chunk.
  const std::size_t chunk = std::max<std::size_t>(1, o.chunk);
  for (std::size_t l = 0; l < L; ++l) {
    const double s = schedule.sigma(l);
    for (std::size_t c0 = 0; c0 < references.size(); c0 += chunk) {
      model::torsion_batch batch;
      std::vector<Scalar> input, sig, out;
      for (std::size_t i = c0; i < std::min(references.size(), c0 + chunk); ++i) {
        batch.add(*references[i].structure);
        // Its own purpose: the estimator's and the sampler's draws stay where they are.
        const random::stream z(o.seed, static_cast<random::purpose>(static_cast<std::uint32_t>(random::purpose::user) + 1),
                               static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(l));
        for (std::size_t t = 0; t < references[i].torsions.size(); ++t)
          input.push_back(static_cast<Scalar>(torus::wrap(references[i].torsions[t] + s * z.normal(static_cast<std::uint32_t>(t)))));
      }
      sig.assign(input.size(), static_cast<Scalar>(s));
      if (input.empty()) continue;
      score(batch, input, sig, out);
      training.add(l, out.data(), out.size());
    }
  }
  epsilon_calibration r;
  double st = 0, sl = 0, stt = 0, stl = 0, n = 0;
  for (std::size_t l = 0; l < L; ++l) {
    const double s = schedule.sigma(l);
    r.sigma.push_back(s);
    r.sampled_square.push_back(sampled.mean(l));
    r.training_square.push_back(training.mean(l));
    r.kernel_square.push_back(1.0 / torsion_space::loss_weight(s));
    const double lambda = r.training_square.back() > 0 ? std::sqrt(r.sampled_square.back() / r.training_square.back()) : 1.0;
    r.lambda.push_back(lambda);
    const double t = static_cast<double>(L - l);
    st += t, sl += lambda, stt += t * t, stl += t * lambda, n += 1;
  }
  const double denominator = n * stt - st * st;
  r.fit.k = denominator != 0 ? (n * stl - st * sl) / denominator : 0.0;
  r.fit.b = (sl - r.fit.k * st) / n;
  return r;
}

}  // namespace confsgm::eval
