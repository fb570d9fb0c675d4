// confsgm/train/dsm.hpp: the denoising-score-matching objective (paper Eq. 3)
// with a perturbation policy (Eq. 4, Algorithm 3), for any StateSpace whose
// noise lives on per-variable displacements. For one sample at level sigma:
//   eps_k ~ N(0,1)                     (stream: seed, noise, step, sample)
//   xi_k  ~ N(0,1) only if the policy needs it (stream: seed, perturbation, ...)
//   input_k  = Space::perturb(x0_k, P.input_displacement(sigma, eps_k, xi_k))
//   target_k = Space::dsm_target(P.target_displacement(sigma, eps_k, xi_k), sigma)
//   loss     = mean over samples of sum_k 0.5 sigma^2 (s_k - target_k)^2
// (ConfGF sums over directed edges, i.e. twice this; the factor does not
// change the optimum.)
#pragma once

#include "confsgm/perturbation/perturbation.hpp"
#include "confsgm/random/philox.hpp"
#include "confsgm/schedule/noise_schedule.hpp"
#include "confsgm/space/state_space.hpp"

#include <vector>

namespace confsgm::train {

/// Noised inputs and targets of one sample.
template <class Scalar>
struct dsm_sample {
  std::vector<Scalar> input, target;
  double sigma = 0;
  std::size_t level = 0;
};

/// Draws level, noise and (if needed) perturbation for sample @p sample_id at
/// training step @p step. Everything is keyed by (seed, purpose, step, sample),
/// so a policy that draws xi changes no other number.
template <StateSpace Space, NoiseSchedule Schedule, Perturbation Pert, class Scalar>
dsm_sample<Scalar> make_dsm_sample(const std::vector<Scalar>& clean, const Schedule& schedule, const Pert& pert,
                                   std::uint64_t seed, std::uint32_t step, std::uint32_t sample_id,
                                   std::optional<std::size_t> fixed_level = std::nullopt) {
  dsm_sample<Scalar> s;
  const random::stream level_stream(seed, random::purpose::noise_level, step, sample_id);
  if constexpr (ContinuousNoiseSchedule<Schedule>) {
    if (fixed_level) {
      s.level = *fixed_level;
      s.sigma = schedule.sigma(s.level);
    } else {
      s.level = schedule.size();  // "between levels": sigma drawn continuously
      s.sigma = schedule.sigma_at(level_stream.uniform(0));
    }
  } else {
    s.level = fixed_level ? *fixed_level : level_stream.below(0, static_cast<std::uint32_t>(schedule.size()));
    s.sigma = schedule.sigma(s.level);
  }
  const random::stream eps(seed, random::purpose::noise, step, sample_id);
  const random::stream xi(seed, random::purpose::perturbation, step, sample_id);
  s.input.resize(clean.size());
  s.target.resize(clean.size());
  for (std::size_t k = 0; k < clean.size(); ++k) {
    const double e = eps.normal(static_cast<std::uint32_t>(k));
    double x = 0.0;
    if constexpr (Pert::needs_extra_noise) x = xi.normal(static_cast<std::uint32_t>(k));
    s.input[k] = static_cast<Scalar>(Space::perturb(static_cast<double>(clean[k]), pert.input_displacement(s.sigma, e, x)));
    s.target[k] = static_cast<Scalar>(Space::dsm_target(pert.target_displacement(s.sigma, e, x), s.sigma));
  }
  return s;
}

/// Loss of one sample's scores and its gradient (scaled by @p weight, e.g.
/// 1/batch). @p level_weight is the space's lambda(sigma): sigma^2 for
/// distances (ConfGF), 1 / E[s^2] on the torus (Torsional Diffusion).
template <class Scalar>
double dsm_loss(const Scalar* score, const Scalar* target, std::size_t n, double level_weight, double weight,
                Scalar* d_score) {
  double loss = 0;
  const double s2 = level_weight;
  for (std::size_t k = 0; k < n; ++k) {
    const double r = static_cast<double>(score[k]) - static_cast<double>(target[k]);
    loss += 0.5 * s2 * r * r;
    if (d_score) d_score[k] = static_cast<Scalar>(weight * s2 * r);
  }
  return weight * loss;
}

}  // namespace confsgm::train
