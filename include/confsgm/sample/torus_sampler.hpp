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
// Initial dihedrals are uniform on the torus (the prior), or given. Samples
// are independent: fixed chunks form one network batch each, chunks run in
// parallel, every z is keyed by (seed, sample, level, step): results do not
// depend on the thread count. A sample whose angles stop being finite is
// frozen and reported.
#pragma once

#include "confsgm/model/torsion_score_network.hpp"
#include "confsgm/random/philox.hpp"
#include "confsgm/sample/network_score.hpp"
#include "confsgm/schedule/noise_schedule.hpp"
#include "confsgm/util/parallel.hpp"

#include <chrono>
#include <mutex>

namespace confsgm::sample {

enum class torus_method { reverse_sde, probability_flow_ode, annealed_langevin };

inline std::string to_string(torus_method m) {
  switch (m) {
    case torus_method::reverse_sde: return "sde";
    case torus_method::probability_flow_ode: return "ode";
    case torus_method::annealed_langevin: return "langevin";
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
  std::size_t first_level = 0;        ///< start at this level (0 = sigma_max)
  std::size_t steps_per_level = 10;   ///< Langevin only: T
  double step_size = 2e-4;            ///< Langevin only: a (alpha_i = a sigma_i^2 / sigma_L^2); ours, no reference value
  std::size_t chunk = 16;             ///< samples per network batch
  unsigned threads = 0;               ///< 0 = all cores
  std::uint64_t seed = 1;
  std::uint32_t stream_offset = 0;    ///< added to sample indices in the random keys (e.g. per molecule)
};

struct torus_observer {
  virtual ~torus_observer() = default;
  /// Called (serialised) after each level for each live sample with its dihedrals.
  virtual void on_level(std::size_t level, double sigma, std::size_t sample, const std::vector<double>& theta) = 0;
};

struct torus_result {
  std::vector<std::vector<double>> torsions;  ///< per sample
  std::vector<std::string> status;            ///< "ok" or why not
  std::size_t diverged = 0;
  double network_evaluations = 0;
  double seconds = 0;
};

/// g_i^2 dt of level i.
template <NoiseSchedule Schedule>
double sde_variance_step(const Schedule& schedule, std::size_t i) {
  if constexpr (requires { schedule.diffusion(1.0); }) {
    const double g = schedule.diffusion(schedule.sigma(i));
    return g * g / static_cast<double>(schedule.size());
  } else {
    const double s0 = schedule.sigma(i), s1 = i + 1 < schedule.size() ? schedule.sigma(i + 1) : 0.0;
    return s0 * s0 - s1 * s1;
  }
}

/// The samplers' initial dihedrals: @p start when given (checked against each structure), else uniform on the
/// torus (the prior), drawn from the purpose::init stream keyed by (seed, stream_offset + sample, torsion).
/// @p caller names the sampler in errors. Shared by the CPU and GPU samplers, so both start from the same state.
inline std::vector<std::vector<double>> initial_torsions(const std::vector<const torsion_structure*>& samples,
                                                         const std::vector<std::vector<double>>* start,
                                                         std::uint64_t seed, std::uint32_t stream_offset,
                                                         const char* caller) {
  const std::size_t n = samples.size();
  if (start && start->size() != n)
    throw shape_mismatch(std::string(caller) + ": " + std::to_string(start->size()) + " start states for " +
                         std::to_string(n) + " samples");
  std::vector<std::vector<double>> theta(n);
  for (std::size_t c = 0; c < n; ++c) {
    const auto T = samples[c]->torsions.size();
    if (start) {
      if ((*start)[c].size() != T)
        throw shape_mismatch(std::string(caller) + ": start state " + std::to_string(c) + " has " +
                             std::to_string((*start)[c].size()) + " angles, '" + samples[c]->name + "' has " +
                             std::to_string(T) + " torsions");
      theta[c] = (*start)[c];
    } else {
      const random::stream init(seed, random::purpose::init, stream_offset + static_cast<std::uint32_t>(c));
      theta[c].resize(T);
      for (std::size_t t = 0; t < T; ++t)
        theta[c][t] = torus::two_pi * init.uniform(static_cast<std::uint32_t>(t)) - torus::pi;
    }
  }
  return theta;
}

/// Samples dihedrals for each structure of @p samples (one sample each; repeat a
/// structure to reuse one local structure for several samples). @p model(batch,
/// theta, sigma, out) gives per-torsion scores. @p start, when given, replaces
/// the uniform initial angles.
template <class Scalar, class TorsionScore, NoiseSchedule Schedule>
torus_result sample_torsions(const TorsionScore& model, const Schedule& schedule,
                             const std::vector<const torsion_structure*>& samples, const torus_sampler_options& o = {},
                             torus_observer* obs = nullptr, const std::vector<std::vector<double>>* start = nullptr) {
  if (o.first_level >= schedule.size())
    throw invalid_argument("sample_torsions(): first_level " + std::to_string(o.first_level) +
                           " but the schedule has " + std::to_string(schedule.size()) + " levels");
  if (o.chunk == 0) throw invalid_argument("sample_torsions(): chunk must be > 0");
  const std::size_t n = samples.size();
  const auto t0 = std::chrono::steady_clock::now();
  torus_result r;
  r.torsions = initial_torsions(samples, start, o.seed, o.stream_offset, "sample_torsions()");
  r.status.assign(n, "ok");
  const double sigma_last = schedule.sigma(schedule.size() - 1);
  std::mutex obs_mutex;
  const std::size_t n_chunks = (n + o.chunk - 1) / o.chunk;
  std::vector<double> evals(n_chunks, 0.0);
  parallel_for(n_chunks, o.threads, [&](std::size_t ch) {
    const std::size_t c0 = ch * o.chunk, c1 = std::min(n, c0 + o.chunk);
    std::vector<std::size_t> members;
    model::torsion_batch batch;
    std::vector<Scalar> theta, sig, out;
    const auto rebuild = [&] {
      batch = model::torsion_batch{};
      members.clear();
      for (std::size_t c = c0; c < c1; ++c) {
        bool finite = true;
        for (const double v : r.torsions[c]) finite &= std::isfinite(v);
        if (!finite && r.status[c] == "ok") r.status[c] = "non-finite dihedrals";
        if (r.status[c] != "ok" || samples[c]->torsions.empty()) continue;  // nothing to sample: returned as given
        batch.add(*samples[c]);
        members.push_back(c);
      }
    };
    rebuild();
    for (std::size_t level = o.first_level; level < schedule.size() && !members.empty(); ++level) {
      const double sigma = schedule.sigma(level);
      const bool langevin = o.method == torus_method::annealed_langevin;
      const double var_step = langevin ? 0.0 : sde_variance_step(schedule, level);
      const double alpha = langevin ? o.step_size * sigma * sigma / (sigma_last * sigma_last) : 0.0;
      const double drift = langevin ? alpha : (o.method == torus_method::reverse_sde ? var_step : 0.5 * var_step);
      const double noise = o.method == torus_method::probability_flow_ode
                               ? 0.0
                               : o.noise_scale * (langevin ? std::sqrt(2.0 * alpha) : std::sqrt(var_step));
      const std::size_t steps = langevin ? o.steps_per_level : 1;
      for (std::size_t step = 0; step < steps && !members.empty(); ++step) {
        theta.clear();
        for (const auto c : members)
          for (const double v : r.torsions[c]) theta.push_back(static_cast<Scalar>(v));
        sig.assign(theta.size(), static_cast<Scalar>(sigma));
        model(batch, theta, sig, out);
        evals[ch] += static_cast<double>(members.size());
        bool any_dead = false;
        for (std::size_t m = 0; m < members.size(); ++m) {
          const auto c = members[m];
          const auto off = batch.torsion_offset[m];
          const random::stream z(o.seed, random::purpose::langevin, o.stream_offset + static_cast<std::uint32_t>(c),
                                 static_cast<std::uint32_t>(level));
          auto& th = r.torsions[c];
          const auto T = th.size();
          for (std::size_t t = 0; t < T; ++t) {
            const double zt = noise > 0 ? z.normal(static_cast<std::uint32_t>(step * T + t)) : 0.0;
            th[t] = torus::wrap(th[t] + drift * static_cast<double>(out[off + t]) + noise * zt);
            if (!std::isfinite(th[t]) && r.status[c] == "ok") {
              r.status[c] = "diverged at level " + std::to_string(level) + " (sigma " + std::to_string(sigma) +
                            "), step " + std::to_string(step);
              any_dead = true;
            }
          }
        }
        if (any_dead) rebuild();
      }
      if (obs) {
        std::lock_guard lock(obs_mutex);
        for (const auto c : members) obs->on_level(level, sigma, c, r.torsions[c]);
      }
    }
  });
  for (std::size_t c = 0; c < n; ++c) r.diverged += r.status[c] != "ok";
  for (double e : evals) r.network_evaluations += e;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace confsgm::sample
