// The sampler policy (sample/annealed_sampler.hpp): one loop for every state
// space and update rule, typed per-sample status, several molecules per call.
#include <catch2/catch.hpp>

#include <confsgm/sample/annealed_sampler.hpp>
#include <confsgm/eval/exposure_bias.hpp>
#include <confsgm/sample/coordinate_dynamics.hpp>
#include <confsgm/sample/langevin.hpp>
#include <confsgm/sample/particle_guidance.hpp>
#include <confsgm/sample/torus_dynamics.hpp>
#include <confsgm/sample/torus_sampler.hpp>

#include <cmath>

using namespace confsgm;

namespace {

molecule_graph chain(std::size_t atoms, const std::string& name) {
  molecule_graph g(name);
  for (std::size_t i = 0; i < atoms; ++i) g.add_atom({.atomic_number = 6});
  for (std::size_t i = 0; i + 1 < atoms; ++i)
    g.add_bond({.begin = static_cast<std::uint32_t>(i), .end = static_cast<std::uint32_t>(i + 1)});
  return g;
}

/// Score of distances blurred around 1.4 Å (a Gaussian of width sigma per pair): no network, exact.
struct pair_gaussian {
  void operator()(const model::graph_batch& b, const std::vector<double>& d, const std::vector<double>& sigma,
                  std::vector<double>& out) const {
    out.assign(b.num_edges(), 0.0);
    for (std::size_t k = 0; k < out.size(); ++k) out[k] = -(d[k] - 1.4) / (sigma[k] * sigma[k]);
  }
};

/// A user's own update rule: three steps per level that do not move the state.
struct standing_still {
  static std::string name() { return "standing-still"; }
  template <class Schedule>
  sample::level_coefficients at(const Schedule&, std::size_t) const {
    return {3, 0.0, 0.0};
  }
};

bool same_states(const std::vector<coordinates<double>>& a, const std::vector<coordinates<double>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace

TEST_CASE("annealed sampler: several molecules in one call equal one call per molecule", "[sampler]") {
  const auto a = distance_space::describe(chain(2, "ethane-like"));
  const auto b = distance_space::describe(chain(4, "butane-like"));
  const geometric_schedule schedule(2.0, 0.05, 8);
  const sample::coordinate_dynamics dynamics;
  const sample::langevin update{5, 1e-3, 1.0};
  sample::sampler_options o;
  o.seed = 7;
  o.chunk = 3;  // batches that mix the two molecules
  const auto together = sample::annealed_sample<double>(pair_gaussian{}, schedule, dynamics, update,
                                                        {&a, &a, &b, &b, &b}, o);
  const auto only_a = sample::annealed_sample<double>(pair_gaussian{}, schedule, dynamics, update, {&a, &a}, o);
  o.stream_offset = 2;  // the keys the mixed call gave b's samples
  const auto only_b = sample::annealed_sample<double>(pair_gaussian{}, schedule, dynamics, update, {&b, &b, &b}, o);
  REQUIRE(together.states.size() == 5);
  CHECK(same_states({together.states[0], together.states[1]}, only_a.states));
  CHECK(same_states({together.states[2], together.states[3], together.states[4]}, only_b.states));
  CHECK(together.diverged == 0);
  CHECK(together.network_evaluations == 5.0 * 8 * 5);
  // Thread count and chunking do not change a sample.
  o.stream_offset = 0;
  o.threads = 1;
  o.chunk = 1;
  const auto serial = sample::annealed_sample<double>(pair_gaussian{}, schedule, dynamics, update,
                                                      {&a, &a, &b, &b, &b}, o);
  CHECK(same_states(serial.states, together.states));
}

TEST_CASE("annealed sampler: every update rule works in the coordinate space, user rules included", "[sampler]") {
  const auto s = distance_space::describe(chain(2, "diatomic"));
  const geometric_schedule schedule(10.0, 0.01, 50);
  const std::vector<const distance_structure*> samples(6, &s);
  sample::sampler_options o;
  o.seed = 11;
  // Zero-noise reverse SDE: each level shrinks |d - 1.4| by 1 - 2 (1 - (sigma_{i+1}/sigma_i)^2) = 0.66; the last
  // level (variance step sigma_L^2) reflects it. Every sample ends at the mode.
  const auto sde = sample::annealed_sample<double>(pair_gaussian{}, schedule, sample::coordinate_dynamics{},
                                                   sample::reverse_sde{0.0}, samples, o);
  for (const auto& x : sde.states) CHECK((x.row(0) - x.row(1)).norm() == Approx(1.4).margin(1e-6));
  CHECK(sde.network_evaluations == 6.0 * 50);
  // The probability-flow ODE halves the drift: it converges too, more slowly (0.83 per level).
  const auto ode = sample::annealed_sample<double>(pair_gaussian{}, schedule, sample::coordinate_dynamics{},
                                                   sample::probability_flow{}, samples, o);
  for (const auto& x : ode.states) CHECK((x.row(0) - x.row(1)).norm() == Approx(1.4).margin(1e-3));
  // A rule defined outside the library: three steps per level, nothing moves; the start is the prior draw.
  const auto still = sample::annealed_sample<double>(pair_gaussian{}, schedule, sample::coordinate_dynamics{},
                                                     standing_still{}, samples, o);
  const auto prior = sample::coordinate_dynamics{}.initial(
      s, random::stream(o.seed, random::purpose::init, 0u));
  CHECK(still.states[0] == prior);
  CHECK(still.network_evaluations == 6.0 * 50 * 3);
  static_assert(sample::LevelUpdate<standing_still>);
  static_assert(!sample::LevelUpdate<int>);
}

TEST_CASE("annealed sampler: status is typed, per sample, and the others finish", "[sampler]") {
  const auto s = distance_space::describe(chain(3, "propane-like"));
  const geometric_schedule schedule(1.0, 0.1, 4);
  std::vector<coordinates<double>> start(3, coordinates<double>::Zero(3, 3));
  for (auto& x : start) x << 0, 0, 0, 1.5, 0, 0, 1.5, 1.5, 0;
  start[1](2, 1) = std::nan("");
  sample::sampler_options o;
  o.chunk = 3;
  const auto r = sample::annealed_sample<double>(pair_gaussian{}, schedule, sample::coordinate_dynamics{},
                                                 sample::langevin{5, 1e-3, 1.0}, {&s, &s, &s}, o, nullptr, &start);
  CHECK(r.status[0].ok());
  CHECK(r.status[1] == sample::sample_status::non_finite());
  CHECK(r.status[2].ok());
  CHECK(r.diverged == 1);
  CHECK(std::isnan(r.states[1](2, 1)));  // returned as given, never updated
  CHECK(to_string(r.status[0]) == "ok");
  CHECK(to_string(r.status[1]) == "non-finite start state");
  CHECK(to_string(sample::sample_status::diverged_at(12, 0.98, 7)) == "diverged at level 12 (sigma 0.980000), step 7");
  // A score that sends sample 2 past max_coordinate at level 1: it stops there, typed with level and step.
  struct explosive {
    void operator()(const model::graph_batch& b, const std::vector<double>& d, const std::vector<double>& sigma,
                    std::vector<double>& out) const {
      out.assign(b.num_edges(), 0.0);
      for (std::size_t k = 0; k < out.size(); ++k) out[k] = -(d[k] - 1.4) / (sigma[k] * sigma[k]);
      if (sigma[0] < 0.9 && b.num_graphs() == 3) out[2 * 3] = 1e9;  // the first edge of the third member
    }
  };
  start[1] = start[0];
  const auto e = sample::annealed_sample<double>(explosive{}, schedule, sample::coordinate_dynamics{.clip = 0},
                                                 sample::langevin{5, 1e-3, 0.0}, {&s, &s, &s}, o, nullptr, &start);
  CHECK(e.status[0].ok());
  CHECK(e.status[1].ok());
  CHECK(e.status[2] == sample::sample_status::diverged_at(1, schedule.sigma(1), 0));
  CHECK_THROWS_WITH(sample::annealed_sample<double>(pair_gaussian{}, schedule, sample::coordinate_dynamics{},
                                                    sample::reverse_sde{}, {&s}, o, nullptr, &start),
                    Catch::Contains("3 start states for 1 samples"));
}

TEST_CASE("annealed sampler: the torus dynamics return molecules without torsions as given", "[sampler]") {
  torsion_structure rigid;
  rigid.name = "rigid";
  rigid.n_atoms = 2;
  const sample::torus_dynamics dynamics;
  CHECK_FALSE(sample::torus_dynamics::samples_anything(rigid));
  const auto theta = dynamics.initial(rigid, random::stream(1, random::purpose::init, 0u));
  CHECK(theta.empty());
  struct never_called {
    void operator()(const model::torsion_batch&, const std::vector<float>&, const std::vector<float>&,
                    std::vector<float>&) const {
      FAIL("a molecule without torsions reached the network");
    }
  };
  const auto r = sample::annealed_sample<float>(never_called{}, log_uniform_schedule(), dynamics,
                                                sample::reverse_sde{}, {&rigid, &rigid});
  CHECK(r.status[0].ok());
  CHECK(r.states[1].empty());
  CHECK(r.network_evaluations == 0);
}

TEST_CASE("compensation in the distance space: correctors and sigma-shift run on coordinates - none is bit-identical",
          "[sampler][compensation]") {
  const auto a = distance_space::describe(chain(4, "butane-like"));
  const geometric_schedule schedule(2.0, 0.05, 8);
  const sample::coordinate_dynamics dynamics;
  sample::sampler_options o;
  o.seed = 3;
  o.threads = 2;
  const std::vector<const distance_structure*> samples(6, &a);
  const sample::langevin plain{4, 1e-3, 1.0};
  const auto none = sample::annealed_sample<double>(pair_gaussian{}, schedule, dynamics, plain, samples, o);
  // The adapters at their identity: the same numbers.
  const sample::with_corrector<sample::langevin> no_corrector{plain, {0, 0.5}, 1.0};
  CHECK(same_states(sample::annealed_sample<double>(pair_gaussian{}, schedule, dynamics, no_corrector, samples, o).states,
                    none.states));
  o.shift = {0, 0.3};
  CHECK(same_states(sample::annealed_sample<double>(pair_gaussian{}, schedule, dynamics, plain, samples, o).states,
                    none.states));
  // The kernel's expected squared norm: one unit variance per distance at sigma = 1, 1/sigma^2 each.
  CHECK(dynamics.expected_score_square(a, 0.5) == Approx(double(a.edges.size()) / 0.25));
  // Each of them changes the samples, keeps them finite, and costs what it says.
  const sample::with_corrector<sample::langevin> corrected{plain, {2, 0.01}, 1.0};
  o.shift = {};
  const auto c = sample::annealed_sample<double>(pair_gaussian{}, schedule, dynamics, corrected, samples, o);
  CHECK(c.diverged == 0);
  CHECK_FALSE(same_states(c.states, none.states));
  CHECK(c.network_evaluations == double(samples.size() * 8 * (4 + 2)));
  o.shift = {2, 0.0};
  const auto s = sample::annealed_sample<double>(pair_gaussian{}, schedule, dynamics, plain, samples, o);
  CHECK(s.diverged == 0);
  CHECK(s.shifted_evaluations > 0);  // the prior is far from the pair Gaussian: some levels move
  CHECK_FALSE(same_states(s.states, none.states));
  o.threads = 1;  // and the thread count does not matter
  CHECK(same_states(sample::annealed_sample<double>(pair_gaussian{}, schedule, dynamics, plain, samples, o).states,
                    s.states));
}

TEST_CASE("particle guidance in the distance space: symmetric views are edge permutations - a reversed chain",
          "[sampler][compensation][guidance]") {
  // Propane's carbons read backwards are the same chain: the two bonds swap, the 1-3 distance stays.
  const auto s = distance_space::describe(chain(3, "propane-like"));
  REQUIRE(s.edges.size() == 3);
  const auto views = sample::distance_views::of(s);
  REQUIRE(views.size() == 2);
  CHECK(views.image[0] == std::vector<std::uint32_t>{0, 1, 2});
  std::vector<std::uint32_t> reversed(3);
  for (std::size_t e = 0; e < 3; ++e) {
    const auto& edge = s.edges[views.image[1][e]];
    CHECK(edge.hops == s.edges[e].hops);  // an automorphism keeps hop counts
    reversed[e] = views.image[1][e];
  }
  CHECK(reversed != views.image[0]);
  CHECK(sample::distance_views::of(s, 1).size() == 1);
  // Distances of a conformer and of its relabelled twin: zero apart under the symmetry, not without it.
  std::vector<double> a(3), b(3), d;
  for (std::size_t e = 0; e < 3; ++e) a[e] = 1.0 + 0.3 * double(e);
  for (std::size_t e = 0; e < 3; ++e) b[views.image[1][e]] = a[e];
  CHECK(sample::closest_difference(a, b, views, d) == Approx(0.0).margin(1e-15));
  CHECK(sample::closest_difference(a, b, sample::distance_views::identity(3), d) > 0.1);
}

TEST_CASE("particle guidance in the distance space: the repulsion is minus the gradient of the kernel potential "
          "per distance (finite differences)",
          "[sampler][compensation][guidance][fd]") {
  const auto s = distance_space::describe(chain(5, "pentane-like"));
  const auto views = sample::distance_views::of(s);
  REQUIRE(views.size() == 2);
  const std::size_t n = 4, E = s.edges.size();
  const random::stream z(5, random::purpose::user, 0);
  std::vector<std::vector<double>> dist(n, std::vector<double>(E));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t e = 0; e < E; ++e) dist[i][e] = 1.5 + 0.4 * z.normal(static_cast<std::uint32_t>(i * E + e));
  for (const bool invariant : {true, false}) {
    INFO("symmetry-aware: " << invariant);
    const auto w = invariant ? views : sample::distance_views::identity(E);
    for (const double h : {0.05, 0.5}) {
      std::vector<const std::vector<double>*> particles;
      std::vector<const sample::distance_views*> vs;
      for (auto& x : dist) particles.push_back(&x), vs.push_back(&w);
      std::vector<std::vector<double>> rep;
      const double per = double(E);
      sample::repulsion(particles, vs, h, rep, per);
      double largest = 0;
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t e = 0; e < E; ++e) {
          const double eps = 1e-6, keep = dist[i][e];
          dist[i][e] = keep + eps;
          const double up = sample::kernel_potential(i, particles, vs, h, per);
          dist[i][e] = keep - eps;
          const double down = sample::kernel_potential(i, particles, vs, h, per);
          dist[i][e] = keep;
          CHECK(rep[i][e] == Approx(-(up - down) / (2 * eps)).margin(1e-6));
          largest = std::max(largest, std::abs(rep[i][e]));
        }
      CHECK(largest > 1e-2);  // the check is not vacuous
    }
  }
}

TEST_CASE("particle guidance in the distance space: off is bit-identical to independent sampling - on, it spreads "
          "a molecule's conformers, any thread count",
          "[sampler][compensation][guidance]") {
  const auto s = distance_space::describe(chain(4, "butane-like"));
  const geometric_schedule schedule(2.0, 0.05, 8);
  sample::langevin_options o;
  o.steps_per_level = 20;
  o.step_size = 1e-3;
  o.seed = 11;
  o.threads = 2;
  o.chunk = 4;
  const std::size_t n = 16;
  const auto plain = sample::annealed_langevin<double>(pair_gaussian{}, schedule, s, n, o);
  o.guidance = sample::particle_guidance{};  // not enabled
  const auto off = sample::annealed_langevin<double>(pair_gaussian{}, schedule, s, n, o);
  for (std::size_t c = 0; c < n; ++c) CHECK(coordinates<double>(off.conformers[c]) == coordinates<double>(plain.conformers[c]));
  o.guidance = *sample::particle_guidance::preset("distance:30:1");
  CHECK(o.guidance.space == sample::particle_guidance::space_kind::distance);
  CHECK(o.guidance.kernel_at(schedule, 3) == Approx(schedule.sigma(3) * schedule.sigma(3)));
  const auto guided = sample::annealed_langevin<double>(pair_gaussian{}, schedule, s, n, o);
  CHECK(guided.diverged == 0);
  const auto spread = [&](const sample::langevin_result& r) {
    std::vector<std::vector<double>> d(n, std::vector<double>(s.edges.size()));
    for (std::size_t c = 0; c < n; ++c) distance_space::distances(s, coordinates<double>(r.conformers[c]), d[c].data());
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < i; ++j)
        for (std::size_t e = 0; e < d[i].size(); ++e) sum += (d[i][e] - d[j][e]) * (d[i][e] - d[j][e]);
    return sum / double(n * (n - 1) / 2);
  };
  INFO("spread guided " << spread(guided) << ", independent " << spread(plain));
  CHECK(spread(guided) > 1.2 * spread(plain));
  o.threads = 1;  // all n conformers are one batch: the same for any thread count
  const auto one_thread = sample::annealed_langevin<double>(pair_gaussian{}, schedule, s, n, o);
  for (std::size_t c = 0; c < n; ++c)
    CHECK(coordinates<double>(one_thread.conformers[c]) == coordinates<double>(guided.conformers[c]));
}

TEST_CASE("particle guidance: a setting made for one space is refused by the other's sampler, with its reason",
          "[sampler][compensation][guidance]") {
  using pg = sample::particle_guidance;
  const auto s = distance_space::describe(chain(4, "butane-like"));
  const geometric_schedule schedule(2.0, 0.05, 4);
  sample::langevin_options o;
  o.steps_per_level = 2;
  o.guidance = *pg::preset("recall");
  CHECK_THROWS_WITH(sample::annealed_langevin<double>(pair_gaussian{}, schedule, s, 4, o),
                    Catch::Contains("set for the torsion space"));
  o.guidance = pg::distance_langevin(1.0, 1.0);
  o.guidance.langevin_weight = {0.5, 0.0};
  CHECK_THROWS_WITH(sample::annealed_langevin<double>(pair_gaussian{}, schedule, s, 4, o),
                    Catch::Contains("langevin_weight must be 1"));
  o.guidance = pg::distance_langevin(1.0, 1.0);
  CHECK_THROWS_WITH((eval::distance_bias_problem<pair_gaussian, geometric_schedule, double>(pair_gaussian{}, schedule, o)),
                    Catch::Contains("Algorithm 2 follows single samples"));
  sample::torus_sampler_options to;
  to.guidance = *pg::preset("distance-plain:0.5:2");
  CHECK_FALSE(to.guidance.invariant);
  torsion_structure none{};
  CHECK_THROWS_WITH(sample::sample_torsions<double>([](auto&&...) {}, schedule, {&none}, to),
                    Catch::Contains("set for the distance space"));
  // Names: the list is the one place they are spelled; malformed distance settings name nothing.
  for (const auto& name : pg::preset_names())
    if (name.find(':') == std::string::npos) CHECK(pg::preset(name).has_value());
  for (const auto* bad : {"distance:0:1", "distance:1", "distance:1:x", "distance:1:2:3", "distance:inf:1", "recal"})
    CHECK_FALSE(pg::preset(bad).has_value());
}
