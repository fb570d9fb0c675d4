// confsgm/sample/annealed_sampler.hpp: the one annealed sampling loop of the
// library, for every state space and every update rule.
//
//   for each level (largest sigma first): (steps, drift, noise) = update.at(schedule, level)
//     repeat steps times: s = score(x, sigma); x <- advance(x, drift s + noise z)
// (an update rule with correctors, compensation.hpp, adds their updates before
// the predictor's; sampler_options::shift may give the network another level's
// sigma per sample: sigma-shift, compensation.hpp).
//
// Two policies fill it in:
//   - Update (update.hpp): langevin, reverse_sde, probability_flow, or any
//     type modelling LevelUpdate;
//   - Dynamics: how one state space is sampled (the state type, its prior
//     draw, the network input, the score in state coordinates, the update and
//     the validity check): coordinate_dynamics (distance space, Cartesian
//     coordinates with the chain rule) and torus_dynamics (torsion space).
//
// Samples are independent: fixed chunks of the sample list form one network
// batch each (molecules may differ within a batch), chunks run in parallel,
// and every random number is keyed by (seed, stream_offset + sample, level,
// step), so results do not depend on the thread count. A sample whose state
// stops being valid leaves the batch, keeps the state it reached and is
// reported in its typed status (status.hpp), never returned as ok.
#pragma once

#include "confsgm/error.hpp"
#include "confsgm/random/philox.hpp"
#include "confsgm/sample/compensation.hpp"
#include "confsgm/sample/status.hpp"
#include "confsgm/sample/update.hpp"
#include "confsgm/schedule/noise_schedule.hpp"
#include "confsgm/util/parallel.hpp"

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

namespace confsgm::sample {

/// How a state space is sampled (see the file comment). D::batch is the network's batch type, built by
/// batch.add(structure) and exposing variable_offset(): where each member's network variables start.
template <class D>
concept SamplerDynamics = requires(const D& d, const typename D::structure& s, typename D::state& x,
                                   const typename D::state& cx, const random::stream& rng, typename D::batch& b,
                                   float* fout, const float* fin, typename D::workspace& w) {
  typename D::structure;
  typename D::state;
  typename D::batch;
  typename D::workspace;
  { D::name() } -> std::convertible_to<std::string>;
  { D::samples_anything(s) } -> std::convertible_to<bool>;
  { d.initial(s, rng) } -> std::same_as<typename D::state>;
  { D::finite(cx) } -> std::convertible_to<bool>;
  d.check_start(s, cx, std::string(), std::size_t{0});
  b.add(s);
  d.network_input(s, cx, fout);
  d.advance(s, x, fin, 1.0, 1.0, rng, std::size_t{0}, w);
  { d.valid(cx) } -> std::convertible_to<bool>;
};

/// Checks @p D with messages that name what is missing.
template <class D>
constexpr bool check_sampler_dynamics() {
  static_assert(requires { typename D::structure; typename D::state; typename D::batch; typename D::workspace; },
                "SamplerDynamics: needs the member types structure, state, batch and workspace");
  static_assert(requires { { D::name() } -> std::convertible_to<std::string>; },
                "SamplerDynamics: needs `static std::string name()`");
  static_assert(requires(const D& d, const typename D::structure& s, const random::stream& rng) {
    { d.initial(s, rng) } -> std::same_as<typename D::state>;
  }, "SamplerDynamics: needs `state initial(const structure&, const random::stream&) const` (the prior draw)");
  static_assert(requires(const D& d, const typename D::structure& s, const typename D::state& x) {
    d.check_start(s, x, std::string(), std::size_t{0});
  }, "SamplerDynamics: needs `void check_start(const structure&, const state&, const std::string& caller, std::size_t "
     "sample) const` (throws shape_mismatch when a given start state does not fit its structure)");
  static_assert(requires(const D& d, const typename D::structure& s, const typename D::state& x, float* out) {
    d.network_input(s, x, out);
  }, "SamplerDynamics: needs `template <class Scalar> void network_input(const structure&, const state&, Scalar*) const`");
  static_assert(requires(const D& d, const typename D::structure& s, typename D::state& x, const float* in,
                         const random::stream& rng, typename D::workspace& w) {
    d.advance(s, x, in, 1.0, 1.0, rng, std::size_t{0}, w);
  }, "SamplerDynamics: needs `template <class Scalar> void advance(const structure&, state&, const Scalar* network_out, "
     "double drift, double noise, const random::stream& z, std::size_t step, workspace&) const`");
  static_assert(requires(const D& d, const typename D::state& x) {
    { d.valid(x) } -> std::convertible_to<bool>;
    { D::finite(x) } -> std::convertible_to<bool>;
  }, "SamplerDynamics: needs `bool valid(const state&) const` and `static bool finite(const state&)`");
  return true;
}

/// Settings every sampler shares, whatever the space and the update rule.
struct sampler_options {
  std::size_t first_level = 0;      ///< start at this level (0 = sigma_max)
  std::size_t chunk = 8;            ///< samples per network batch
  unsigned threads = 0;             ///< 0 = all cores
  std::uint64_t seed = 1;
  std::uint32_t stream_offset = 0;  ///< added to sample indices in the random keys (e.g. per molecule)
  sigma_shift shift{};              ///< network level per sample (compensation.hpp); default none
};

/// Whether @p D can say what squared score norm the perturbation kernel gives a structure at a sigma (needed by
/// sigma_shift): `double expected_score_square(const structure&, double sigma) const`.
template <class D>
concept HasExpectedScoreSquare = requires(const D& d, const typename D::structure& s) {
  { d.expected_score_square(s, 1.0) } -> std::convertible_to<double>;
};

template <class State>
struct sample_result {
  std::vector<State> states;           ///< per sample: the sample (ok) or the state it reached
  std::vector<sample_status> status;   ///< per sample
  std::size_t diverged = 0;            ///< samples not ok
  double network_evaluations = 0;      ///< sample-level score evaluations
  double shifted_evaluations = 0;      ///< of those, at a level other than the scheduled one (sigma_shift)
  double seconds = 0;
};

/// Per-level snapshots, e.g. for trajectory plots.
template <class State>
struct sample_observer {
  virtual ~sample_observer() = default;
  /// Called (serialised) after each level for each sample still being updated.
  virtual void on_level(std::size_t level, double sigma, std::size_t sample, const State& x) = 0;
};

/// The samplers' start states: @p start when given (each checked against its structure), else the dynamics'
/// prior draw from the purpose::init stream keyed by (seed, stream_offset + sample). Shared by the CPU loop and
/// the GPU samplers, so both start from the same state. @p caller names the sampler in errors.
template <class Dynamics>
std::vector<typename Dynamics::state> initial_states(const Dynamics& dynamics,
                                                     const std::vector<const typename Dynamics::structure*>& samples,
                                                     const std::vector<typename Dynamics::state>* start,
                                                     std::uint64_t seed, std::uint32_t stream_offset,
                                                     const std::string& caller) {
  const std::size_t n = samples.size();
  if (start && start->size() != n)
    throw shape_mismatch(caller + ": " + std::to_string(start->size()) + " start states for " + std::to_string(n) +
                         " samples");
  std::vector<typename Dynamics::state> states;
  states.reserve(n);
  for (std::size_t c = 0; c < n; ++c) {
    if (start) {
      dynamics.check_start(*samples[c], (*start)[c], caller, c);
      states.push_back((*start)[c]);
    } else {
      states.push_back(dynamics.initial(
          *samples[c], random::stream(seed, random::purpose::init, stream_offset + static_cast<std::uint32_t>(c))));
    }
  }
  return states;
}

/// No interaction between samples: each is sampled on its own (the default of annealed_sample).
struct no_interaction {
  struct workspace {};
};

/// Samples one state per entry of @p samples (repeat a structure for several samples of one molecule).
/// @p score(batch, input, sigma, out) is the network's forward pass over the dynamics' batch (a
/// network_score, or an analytic score in tests); @p start, when given, replaces the prior draw.
/// @p interaction couples the samples of one network batch at the predictor steps of the levels where
/// interaction.active(schedule, level): interaction.apply(schedule, level, structures, states, scores, offsets,
/// noise_factor, workspace) may change the members' scores and scale their noise (particle_guidance.hpp); one
/// workspace per batch.
template <class Scalar, class Dynamics, class Update, class Score, NoiseSchedule Schedule, class Interaction>
sample_result<typename Dynamics::state> annealed_sample_interacting(
    const Score& score, const Schedule& schedule, const Dynamics& dynamics, const Update& update,
    const std::vector<const typename Dynamics::structure*>& samples, const sampler_options& o,
    const Interaction& interaction, sample_observer<typename Dynamics::state>* obs = nullptr,
    const std::vector<typename Dynamics::state>* start = nullptr) {
  static_assert(check_sampler_dynamics<Dynamics>());
  static_assert(check_level_update<Update, Schedule>());
  using state = typename Dynamics::state;
  const std::string who = "annealed_sample<" + Dynamics::name() + ", " + Update::name() + ">()";
  if (o.first_level >= schedule.size())
    throw invalid_argument(who + ": first_level " + std::to_string(o.first_level) + " but the schedule has " +
                           std::to_string(schedule.size()) + " levels");
  if (o.chunk == 0) throw invalid_argument(who + ": chunk must be > 0");
  o.shift.check();
  if constexpr (!HasExpectedScoreSquare<Dynamics>)
    if (o.shift.active())
      throw invalid_argument(who + ": sigma_shift needs the dynamics' expected_score_square(structure, sigma)");
  const std::size_t n = samples.size();
  for (std::size_t c = 0; c < n; ++c)
    if (!samples[c]) throw invalid_argument(who + ": sample " + std::to_string(c) + " has no structure");
  const auto t0 = std::chrono::steady_clock::now();
  sample_result<state> r;
  r.states = initial_states(dynamics, samples, start, o.seed, o.stream_offset, who);
  r.status.assign(n, sample_status{});
  std::mutex obs_mutex;
  const std::size_t n_chunks = (n + o.chunk - 1) / o.chunk;
  std::vector<double> evals(n_chunks, 0.0), shifted(n_chunks, 0.0);
  // sigma-shift: per sample, its noise over the scheduled sigma as last estimated (1 = on schedule).
  std::vector<double> noise_ratio(n, 1.0);
  parallel_for(n_chunks, o.threads, [&](std::size_t ch) {
    const std::size_t c0 = ch * o.chunk, c1 = std::min(n, c0 + o.chunk);
    for (std::size_t c = c0; c < c1; ++c)
      if (!Dynamics::finite(r.states[c])) r.status[c] = sample_status::non_finite();
    // The batch holds the samples still being updated; rebuilt when one leaves.
    typename Dynamics::batch batch;
    std::vector<std::size_t> members;
    const auto rebuild = [&] {
      batch = typename Dynamics::batch{};
      members.clear();
      for (std::size_t c = c0; c < c1; ++c) {
        if (!r.status[c].ok() || !Dynamics::samples_anything(*samples[c])) continue;  // returned as it is
        batch.add(*samples[c]);
        members.push_back(c);
      }
    };
    rebuild();
    typename Dynamics::workspace work;
    typename Interaction::workspace coupling;
    std::vector<double> noise_factor;
    std::vector<const typename Dynamics::structure*> member_structures;
    std::vector<const state*> member_states;
    std::vector<Scalar> input, sig, out;
    std::vector<std::size_t> net_level;
    std::vector<const typename Dynamics::structure*> pool;
    std::vector<double> expected;
    pooled_noise_workspace<const typename Dynamics::structure*> pooling;
    for (std::size_t level = o.first_level; level < schedule.size() && !members.empty(); ++level) {
      const double sigma = schedule.sigma(level);
      const level_coefficients k = update.at(schedule, level);
      const bool shifting = o.shift.applies(schedule, level);
      for (std::size_t e = 0; e < k.total_steps() && !members.empty(); ++e) {
        const step_update u = k.update(e);
        const auto& offset = batch.variable_offset();
        input.resize(offset.back());
        for (std::size_t m = 0; m < members.size(); ++m)
          dynamics.network_input(*samples[members[m]], r.states[members[m]], input.data() + offset[m]);
        if (!shifting) {
          sig.assign(input.size(), static_cast<Scalar>(sigma));
        } else {
          sig.resize(input.size());
          net_level.resize(members.size());
          for (std::size_t m = 0; m < members.size(); ++m) {
            net_level[m] = o.shift.network_level(schedule, level, noise_ratio[members[m]]);
            shifted[ch] += net_level[m] != level;
            std::fill(sig.begin() + static_cast<std::ptrdiff_t>(offset[m]),
                      sig.begin() + static_cast<std::ptrdiff_t>(offset[m + 1]),
                      static_cast<Scalar>(schedule.sigma(net_level[m])));
          }
        }
        score(batch, input, sig, out);
        evals[ch] += static_cast<double>(members.size());
        if constexpr (HasExpectedScoreSquare<Dynamics>)
          if (shifting) {
            // One conformer's few variables give too noisy a norm: the estimate pools the members of one
            // structure scored at the same level within this batch (fixed chunks, so it does not depend on
            // the thread count).
            pool.resize(members.size());
            expected.resize(members.size());
            for (std::size_t m = 0; m < members.size(); ++m) {
              pool[m] = samples[members[m]];
              expected[m] = dynamics.expected_score_square(*samples[members[m]], schedule.sigma(net_level[m]));
            }
            const auto& ratio =
                pooled_noise_ratios(schedule, level, pool, net_level, offset, out.data(), expected, nullptr, pooling);
            for (std::size_t m = 0; m < members.size(); ++m) noise_ratio[members[m]] = ratio[m];
          }
        noise_factor.assign(members.size(), 1.0);
        if constexpr (!std::is_same_v<Interaction, no_interaction>)
          if (e >= k.corrector_steps && interaction.active(schedule, level)) {
            member_structures.clear();
            member_states.clear();
            for (const auto c : members) member_structures.push_back(samples[c]), member_states.push_back(&r.states[c]);
            interaction.template apply<Scalar>(schedule, level, member_structures, member_states, out.data(), offset,
                                               noise_factor, coupling);
          }
        bool any_left = false;
        for (std::size_t m = 0; m < members.size(); ++m) {
          const auto c = members[m];
          const random::stream z(o.seed, random::purpose::langevin, o.stream_offset + static_cast<std::uint32_t>(c),
                                 static_cast<std::uint32_t>(level));
          dynamics.advance(*samples[c], r.states[c], out.data() + offset[m], u.drift, u.noise * noise_factor[m], z,
                           u.key, work);
          if (!dynamics.valid(r.states[c])) {
            r.status[c] = sample_status::diverged_at(level, sigma, e);
            any_left = true;
          }
        }
        if (any_left) rebuild();
      }
      if (obs) {
        std::lock_guard lock(obs_mutex);
        for (const auto c : members) obs->on_level(level, sigma, c, r.states[c]);
      }
    }
  });
  for (const auto& s : r.status) r.diverged += !s.ok();
  for (double e : evals) r.network_evaluations += e;
  for (double e : shifted) r.shifted_evaluations += e;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

/// annealed_sample_interacting without interaction: every sample on its own.
template <class Scalar, class Dynamics, class Update, class Score, NoiseSchedule Schedule>
sample_result<typename Dynamics::state> annealed_sample(
    const Score& score, const Schedule& schedule, const Dynamics& dynamics, const Update& update,
    const std::vector<const typename Dynamics::structure*>& samples, const sampler_options& o = {},
    sample_observer<typename Dynamics::state>* obs = nullptr,
    const std::vector<typename Dynamics::state>* start = nullptr) {
  return annealed_sample_interacting<Scalar>(score, schedule, dynamics, update, samples, o, no_interaction{}, obs,
                                             start);
}

}  // namespace confsgm::sample
