// confsgm/eval/exposure_bias.hpp: the exposure-bias estimator (paper
// Algorithm 2) for any composed model. For a level t: draw a ground-truth
// C0, form C_t = f_N(C0) at sigma_t, run the zero-noise sampler f_S from level
// t to the end, and record the error between C0 and the reconstruction. The
// per-level mean is Table I / Fig. 1a-b of the paper; the per-sample errors
// give the empirical distribution of Fig. 1c.
//
// The state space enters through a problem adapter (ExposureBiasProblem):
//   torsion_bias_problem   f_N: theta0 + sigma_t eps per bond (the training noise);
//                          f_S: reverse-SDE drift with z = 0 (default) or the
//                          probability-flow ODE; errors: superposed coordinate
//                          L1 per atom and mean wrapped torsion error per bond.
//   distance_bias_problem  f_N: C0 + sigma_t z in coordinates (what the
//                          coordinate sampler sees); f_S: annealed Langevin
//                          without noise; error: superposed coordinate L1 per atom.
// Choices the paper leaves open are options with the defaults above
// (reference-spec §7). The model is a CPU score callable, or a backend's
// device model that runs its own sampler (cuda::torsion_model_gpu,
// cuda::distance_model_gpu): the estimator is the same for every backend.
//
// Sampling plan: the paper draws t ~ U{1..L} for N iterations; the default
// here is stratified (the same number of samples at every level, which removes
// the level-count noise from the per-level means); `uniform_levels` restores
// the paper's draw. Every random number is keyed by (seed, purpose, sample),
// so the result does not depend on the thread count.
#pragma once

#include "confsgm/geometry/superposition.hpp"
#include "confsgm/random/philox.hpp"
#include "confsgm/sample/langevin.hpp"
#include "confsgm/sample/torus_sampler.hpp"
#include "confsgm/train/data_parallel.hpp"
#include "confsgm/util/wire.hpp"

#include <cmath>
#include <concepts>
#include <limits>

namespace confsgm::eval {

/// An ExposureBiasProblem names its ground-truth sample type, its levels, and
/// reconstructs a batch of samples from level t with f_N then f_S, returning
/// one error row (one value per metric) per sample; keys[k] addresses sample
/// k's noise (f_N draws only from (seed, noise, keys[k])).
template <class P>
concept ExposureBiasProblem = requires(const P& p, const std::vector<const typename P::sample_type*>& batch,
                                       std::size_t level, std::uint64_t seed, const std::vector<std::uint32_t>& keys) {
  typename P::sample_type;
  { p.levels() } -> std::convertible_to<std::size_t>;
  { p.sigma(level) } -> std::convertible_to<double>;
  { p.metrics() } -> std::convertible_to<std::vector<std::string>>;
  { p.errors(batch, level, seed, keys) } -> std::convertible_to<std::vector<std::vector<double>>>;
};

struct bias_options {
  std::size_t samples_per_level = 100;  ///< stratified plan; with uniform_levels: total = this x levels
  bool uniform_levels = false;          ///< paper: t ~ U{1..L} per iteration
  std::size_t chunk = 16;               ///< samples reconstructed together (one batch)
  unsigned threads = 0;
  std::uint64_t seed = 2021;
  /// The ranks that share the draws (train/data_parallel.hpp; default: this process alone). Each computes its
  /// batches of draws, every rank receives all errors, so each returns the single-process result bit for bit.
  train::data_parallel sharing{};
};

struct bias_level {
  double sigma = 0;
  std::size_t count = 0;                          ///< samples drawn at this level
  std::size_t failed = 0;                         ///< of those, diverged (NaN error): left out of mean and sd
  std::vector<double> mean, stddev;               ///< per metric
  std::vector<std::vector<double>> sample_errors;  ///< [metric][sample]
};

struct bias_result {
  std::vector<std::string> metrics;
  std::vector<bias_level> levels;  ///< level 0 = largest sigma
};

/// Runs Algorithm 2 over @p data (ground-truth samples drawn uniformly with replacement).
template <ExposureBiasProblem Problem>
bias_result estimate_exposure_bias(const Problem& problem, const std::vector<typename Problem::sample_type>& data,
                                   const bias_options& o = {}) {
  if (data.empty()) throw invalid_argument("estimate_exposure_bias(): no ground-truth samples");
  if (o.samples_per_level == 0 || o.chunk == 0)
    throw invalid_argument("estimate_exposure_bias(): samples_per_level and chunk must be > 0");
  const std::size_t L = problem.levels();
  const std::size_t total = o.samples_per_level * L;
  // The plan: (level, data index) per draw, keyed by the draw number only.
  std::vector<std::size_t> level_of(total), pick(total);
  for (std::size_t k = 0; k < total; ++k) {
    const random::stream s(o.seed, random::purpose::estimator, static_cast<std::uint32_t>(k));
    level_of[k] = o.uniform_levels ? s.below(0, static_cast<std::uint32_t>(L)) : k % L;
    pick[k] = s.below(1, static_cast<std::uint32_t>(data.size()));
  }
  // Draws of one level go through f_S together (they share the remaining schedule).
  std::vector<std::vector<std::size_t>> by_level(L);
  for (std::size_t k = 0; k < total; ++k) by_level[level_of[k]].push_back(k);
  struct job {
    std::size_t level, begin, end;
  };
  std::vector<job> jobs;
  for (std::size_t t = 0; t < L; ++t)
    for (std::size_t b = 0; b < by_level[t].size(); b += o.chunk)
      jobs.push_back({t, b, std::min(by_level[t].size(), b + o.chunk)});
  const auto metrics = problem.metrics();
  std::vector<std::vector<double>> err(total);
  std::vector<std::size_t> own;  // this rank's batches: round-robin over levels, so every rank gets every level
  for (std::size_t j = 0; j < jobs.size(); ++j)
    if (o.sharing.owns(j)) own.push_back(j);
  parallel_for(own.size(), o.threads, [&](std::size_t i) {
    const auto& jb = jobs[own[i]];
    std::vector<const typename Problem::sample_type*> batch;
    std::vector<std::uint32_t> keys;  // the draw numbers: noise independent of batching and threads
    for (std::size_t q = jb.begin; q < jb.end; ++q) {
      batch.push_back(&data[pick[by_level[jb.level][q]]]);
      keys.push_back(static_cast<std::uint32_t>(by_level[jb.level][q]));
    }
    const auto rows = problem.errors(batch, jb.level, o.seed, keys);
    for (std::size_t q = jb.begin; q < jb.end; ++q) err[by_level[jb.level][q]] = rows[q - jb.begin];
  });
  if (o.sharing.size() > 1) {
    // Each draw as (draw number, errors), bit for bit: the other ranks get the same doubles.
    util::wire_writer mine;
    for (const std::size_t j : own)
      for (std::size_t q = jobs[j].begin; q < jobs[j].end; ++q) {
        const std::uint64_t k = by_level[jobs[j].level][q];
        mine.u64(k), mine.f64s(err[k]);
      }
    std::vector<bool> have(total, false);
    for (const auto& bytes : o.sharing.all_gather(mine.bytes())) {
      util::wire_reader in(bytes, "estimate_exposure_bias()");
      while (!in.done()) {
        const std::uint64_t k = in.u64();
        if (k >= total || have[k])
          throw error("estimate_exposure_bias(): draw " + std::to_string(k) + " came twice or out of range (do all "
                      "ranks estimate the same problem?)");
        have[k] = true;
        err[k] = in.f64s();
        if (err[k].size() > metrics.size())
          throw error("estimate_exposure_bias(): draw " + std::to_string(k) + " has " + std::to_string(err[k].size()) +
                      " errors for " + std::to_string(metrics.size()) + " metrics (do all ranks estimate the same "
                      "problem?)");
      }
    }
    for (std::size_t k = 0; k < total; ++k)
      if (!have[k]) throw error("estimate_exposure_bias(): no rank computed draw " + std::to_string(k));
  }
  bias_result r;
  r.metrics = metrics;
  r.levels.resize(L);
  for (std::size_t t = 0; t < L; ++t) {
    auto& lv = r.levels[t];
    lv.sigma = problem.sigma(t);
    lv.count = by_level[t].size();
    lv.mean.assign(metrics.size(), 0.0);
    lv.stddev.assign(metrics.size(), 0.0);
    lv.sample_errors.assign(metrics.size(), {});
    for (const auto k : by_level[t])
      for (std::size_t m = 0; m < metrics.size(); ++m) lv.sample_errors[m].push_back(err[k][m]);
    for (const auto k : by_level[t]) lv.failed += std::isnan(err[k].empty() ? NAN : err[k][0]);
    for (std::size_t m = 0; m < metrics.size(); ++m) {
      double s = 0, s2 = 0;
      std::size_t n = 0;
      for (const double e : lv.sample_errors[m])
        if (!std::isnan(e)) {
          s += e;
          s2 += e * e;
          ++n;
        }
      // No finite sample at a level: NaN, never a mean of 0 that reads as a measurement.
      lv.mean[m] = n ? s / double(n) : std::numeric_limits<double>::quiet_NaN();
      lv.stddev[m] = n > 1 ? std::sqrt(std::max(0.0, (s2 - s * s / double(n)) / double(n - 1)))
                           : std::numeric_limits<double>::quiet_NaN();
    }
  }
  return r;
}

/// ||C0 - C^0||_1 / N after superposing the reconstruction onto C0 (N atoms).
inline double aligned_l1_per_atom(const coordinates<double>& c0, const coordinates<double>& c) {
  const auto t = kabsch(c0, c);
  coordinates<double> y = c;
  apply(t, y);
  return (c0 - y).cwiseAbs().sum() / static_cast<double>(c0.rows());
}

// ------------------------------------------------------------ torsion space

/// A ground-truth torsion-space conformer: its (matched) local structure and dihedrals.
struct torsion_sample {
  const torsion_structure* structure = nullptr;
  std::vector<double> torsions;
};

enum class zero_noise_update { sde_drift, probability_flow };

template <class TorsionScore, NoiseSchedule Schedule, class Scalar = float>
class torsion_bias_problem {
 public:
  using sample_type = torsion_sample;
  /// @p compensation: the sampler's exposure-bias compensation (sample/compensation.hpp), applied to f_S.
  torsion_bias_problem(const TorsionScore& model, Schedule schedule,
                       zero_noise_update update = zero_noise_update::sde_drift, unsigned threads = 1,
                       sample::sampling_compensation compensation = {})
      : model_(model), schedule_(std::move(schedule)), update_(update), threads_(threads),
        compensation_(compensation) {
    if (compensation_.guidance.active())
      throw invalid_argument("torsion_bias_problem: particle guidance couples a molecule's conformers, but "
                             "Algorithm 2 follows single samples; measure without it");
  }
  std::size_t levels() const { return schedule_.size(); }
  double sigma(std::size_t t) const { return schedule_.sigma(t); }
  std::vector<std::string> metrics() const { return {"coordinate_l1_per_atom", "torsion_error_per_bond"}; }

  std::vector<std::vector<double>> errors(const std::vector<const torsion_sample*>& batch, std::size_t level,
                                          std::uint64_t seed, const std::vector<std::uint32_t>& keys) const {
    const double sigma_t = schedule_.sigma(level);
    std::vector<const torsion_structure*> structures;
    std::vector<std::vector<double>> start;
    for (std::size_t k = 0; k < batch.size(); ++k) {
      const auto& s = *batch[k];
      if (s.torsions.size() != s.structure->torsions.size())
        throw shape_mismatch("torsion_bias_problem: sample of '" + s.structure->name + "' has " +
                             std::to_string(s.torsions.size()) + " angles for " +
                             std::to_string(s.structure->torsions.size()) + " torsions");
      structures.push_back(s.structure);
      const random::stream eps(seed, random::purpose::estimator, keys[k], 1u);
      std::vector<double> th(s.torsions.size());
      for (std::size_t i = 0; i < th.size(); ++i)
        th[i] = torus::wrap(s.torsions[i] + sigma_t * eps.normal(static_cast<std::uint32_t>(i)));
      start.push_back(std::move(th));
    }
    sample::torus_sampler_options so;
    so.method = update_ == zero_noise_update::sde_drift ? sample::torus_method::reverse_sde
                                                         : sample::torus_method::probability_flow_ode;
    so.noise_scale = 0;
    compensation_.apply_to(so);
    so.first_level = level;
    so.chunk = batch.size();
    so.threads = threads_;
    const auto r = [&] {
      // A model that samples itself (a backend's device model, e.g. cuda::torsion_model_gpu) runs its own sampler.
      if constexpr (requires { model_.sample_torsions(schedule_, structures, so, &start); })
        return model_.sample_torsions(schedule_, structures, so, &start);
      else
        return sample::sample_torsions<Scalar>(model_, schedule_, structures, so, nullptr, &start);
    }();
    std::vector<std::vector<double>> out;
    for (std::size_t k = 0; k < batch.size(); ++k) {
      const auto& s = *batch[k];
      if (!r.status[k].ok()) {
        out.push_back({std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()});
        continue;
      }
      const auto c0 = torsion_space::coordinates_of(*s.structure, s.torsions);
      const auto c = torsion_space::coordinates_of(*s.structure, r.torsions[k]);
      double tors = 0;
      for (std::size_t i = 0; i < s.torsions.size(); ++i) tors += std::abs(torus::wrap(r.torsions[k][i] - s.torsions[i]));
      out.push_back({aligned_l1_per_atom(c0, c), s.torsions.empty() ? 0.0 : tors / double(s.torsions.size())});
    }
    return out;
  }

 private:
  const TorsionScore& model_;
  Schedule schedule_;
  zero_noise_update update_;
  unsigned threads_;
  sample::sampling_compensation compensation_;
};

// ----------------------------------------------------------- distance space

/// A ground-truth distance-space conformer: its molecule description and coordinates.
struct distance_sample {
  const distance_structure* structure = nullptr;
  coordinates<double> xyz;
};

template <class PairScore, NoiseSchedule Schedule, class Scalar = float>
class distance_bias_problem {
 public:
  using sample_type = distance_sample;
  distance_bias_problem(const PairScore& model, Schedule schedule, sample::langevin_options sampler = {})
      : model_(model), schedule_(std::move(schedule)), so_(sampler) {
    if (so_.guidance.active())
      throw invalid_argument("distance_bias_problem: particle guidance couples a molecule's conformers, but "
                             "Algorithm 2 follows single samples; measure without it");
  }
  std::size_t levels() const { return schedule_.size(); }
  double sigma(std::size_t t) const { return schedule_.sigma(t); }
  std::vector<std::string> metrics() const { return {"coordinate_l1_per_atom"}; }

  std::vector<std::vector<double>> errors(const std::vector<const distance_sample*>& batch, std::size_t level,
                                          std::uint64_t seed, const std::vector<std::uint32_t>& keys) const {
    const double sigma_t = schedule_.sigma(level);
    std::vector<std::vector<double>> out;
    // The Langevin sampler takes one molecule per call; samples of one molecule are still batched.
    for (std::size_t k = 0; k < batch.size(); ++k) {
      const auto& s = *batch[k];
      conformer_batch<double> start(s.structure->n_atoms);
      start.resize(1);
      auto x = start[0];
      const random::stream z(seed, random::purpose::estimator, keys[k], 1u);
      for (Eigen::Index i = 0; i < x.rows(); ++i)
        for (Eigen::Index d = 0; d < 3; ++d)
          x(i, d) = s.xyz(i, d) + sigma_t * z.normal(static_cast<std::uint32_t>(3 * i + d));
      auto so = so_;
      so.noise_scale = 0;
      so.first_level = level;
      so.threads = 1;
      const auto r = [&] {
        // A model that samples itself (e.g. cuda::distance_model_gpu) runs its own sampler.
        if constexpr (requires { model_.annealed_langevin(schedule_, *s.structure, std::size_t{1}, so, &start); })
          return model_.annealed_langevin(schedule_, *s.structure, std::size_t{1}, so, &start);
        else
          return sample::annealed_langevin<Scalar>(model_, schedule_, *s.structure, 1, so, nullptr, &start);
      }();
      if (!r.status[0].ok()) {
        out.push_back({std::numeric_limits<double>::quiet_NaN()});
        continue;
      }
      const coordinates<double> c = r.conformers[0];
      out.push_back({aligned_l1_per_atom(s.xyz, c)});
    }
    return out;
  }

 private:
  const PairScore& model_;
  Schedule schedule_;
  sample::langevin_options so_;
};

}  // namespace confsgm::eval
