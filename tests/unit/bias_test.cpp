// Exposure-bias estimator (paper Algorithm 2): with the exact score of the
// data distribution the reconstruction error is ~0 at every level; with a
// deliberately biased score it is larger at every level and grows with the
// number of sampler steps it accumulates over. Both state spaces; results do
// not depend on the thread count.
#include <catch2/catch.hpp>

#include <confsgm/eval/exposure_bias.hpp>

#include "support.hpp"

#include <numbers>

using namespace confsgm;

namespace {

/// Exact noised score of a single conformer theta0 (a delta distribution): WN(theta0, sigma^2).
struct delta_torsion_score {
  std::vector<double> theta0;
  void operator()(const model::torsion_batch& b, const std::vector<double>& theta, const std::vector<double>& sigma,
                  std::vector<double>& out) const {
    out.resize(theta.size());
    for (std::size_t g = 0; g < b.num_graphs(); ++g)
      for (std::size_t k = b.torsion_offset[g]; k < b.torsion_offset[g + 1]; ++k)
        out[k] = torus::score(theta[k] - theta0[k - b.torsion_offset[g]], sigma[k]);
  }
};

/// Exact score of N(d0, sigma^2) per pair (a delta distribution in distances); plus @p bias.
struct delta_pair_score {
  std::vector<double> d0;
  double bias = 0;
  void operator()(const model::graph_batch& b, const std::vector<double>& d, const std::vector<double>& sigma,
                  std::vector<double>& out) const {
    out.resize(d.size());
    for (std::size_t g = 0; g < b.num_graphs(); ++g)
      for (std::size_t k = b.edge_offset[g]; k < b.edge_offset[g + 1]; ++k)
        out[k] = -(d[k] - d0[k - b.edge_offset[g]]) / (sigma[k] * sigma[k]) + bias;
  }
};

}  // namespace

TEST_CASE("exposure bias, torsion space: ~0 with the exact score at the reference's 20 steps", "[bias]") {
  const auto g = test_support::butanol_graph();
  std::mt19937_64 rng(4);
  const auto x = test_support::random_points(g.num_atoms(), rng, 1.6);
  const auto s = torsion_space::describe(g, x);
  const std::vector<double> theta0 = {1.0, -2.5, 3.0, 0.0};
  const std::vector<eval::torsion_sample> data = {{&s, theta0}};
  eval::bias_options o;
  o.samples_per_level = 40;
  const delta_torsion_score exact{theta0};
  for (const auto update : {eval::zero_noise_update::sde_drift, eval::zero_noise_update::probability_flow}) {
    INFO((update == eval::zero_noise_update::sde_drift ? "sde drift" : "probability flow"));
    const eval::torsion_bias_problem<delta_torsion_score, log_uniform_schedule, double> pe(exact, log_uniform_schedule(), update);
    const auto re = eval::estimate_exposure_bias(pe, data, o);
    REQUIRE(re.levels.size() == 20);
    REQUIRE(re.metrics.size() == 2);
    for (std::size_t t = 0; t < 20; ++t) {
      INFO("level " << t << " sigma " << re.levels[t].sigma);
      CHECK(re.levels[t].count == 40);
      // What is left is the discretisation: the last steps contract the smallest noise only partly.
      CHECK(re.levels[t].mean[1] < 0.05);
      CHECK(re.levels[t].mean[0] < 0.1);
    }
  }
}

TEST_CASE("exposure bias, torsion space: exactly 0 for the exact score, the predicted growth for a biased one",
          "[bias]") {
  // A variance-exploding discretisation (no diffusion() in the schedule: g^2 dt = sigma_i^2 - sigma_{i+1}^2,
  // sigma_L = 0) with the exact score of a single conformer returns it exactly. A score that is too weak by a
  // factor (1 - kappa) leaves x_final = x_t kappa (kappa + (1 - kappa) r)^(n - 1) after n steps, r = q^2 the
  // ratio of consecutive variances; with x_t = sigma_t eps the mean error is sigma_t sqrt(2/pi) times that,
  // which grows with n when kappa + (1 - kappa) q^2 > q: the bias compounds over the steps still to run.
  const auto g = test_support::butanol_graph();
  std::mt19937_64 rng(4);
  const auto x = test_support::random_points(g.num_atoms(), rng, 1.6);
  const auto s = torsion_space::describe(g, x);
  const std::vector<double> theta0 = {1.0, -2.5, 3.0, 0.0};
  const std::vector<eval::torsion_sample> data = {{&s, theta0}};
  const double q = 0.8, kappa = 0.6;
  std::vector<double> levels;
  for (int k = 0; k < 12; ++k) levels.push_back(0.4 * std::pow(q, k));
  const custom_schedule sch(levels);
  struct scaled_score {
    std::vector<double> theta0;
    double factor;
    void operator()(const model::torsion_batch& b, const std::vector<double>& theta, const std::vector<double>& sigma,
                    std::vector<double>& out) const {
      delta_torsion_score{theta0}(b, theta, sigma, out);
      for (auto& v : out) v *= factor;
    }
  };
  const scaled_score exact{theta0, 1.0}, weak{theta0, 1.0 - kappa};
  eval::bias_options o;
  o.samples_per_level = 100;
  const eval::torsion_bias_problem<scaled_score, custom_schedule, double> pe(exact, sch), pw(weak, sch);
  const auto re = eval::estimate_exposure_bias(pe, data, o);
  const auto rw = eval::estimate_exposure_bias(pw, data, o);
  const double f = kappa + (1 - kappa) * q * q;
  for (std::size_t t = 0; t < sch.size(); ++t) {
    INFO("level " << t);
    CHECK(re.levels[t].mean[1] < 1e-9);
    const double n = double(sch.size() - t);
    const double predicted = sch.sigma(t) * std::sqrt(2.0 / std::numbers::pi) * kappa * std::pow(f, n - 1);
    // 400 |eps| draws: the sample mean's relative sd is ~3.8 %; allow 4 sd.
    CHECK(rw.levels[t].mean[1] == Approx(predicted).epsilon(0.15));
  }
  CHECK(rw.levels[0].mean[1] > 1.5 * rw.levels[sch.size() - 3].mean[1]);
  // Thread count does not change the numbers; the paper's uniform level draw is available.
  o.threads = 1;
  const auto a = eval::estimate_exposure_bias(pw, data, o);
  o.threads = 2;
  const auto b = eval::estimate_exposure_bias(pw, data, o);
  for (std::size_t t = 0; t < sch.size(); ++t) CHECK(a.levels[t].sample_errors == b.levels[t].sample_errors);
  o.uniform_levels = true;
  const auto u = eval::estimate_exposure_bias(pw, data, o);
  std::size_t total = 0;
  for (const auto& lv : u.levels) total += lv.count;
  CHECK(total == 1200);
  CHECK_THROWS_AS(eval::estimate_exposure_bias(pw, std::vector<eval::torsion_sample>{}, o), invalid_argument);
}

TEST_CASE("exposure bias, distance space: ~0 with the exact score, larger with a biased one", "[bias]") {
  // Three atoms, all pairs in the extended graph: distances fix the shape.
  const auto g = test_support::carbon_graph(3, {{0, 1}, {1, 2}});
  const auto st = distance_space::describe(g);
  coordinates<double> x(3, 3);
  x << 0, 0, 0, 1.5, 0, 0, 2.0, 1.4, 0;
  std::vector<double> d0(st.edges.size());
  distance_space::distances(st, x, d0.data());
  const std::vector<eval::distance_sample> data = {{&st, x}};
  const custom_schedule sch({4.0, 2.0, 1.0, 0.5, 0.25, 0.1});
  sample::langevin_options lo;
  lo.steps_per_level = 400;  // enough that the exact score contracts even the last level's noise to ~0
  lo.step_size = 2.4e-4;  // a / sigma_L^2 = 0.024, as ConfGF's 2.4e-6 / 0.01^2
  lo.clip = 0;
  const delta_pair_score exact{d0, 0.0}, biased{d0, 4.0};
  const eval::distance_bias_problem<delta_pair_score, custom_schedule, double> pe(exact, sch, lo), pb(biased, sch, lo);
  eval::bias_options o;
  o.samples_per_level = 20;
  const auto re = eval::estimate_exposure_bias(pe, data, o);
  const auto rb = eval::estimate_exposure_bias(pb, data, o);
  for (std::size_t t = 0; t < sch.size(); ++t) {
    INFO("level " << t);
    CHECK(re.levels[t].mean[0] < 1e-3);
    CHECK(rb.levels[t].mean[0] > 10 * re.levels[t].mean[0]);
  }
}

TEST_CASE("exposure bias, torsion space: particle guidance is refused (Algorithm 2 follows single samples)",
          "[bias][compensation]") {
  const delta_torsion_score exact{{0.5, -1.0, 2.0, 0.1}};
  sample::sampling_compensation c;
  c.guidance = *sample::particle_guidance::preset("recall");
  using problem = eval::torsion_bias_problem<delta_torsion_score, log_uniform_schedule, double>;
  CHECK_THROWS_WITH(problem(exact, log_uniform_schedule(), eval::zero_noise_update::sde_drift, 1, c),
                    Catch::Contains("particle guidance") && Catch::Contains("single samples"));
  c.guidance = {};
  CHECK_NOTHROW(problem(exact, log_uniform_schedule(), eval::zero_noise_update::sde_drift, 1, c));
}
