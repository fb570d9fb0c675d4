// confsgm/sample/torus_sampler.hpp: samplers on the torsion manifold.
//
//   reverse SDE (Torsional Diffusion, reference-spec §2.7/§10.2), per level i:
//     theta <- theta + g_i^2 dt s(theta, sigma_i) + noise_scale g_i sqrt(dt) z
//   probability-flow ODE:  theta <- theta + 0.5 g_i^2 dt s(theta, sigma_i)
//   annealed Langevin (paper Algorithm 1 on the torus), per level i, T times:
//     theta <- theta + alpha_i s + noise_scale sqrt(2 alpha_i) z,  alpha_i = a sigma_i^2 / sigma_L^2
// every update wrapped to [-pi, pi). g_i^2 dt is the schedule's diffusion()^2 / L
// when it has one (the reference's g = sigma sqrt(2 ln(max/min)), dt = 1/L),
// else the variance drop sigma_i^2 - sigma_{i+1}^2 of a variance-exploding SDE.
// noise_scale = 0 gives the zero-noise variants (f_S of Algorithm 2).
//
// Initial dihedrals are uniform on the torus (the prior), or given. This is
// annealed_sample (annealed_sampler.hpp) with torus_dynamics and the update
// chosen at run time by torus_method; C++ callers that know the rule at
// compile time call annealed_sample with it directly.
#pragma once

#include "confsgm/sample/annealed_sampler.hpp"
#include "confsgm/sample/compensation.hpp"
#include "confsgm/sample/network_score.hpp"
#include "confsgm/sample/particle_guidance.hpp"
#include "confsgm/sample/torus_dynamics.hpp"
#include "confsgm/sample/update.hpp"
#include "confsgm/schedule/noise_schedule.hpp"

#include <string>
#include <vector>

namespace confsgm::sample {

enum class torus_method { reverse_sde, probability_flow_ode, annealed_langevin };

inline std::string to_string(torus_method m) {
  switch (m) {
    case torus_method::reverse_sde: return reverse_sde::name();
    case torus_method::probability_flow_ode: return probability_flow::name();
    case torus_method::annealed_langevin: return langevin::name();
  }
  return "?";
}
inline torus_method parse_torus_method(const std::string& s) {
  if (s == "sde") return torus_method::reverse_sde;
  if (s == "ode") return torus_method::probability_flow_ode;
  if (s == "langevin") return torus_method::annealed_langevin;
  throw invalid_argument("torus sampler: unknown method '" + s + "' (sde, ode or langevin)");
}

struct torus_sampler_options {
  torus_method method = torus_method::reverse_sde;
  double noise_scale = 1.0;           ///< 1 = stochastic; 0 = zero-noise variant (Algorithm 2)
  epsilon_scaling scaling{};          ///< exposure-bias compensation (compensation.hpp); default none
  langevin_corrector corrector{};     ///< corrector steps before each level's predictor; default none
  sigma_shift shift{};                ///< network level per sample; default none
  /// The conformers of one molecule in one network batch sampled jointly, with a repulsion (reverse SDE only;
  /// particle_guidance.hpp); default off. The particles are a batch's members: set chunk to the conformer count.
  particle_guidance guidance{};
  std::size_t first_level = 0;        ///< start at this level (0 = sigma_max)
  std::size_t steps_per_level = 10;   ///< Langevin only: T
  double step_size = 2e-4;            ///< Langevin only: a (alpha_i = a sigma_i^2 / sigma_L^2); ours, no reference value
  std::size_t chunk = 16;             ///< samples per network batch
  unsigned threads = 0;               ///< 0 = all cores
  std::uint64_t seed = 1;
  std::uint32_t stream_offset = 0;    ///< added to sample indices in the random keys (e.g. per molecule)

  sampler_options sampler() const { return {first_level, chunk, threads, seed, stream_offset, shift}; }
};

/// Per-level snapshots of one sample's dihedrals.
using torus_observer = sample_observer<std::vector<double>>;

struct torus_result {
  std::vector<std::vector<double>> torsions;  ///< per sample
  std::vector<sample_status> status;          ///< per sample; to_string() for messages
  std::size_t diverged = 0;
  double network_evaluations = 0;
  double shifted_evaluations = 0;     ///< of those, at another level's sigma (sigma_shift)
  double seconds = 0;
};

/// The samplers' initial dihedrals: @p start when given (checked against each structure), else uniform on the
/// torus (the prior), drawn from the purpose::init stream keyed by (seed, stream_offset + sample, torsion).
/// @p caller names the sampler in errors. Shared by the CPU and GPU samplers, so both start from the same state.
inline std::vector<std::vector<double>> initial_torsions(const std::vector<const torsion_structure*>& samples,
                                                         const std::vector<std::vector<double>>* start,
                                                         std::uint64_t seed, std::uint32_t stream_offset,
                                                         const char* caller) {
  return initial_states(torus_dynamics{}, samples, start, seed, stream_offset, caller);
}

/// Calls @p f with the update rule @p o names (torus_method, noise_scale, Langevin's T and a), with o.corrector's
/// steps and scaled by o.scaling (both the identity by default).
template <class F>
decltype(auto) with_torus_update(const torus_sampler_options& o, F&& f) {
  o.corrector.check();
  const auto scaled = [&](auto update) {
    return epsilon_scaled<with_corrector<decltype(update)>>{{update, o.corrector, o.noise_scale}, o.scaling};
  };
  switch (o.method) {
    case torus_method::annealed_langevin: return f(scaled(langevin{o.steps_per_level, o.step_size, o.noise_scale}));
    case torus_method::probability_flow_ode: return f(scaled(probability_flow{}));
    default: return f(scaled(reverse_sde{o.noise_scale}));
  }
}

/// Level @p level's coefficients under @p o's update rule (for samplers that walk the levels themselves).
template <NoiseSchedule Schedule>
level_coefficients torus_coefficients(const torus_sampler_options& o, const Schedule& schedule, std::size_t level) {
  return with_torus_update(o, [&](const auto& update) { return update.at(schedule, level); });
}

/// Samples dihedrals for each structure of @p samples (one sample each; repeat a
/// structure to reuse one local structure for several samples). @p model(batch,
/// theta, sigma, out) gives per-torsion scores. @p start, when given, replaces
/// the uniform initial angles.
template <class Scalar, class TorsionScore, NoiseSchedule Schedule>
torus_result sample_torsions(const TorsionScore& model, const Schedule& schedule,
                             const std::vector<const torsion_structure*>& samples, const torus_sampler_options& o = {},
                             torus_observer* obs = nullptr, const std::vector<std::vector<double>>* start = nullptr) {
  o.guidance.check_for(particle_guidance::space_kind::torsion, "sample_torsions()");
  if (o.guidance.active() && o.method != torus_method::reverse_sde)
    throw invalid_argument("sample_torsions(): particle guidance runs with the reverse SDE (method sde), not " +
                           to_string(o.method));
  auto r = with_torus_update(o, [&](const auto& update) {
    if (o.guidance.active())
      return annealed_sample_interacting<Scalar>(model, schedule, torus_dynamics{}, update, samples, o.sampler(),
                                                 torus_particle_guidance{o.guidance}, obs, start);
    return annealed_sample<Scalar>(model, schedule, torus_dynamics{}, update, samples, o.sampler(), obs, start);
  });
  return {std::move(r.states), std::move(r.status), r.diverged, r.network_evaluations, r.shifted_evaluations,
          r.seconds};
}

}  // namespace confsgm::sample
