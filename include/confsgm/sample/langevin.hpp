// confsgm/sample/langevin.hpp: annealed Langevin dynamics on coordinates
// (paper Algorithm 1; ConfGF defaults, reference-spec §5.5/§10.4):
//   x ~ N(0, init_std^2 I)
//   for each level t (largest sigma first): alpha_t = a sigma_t^2 / sigma_L^2
//     repeat T times: S = chain_rule(s_theta(d(x), sigma_t)); clip ||S_i|| <= c;
//                     x <- x + alpha_t S + noise_scale sqrt(2 alpha_t) z
// noise_scale = 0 is the zero-noise sampler f_S of Algorithm 2.
//
// Conformers are independent: they run in fixed chunks (one network batch
// each), chunks in parallel, and every z is keyed by (seed, conformer, level,
// step), so results do not depend on the thread count. A conformer whose
// coordinates stop being finite is frozen and reported, never returned as ok.
#pragma once

#include "confsgm/core/conformer.hpp"
#include "confsgm/model/distance_score_network.hpp"
#include "confsgm/random/philox.hpp"
#include "confsgm/sample/network_score.hpp"
#include "confsgm/schedule/noise_schedule.hpp"
#include "confsgm/util/parallel.hpp"

#include <chrono>
#include <mutex>
#include <string>

namespace confsgm::sample {

struct langevin_options {
  std::size_t steps_per_level = 100;  ///< T (ConfGF 100)
  double step_size = 2.4e-6;          ///< a: alpha_t = a sigma_t^2 / sigma_L^2 (ConfGF 2.4e-6 with sigma_L = 0.01)
  double clip = 1000.0;               ///< per-atom score norm cap (ConfGF 1000); 0 = off
  double init_std = 1.0;              ///< initial coordinates ~ N(0, init_std^2) (ConfGF: 1 Å)
  double noise_scale = 1.0;           ///< 1 = Langevin; 0 = zero-noise f_S (Algorithm 2)
  /// A coordinate beyond this many Å counts as divergence, like a non-finite one. Samples start within a few Å
  /// of the origin and drift by tens of Å over a whole run; far larger values mean the molecule flew apart (too
  /// large a step size), and such a sample would be meaningless and not even writable as V2000 SDF.
  double max_coordinate = 1000.0;
  std::size_t first_level = 0;        ///< start at this level (0 = sigma_max)
  std::size_t chunk = 8;              ///< conformers per network batch
  unsigned threads = 0;               ///< 0 = all cores
  std::uint64_t seed = 1;
  std::uint32_t stream_offset = 0;    ///< added to conformer indices in the noise keys (e.g. per molecule)
};

/// Per-level snapshots, e.g. for trajectory plots or the exposure-bias estimator.
struct langevin_observer {
  virtual ~langevin_observer() = default;
  /// Called (serialised) after each level for each conformer.
  virtual void on_level(std::size_t level, double sigma, std::size_t conformer, const coordinates<double>& xyz) = 0;
};

struct langevin_result {
  conformer_batch<double> conformers;
  std::vector<std::string> status;  ///< "ok" or why not (e.g. "diverged at level 12 (sigma 0.98), step 7")
  std::size_t diverged = 0;
  double network_evaluations = 0;   ///< conformer-level score evaluations
  double seconds = 0;
};

/// Runs Algorithm 1 for @p n conformers of one molecule. @p model(batch, d, sigma, out) gives
/// per-pair distance scores (a network_pair_score, or an analytic score in tests).
/// @p start, when given, replaces the random initial coordinates (n conformers).
template <class Scalar, class PairScore, NoiseSchedule Schedule>
langevin_result annealed_langevin(const PairScore& model, const Schedule& schedule, const distance_structure& s,
                                  std::size_t n, const langevin_options& o = {}, langevin_observer* obs = nullptr,
                                  const conformer_batch<double>* start = nullptr) {
  if (o.first_level >= schedule.size())
    throw invalid_argument("annealed_langevin(): first_level " + std::to_string(o.first_level) + " but the schedule has " +
                           std::to_string(schedule.size()) + " levels");
  if (o.chunk == 0) throw invalid_argument("annealed_langevin(): chunk must be > 0");
  if (!(o.max_coordinate > 0)) throw invalid_argument("annealed_langevin(): max_coordinate must be > 0");
  if (start && (start->size() != n || start->num_atoms() != s.n_atoms))
    throw shape_mismatch("annealed_langevin(): the start batch has " + std::to_string(start->size()) + " conformers of " +
                         std::to_string(start->num_atoms()) + " atoms; expected " + std::to_string(n) + " of " +
                         std::to_string(s.n_atoms));
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t N = s.n_atoms, E = s.edges.size();
  langevin_result r;
  r.conformers = conformer_batch<double>(N);
  r.conformers.resize(n);
  r.status.assign(n, "ok");
  for (std::size_t c = 0; c < n; ++c) {
    if (start) {
      r.conformers[c] = (*start)[c];
      continue;
    }
    const random::stream init(o.seed, random::purpose::init, o.stream_offset + static_cast<std::uint32_t>(c));
    auto x = r.conformers[c];
    for (std::size_t k = 0; k < 3 * N; ++k) x(k / 3, k % 3) = o.init_std * init.normal(static_cast<std::uint32_t>(k));
  }
  const double sigma_last = schedule.sigma(schedule.size() - 1);
  std::mutex obs_mutex;
  const std::size_t n_chunks = (n + o.chunk - 1) / o.chunk;
  std::vector<double> evals(n_chunks, 0.0);
  parallel_for(n_chunks, o.threads, [&](std::size_t ch) {
    const std::size_t c0 = ch * o.chunk, c1 = std::min(n, c0 + o.chunk);
    std::vector<bool> alive(c1 - c0, true);
    for (std::size_t c = c0; c < c1; ++c) alive[c - c0] = r.conformers.is_finite(c);
    for (std::size_t c = c0; c < c1; ++c)
      if (!alive[c - c0]) r.status[c] = "non-finite start coordinates";
    coordinates<double> score_xyz(static_cast<Eigen::Index>(N), 3);
    std::vector<Scalar> d, sig, out;
    for (std::size_t level = o.first_level; level < schedule.size(); ++level) {
      const double sigma = schedule.sigma(level);
      const double alpha = o.step_size * (sigma * sigma) / (sigma_last * sigma_last);
      const double noise = o.noise_scale * std::sqrt(2.0 * alpha);
      // The batch holds the conformers still alive; rebuilt when one diverges.
      model::graph_batch batch;
      std::vector<std::size_t> members;
      const auto rebuild = [&] {
        batch = model::graph_batch{};
        members.clear();
        for (std::size_t c = c0; c < c1; ++c)
          if (alive[c - c0]) {
            batch.add(s);
            members.push_back(c);
          }
        sig.assign(members.size() * E, static_cast<Scalar>(sigma));
      };
      rebuild();
      if (members.empty()) break;
      for (std::size_t step = 0; step < o.steps_per_level; ++step) {
        d.resize(members.size() * E);
        for (std::size_t m = 0; m < members.size(); ++m) {
          const auto x = r.conformers[members[m]];
          for (std::size_t k = 0; k < E; ++k)
            d[m * E + k] = static_cast<Scalar>((x.row(s.edges[k].i) - x.row(s.edges[k].j)).norm());
        }
        model(batch, d, sig, out);
        evals[ch] += static_cast<double>(members.size());
        for (std::size_t m = 0; m < members.size(); ++m) {
          const auto c = members[m];
          auto x = r.conformers[c];
          distance_space::coordinate_score(s, x, out.data() + m * E, score_xyz);
          if (o.clip > 0)
            for (Eigen::Index i = 0; i < score_xyz.rows(); ++i) {
              const double nrm = score_xyz.row(i).norm();
              if (nrm > o.clip) score_xyz.row(i) *= o.clip / nrm;
            }
          const random::stream z(o.seed, random::purpose::langevin, o.stream_offset + static_cast<std::uint32_t>(c),
                                 static_cast<std::uint32_t>(level));
          for (std::size_t k = 0; k < 3 * N; ++k) {
            const double zk = noise > 0 ? z.normal(static_cast<std::uint32_t>(step * 3 * N + k)) : 0.0;
            x(k / 3, k % 3) += alpha * score_xyz(k / 3, k % 3) + noise * zk;
          }
          if (r.status[c] == "ok" && !(x.allFinite() && x.cwiseAbs().maxCoeff() <= o.max_coordinate))
            r.status[c] = "diverged at level " + std::to_string(level) + " (sigma " + std::to_string(sigma) +
                          "), step " + std::to_string(step);
        }
        // Diverged conformers leave the batch; the others go on unchanged.
        bool any_dead = false;
        for (const auto c : members) any_dead |= r.status[c] != "ok";
        if (any_dead) {
          for (const auto c : members) alive[c - c0] = r.status[c] == "ok";
          rebuild();
          if (members.empty()) break;
        }
      }
      if (obs) {
        std::lock_guard lock(obs_mutex);
        for (const auto c : members)
          if (r.status[c] == "ok") obs->on_level(level, sigma, c, r.conformers[c]);
      }
    }
  });
  for (std::size_t c = 0; c < n; ++c) r.diverged += r.status[c] != "ok";
  for (double e : evals) r.network_evaluations += e;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace confsgm::sample
