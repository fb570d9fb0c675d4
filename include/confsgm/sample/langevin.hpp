// confsgm/sample/langevin.hpp: annealed Langevin dynamics on coordinates
// (paper Algorithm 1; ConfGF defaults, reference-spec §5.5/§10.4):
//   x ~ N(0, init_std^2 I)
//   for each level t (largest sigma first): alpha_t = a sigma_t^2 / sigma_L^2
//     repeat T times: S = chain_rule(s_theta(d(x), sigma_t)); clip ||S_i|| <= c;
//                     x <- x + alpha_t S + noise_scale sqrt(2 alpha_t) z
// noise_scale = 0 is the zero-noise sampler f_S of Algorithm 2.
//
// This is annealed_sample (annealed_sampler.hpp) with coordinate_dynamics and
// the langevin update, for n conformers of one molecule, with ConfGF's
// settings in one options struct; any other update rule, or several
// molecules per call, is annealed_sample itself.
#pragma once

#include "confsgm/core/conformer.hpp"
#include "confsgm/sample/annealed_sampler.hpp"
#include "confsgm/sample/compensation.hpp"
#include "confsgm/sample/coordinate_dynamics.hpp"
#include "confsgm/sample/network_score.hpp"
#include "confsgm/sample/particle_guidance.hpp"
#include "confsgm/sample/update.hpp"
#include "confsgm/schedule/noise_schedule.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

namespace confsgm::sample {

struct langevin_options {
  std::size_t steps_per_level = 100;  ///< T (ConfGF 100)
  double step_size = 2.4e-6;          ///< a: alpha_t = a sigma_t^2 / sigma_L^2 (ConfGF 2.4e-6 with sigma_L = 0.01)
  double clip = 1000.0;               ///< per-atom score norm cap (ConfGF 1000); 0 = off
  double init_std = 1.0;              ///< initial coordinates ~ N(0, init_std^2) (ConfGF: 1 Å)
  double noise_scale = 1.0;           ///< 1 = Langevin; 0 = zero-noise f_S (Algorithm 2)
  epsilon_scaling scaling{};          ///< exposure-bias compensation (compensation.hpp); default none
  langevin_corrector corrector{};     ///< corrector steps before each level's predictor; default none
  sigma_shift shift{};                ///< network level per sample; default none
  /// The n conformers sampled jointly with a repulsion between them (particle_guidance.hpp, its Langevin form,
  /// set for the distance space); default off. The particles are a network batch's members: annealed_langevin
  /// makes all n one batch when it is on (one thread per molecule).
  particle_guidance guidance{};
  /// A coordinate beyond this many Å counts as divergence (coordinate_dynamics::max_coordinate).
  double max_coordinate = 1000.0;
  std::size_t first_level = 0;        ///< start at this level (0 = sigma_max)
  std::size_t chunk = 8;              ///< conformers per network batch
  unsigned threads = 0;               ///< 0 = all cores
  std::uint64_t seed = 1;
  std::uint32_t stream_offset = 0;    ///< added to conformer indices in the noise keys (e.g. per molecule)

  coordinate_dynamics dynamics() const { return {clip, init_std, max_coordinate}; }
  epsilon_scaled<with_corrector<langevin>> update() const {
    corrector.check();
    return {{{steps_per_level, step_size, noise_scale}, corrector, noise_scale}, scaling};
  }
  sampler_options sampler() const { return {first_level, chunk, threads, seed, stream_offset, shift}; }
};

/// Per-level snapshots of one conformer, e.g. for trajectory plots.
using langevin_observer = sample_observer<coordinates<double>>;

struct langevin_result {
  conformer_batch<double> conformers;
  std::vector<sample_status> status;  ///< per conformer; to_string() for messages
  std::size_t diverged = 0;
  double network_evaluations = 0;    ///< conformer-level score evaluations
  double shifted_evaluations = 0;     ///< of those, at another level's sigma (sigma_shift)
  double seconds = 0;
};

/// One molecule's share of a call that samples many molecules at once (the GPU sampler's launches, the shared
/// batches of generate/shared_batches.hpp): @p conformers conformers of @p structure, whose noise comes from the
/// streams stream_offset + 0, 1, ... (as langevin_options::stream_offset for a one-molecule call), starting from
/// @p start when given (else the sampler's random initial state). Pointers only: the caller owns what they name.
struct langevin_job {
  const distance_structure* structure = nullptr;
  std::size_t conformers = 0;
  std::uint32_t stream_offset = 0;
  const conformer_batch<double>* start = nullptr;
};

/// Runs Algorithm 1 for @p n conformers of one molecule. @p model(batch, d, sigma, out) gives
/// per-pair distance scores (a network_pair_score, or an analytic score in tests).
/// @p start, when given, replaces the random initial coordinates (n conformers).
template <class Scalar, class PairScore, NoiseSchedule Schedule>
langevin_result annealed_langevin(const PairScore& model, const Schedule& schedule, const distance_structure& s,
                                  std::size_t n, const langevin_options& o = {}, langevin_observer* obs = nullptr,
                                  const conformer_batch<double>* start = nullptr) {
  if (!(o.max_coordinate > 0)) throw invalid_argument("annealed_langevin(): max_coordinate must be > 0");
  if (start && (start->size() != n || start->num_atoms() != s.n_atoms))
    throw shape_mismatch("annealed_langevin(): the start batch has " + std::to_string(start->size()) + " conformers of " +
                         std::to_string(start->num_atoms()) + " atoms; expected " + std::to_string(n) + " of " +
                         std::to_string(s.n_atoms));
  const std::vector<const distance_structure*> samples(n, &s);
  std::vector<coordinates<double>> given;
  if (start)
    for (std::size_t c = 0; c < n; ++c) given.emplace_back((*start)[c]);
  o.guidance.check_for(particle_guidance::space_kind::distance, "annealed_langevin()");
  auto r = [&] {
    if (!o.guidance.active())
      return annealed_sample<Scalar>(model, schedule, o.dynamics(), o.update(), samples, o.sampler(), obs,
                                     start ? &given : nullptr);
    auto so = o.sampler();
    so.chunk = std::max<std::size_t>(so.chunk, n);  // the particles: all n conformers in one batch
    return annealed_sample_interacting<Scalar>(model, schedule, o.dynamics(), o.update(), samples, so,
                                               coordinate_particle_guidance{o.guidance}, obs, start ? &given : nullptr);
  }();
  langevin_result out;
  out.conformers = conformer_batch<double>(s.n_atoms);
  out.conformers.reserve(n);
  for (const auto& x : r.states) out.conformers.push_back(x);
  out.status = std::move(r.status);
  out.diverged = r.diverged;
  out.network_evaluations = r.network_evaluations;
  out.shifted_evaluations = r.shifted_evaluations;
  out.seconds = r.seconds;
  return out;
}

}  // namespace confsgm::sample
