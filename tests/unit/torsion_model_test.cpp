// Torsion-space SGM: the log-uniform schedule against the reference's numbers,
// DSM samples on the torus, finite differences through the whole torsion
// network and loss, rotation invariance and reflection oddness, conformer
// matching, the torus samplers against an analytic score, and the trainer's
// determinism with the torsion network.
#include <catch2/catch.hpp>

#include <confsgm/core/conformer_matching.hpp>
#include <confsgm/eval/epsilon_calibration.hpp>
#include <confsgm/model/torsion_score_network.hpp>
#include <confsgm/sample/torus_sampler.hpp>
#include <confsgm/train/model_file.hpp>
#include <confsgm/train/trainer.hpp>

#include <filesystem>

#include "support.hpp"

using namespace confsgm;
using namespace confsgm::model;
using test_support::numeric_gradient;
using test_support::relative_error;

namespace {

torsion_structure butanol_structure(std::uint32_t key = 4) {
  const auto g = test_support::butanol_graph();
  std::mt19937_64 rng(key);
  // A loose random geometry is enough for invariance and gradient checks; keep atoms apart.
  auto x = test_support::random_points(g.num_atoms(), rng, 1.6);
  return torsion_space::describe(g, x);
}

torsion_network_config small_config() {
  return {.hidden = 6, .layers = 2, .radial = 4, .cutoff = 6.0};
}

template <class Net>
void jitter_output_layer(const Net& net, parameter_vector<double>& p) {
  for (const auto& blk : net.layout().blocks())
    if (blk.name == "pair_mlp.2.weight") {
      const random::stream j(12, random::purpose::user);
      for (std::size_t k = 0; k < blk.size(); ++k) p[blk.offset + k] = 0.5 * j.normal(static_cast<std::uint32_t>(k));
    }
}

}  // namespace

TEST_CASE("log-uniform schedule: the reference's 20 sampling levels and SDE step sizes", "[torsion][model]") {
  const log_uniform_schedule s;
  REQUIRE(s.size() == 20);
  const double printed[] = {3.14,    2.49419, 1.98121, 1.57373, 1.25006, 0.99296, 0.78873, 0.62651, 0.49766, 0.3953,
                            0.314,   0.24942, 0.19812, 0.15737, 0.12501, 0.0993,  0.07887, 0.06265, 0.04977, 0.03953};
  for (std::size_t i = 0; i < 20; ++i) CHECK(s.sigma(i) == Approx(printed[i]).margin(5e-6));
  CHECK(s.diffusion(1.0) == Approx(3.03485).margin(5e-6));
  CHECK(sample::sde_variance_step(s, 0) == Approx(4.5405).margin(5e-5));
  CHECK(sample::sde_variance_step(s, 19) == Approx(7.2e-4).margin(5e-6));
  CHECK(s.sigma_at(0.0) == Approx(0.0314));
  CHECK(s.sigma_at(1.0) == Approx(3.14));
  CHECK_THROWS_AS(log_uniform_schedule(0.1, 0.2, 20), invalid_argument);
}

TEST_CASE("torsion DSM samples: wrapped inputs, wrapped-normal targets, IP(0) bit-identical to none",
          "[torsion][model]") {
  const log_uniform_schedule sch;
  const std::vector<double> clean = {3.0, -3.1, 0.2, 1.0};
  const auto a = train::make_dsm_sample<torsion_space>(clean, sch, no_perturbation{}, 5, 17, 3);
  const auto b = train::make_dsm_sample<torsion_space>(clean, sch, input_perturbation{0.0}, 5, 17, 3);
  const auto c = train::make_dsm_sample<torsion_space>(clean, sch, input_perturbation{0.3}, 5, 17, 3);
  CHECK(a.input == b.input);
  CHECK(a.target == b.target);
  CHECK(a.sigma >= 0.0314);
  CHECK(a.sigma <= 3.14);
  CHECK(c.target == a.target);  // IP moves the input, never the target
  CHECK(c.input != a.input);
  for (std::size_t k = 0; k < clean.size(); ++k) {
    CHECK(a.input[k] >= -torus::pi);
    CHECK(a.input[k] < torus::pi);
    const double disp = torus::wrap(a.input[k] - clean[k]);
    CHECK(a.target[k] == Approx(torus::score(disp, a.sigma)).margin(1e-12));
  }
  // The continuous draw covers [sigma_min, sigma_max] log-uniformly: median near the geometric mean.
  std::vector<double> sig;
  for (std::uint32_t st = 0; st < 2001; ++st)
    sig.push_back(train::make_dsm_sample<torsion_space>(clean, sch, no_perturbation{}, 5, st, 0).sigma);
  std::nth_element(sig.begin(), sig.begin() + 1000, sig.end());
  CHECK(std::log(sig[1000]) == Approx(std::log(std::sqrt(3.14 * 0.0314))).margin(0.15));
  CHECK(torsion_space::loss_weight(0.05) == Approx(0.05 * 0.05).epsilon(1e-9));
  CHECK(torsion_space::loss_weight(2.0) == Approx(1.0 / torus::score_norm(2.0)).epsilon(1e-8));
}

TEST_CASE("torsion space: coordinates from dihedrals reproduce the dihedrals exactly", "[torsion]") {
  const auto s = butanol_structure();
  REQUIRE(s.torsions.size() == 4);
  const std::vector<double> theta = {0.4, -2.9, 3.0, 1.2};
  const auto x = torsion_space::coordinates_of(s, theta);
  const auto back = torsion_space::torsions_of(s, x);
  for (std::size_t t = 0; t < theta.size(); ++t) CHECK(torus::wrap(back[t] - theta[t]) == Approx(0.0).margin(1e-9));
  CHECK_THROWS_AS(torsion_space::coordinates_of(s, {0.1}), shape_mismatch);
}

TEST_CASE("finite differences: whole torsion network and the DSM loss, in double", "[torsion][fd]") {
  torsion_score_network<double> net(small_config());
  auto p = net.initial_parameters(11);
  jitter_output_layer(net, p);
  const auto s1 = butanol_structure(4), s2 = butanol_structure(9);
  torsion_batch b;
  b.add(s1);
  b.add(s2);
  std::vector<double> theta = {0.4, -2.9, 3.0, 1.2, -0.5, 0.1, 2.2, -1.4};
  std::vector<double> sigma = {0.2, 0.2, 0.2, 0.2, 1.7, 1.7, 1.7, 1.7};
  std::vector<double> target(theta.size());
  for (std::size_t k = 0; k < target.size(); ++k) target[k] = torus::score(0.3 * double(k) - 1.0, sigma[k]);
  auto loss = [&](std::vector<double>* dscore) {
    torsion_score_network<double>::cache c;
    std::vector<double> score;
    net.forward(p, b, theta, sigma, c, score);
    if (dscore) dscore->resize(score.size());
    double l = 0;
    for (std::size_t g = 0; g < 2; ++g) {
      const auto lo = b.torsion_offset[g], hi = b.torsion_offset[g + 1];
      l += train::dsm_loss(score.data() + lo, target.data() + lo, hi - lo, torsion_space::loss_weight(sigma[lo]), 0.5,
                           dscore ? dscore->data() + lo : nullptr);
    }
    return l;
  };
  std::vector<double> dscore;
  parameter_vector<double> grad(p.size(), 0.0);
  loss(&dscore);
  torsion_score_network<double>::cache c;
  std::vector<double> score;
  net.forward(p, b, theta, sigma, c, score);
  net.backward(p, b, c, dscore, grad);
  const auto nump = numeric_gradient(p, [&] { return loss(nullptr); });
  CHECK(relative_error(grad, nump) < 1e-6);
  for (const auto& blk : net.layout().blocks()) {
    double sum = 0;
    for (std::size_t k = 0; k < blk.size(); ++k) sum += std::abs(grad[blk.offset + k]);
    INFO(blk.name);
    CHECK(sum > 0);
  }
  CHECK_THROWS_AS(net.forward(p, b, std::vector<double>(3, 0.0), sigma, c, score), shape_mismatch);
}

TEST_CASE("torsion network: rotating the molecule leaves every score unchanged - a reflection negates them",
          "[torsion][model]") {
  torsion_score_network<double> net(small_config());
  auto p = net.initial_parameters(3);
  jitter_output_layer(net, p);
  const auto g = test_support::butanol_graph();
  std::mt19937_64 rng(21);
  const auto x = test_support::random_points(g.num_atoms(), rng, 1.6);
  const auto s = torsion_space::describe(g, x);
  const std::vector<double> theta = {0.4, -2.9, 3.0, 1.2};
  const auto scores = [&](const torsion_structure& st, const std::vector<double>& th) {
    torsion_batch b;
    b.add(st);
    torsion_score_network<double>::cache c;
    std::vector<double> out;
    net.forward(p, b, th, std::vector<double>(th.size(), 0.5), c, out);
    return out;
  };
  const auto s0 = scores(s, theta);
  double largest = 0;
  for (double v : s0) largest = std::max(largest, std::abs(v));
  REQUIRE(largest > 1e-3);  // the check below must not pass on zeros

  const Eigen::Matrix3d R = test_support::random_rotation(rng);
  coordinates<double> xr = (x * R.transpose()).rowwise() + Eigen::RowVector3d(1.0, -2.0, 0.5);
  const auto sr = torsion_space::describe(g, xr);
  const auto s1 = scores(sr, theta);
  for (std::size_t t = 0; t < theta.size(); ++t) CHECK(s1[t] == Approx(s0[t]).margin(1e-9));

  // Mirror image: coordinates reflected, every dihedral negated.
  coordinates<double> xm = x;
  xm.col(0) *= -1.0;
  const auto sm = torsion_space::describe(g, xm);
  std::vector<double> neg;
  for (double v : theta) neg.push_back(-v);
  const auto s2 = scores(sm, neg);
  for (std::size_t t = 0; t < theta.size(); ++t) CHECK(s2[t] == Approx(-s0[t]).margin(1e-9));
}

TEST_CASE("conformer matching: recovers a conformer built on the same local structure", "[torsion]") {
  const auto g = test_support::butanol_graph();
  std::mt19937_64 rng(8);
  const auto x = test_support::random_points(g.num_atoms(), rng, 1.6);
  const auto s = torsion_space::describe(g, x);
  const std::vector<double> truth = {1.0, -2.0, 0.5, 2.8};
  coordinates<double> ref = torsion_space::coordinates_of(s, truth);
  const Eigen::Matrix3d R = test_support::random_rotation(rng);
  ref = ((ref * R.transpose()).rowwise() + Eigen::RowVector3d(3, 1, -2)).eval();
  const auto m = match_torsions(s, ref);
  CHECK(m.rmsd < 1e-6);
  for (std::size_t t = 0; t < truth.size(); ++t) CHECK(torus::wrap(m.torsions[t] - truth[t]) == Approx(0).margin(1e-6));

  // A different local structure (bond lengths and angles jittered): matching never ends above its start.
  auto y = x;
  std::normal_distribution<double> jitter(0.0, 0.15);
  for (Eigen::Index k = 0; k < y.size(); ++k) y.data()[k] += jitter(rng);
  const auto s2 = torsion_space::describe(g, y);
  const auto m2 = match_torsions(s2, ref);
  CHECK(m2.rmsd <= m2.start_rmsd + 1e-12);
  CHECK(m2.rmsd > 0);
  CHECK(m2.heavy_rmsd > 0);
  CHECK_THROWS_AS(match_torsions(s2, coordinates<double>(3, 3)), shape_mismatch);
}

namespace {
/// Exact score of the noised data distribution when every torsion is WN(mu_t, tau^2):
/// noised by WN(0, sigma^2), it is WN(mu_t, tau^2 + sigma^2).
struct analytic_torsion_score {
  std::vector<double> mu;
  double tau;
  void operator()(const torsion_batch& b, const std::vector<double>& theta, const std::vector<double>& sigma,
                  std::vector<double>& out) const {
    out.resize(theta.size());
    for (std::size_t g = 0; g < b.num_graphs(); ++g)
      for (std::size_t k = b.torsion_offset[g]; k < b.torsion_offset[g + 1]; ++k) {
        const auto t = k - b.torsion_offset[g];
        out[k] = torus::score(theta[k] - mu[t], std::sqrt(tau * tau + sigma[k] * sigma[k]));
      }
  }
};
}  // namespace

TEST_CASE("torus samplers: with the exact score, SDE, ODE and Langevin recover a known wrapped normal",
          "[torsion][sampler]") {
  const auto s = butanol_structure();
  const analytic_torsion_score model{{1.0, -2.5, 3.0, 0.0}, 0.3};
  const std::size_t n = 1500;
  std::vector<const torsion_structure*> samples(n, &s);
  for (const auto method : {sample::torus_method::reverse_sde, sample::torus_method::probability_flow_ode,
                            sample::torus_method::annealed_langevin}) {
    INFO(sample::to_string(method));
    sample::torus_sampler_options o;
    o.method = method;
    o.seed = 7;
    o.steps_per_level = 20;
    o.step_size = 2e-4;
    // The reference's 20 steps are coarse; 200 levels make discretisation error small against the tolerance.
    const log_uniform_schedule sch(3.14, 0.0314, 200);
    const auto r = sample::sample_torsions<double>(model, sch, samples, o);
    REQUIRE(r.diverged == 0);
    for (std::size_t t = 0; t < 4; ++t) {
      double sx = 0, sy = 0, v = 0;
      for (const auto& th : r.torsions) {
        sx += std::cos(th[t] - model.mu[t]);
        sy += std::sin(th[t] - model.mu[t]);
        v += torus::wrap(th[t] - model.mu[t]) * torus::wrap(th[t] - model.mu[t]);
      }
      v /= n;
      const double tau2 = model.tau * model.tau;
      // Mean direction within 4 standard errors of the circular mean (sd ~ tau / sqrt(n)).
      CHECK(std::abs(std::atan2(sy, sx)) < 4 * model.tau / std::sqrt(double(n)));
      // Variance: sampling sd of the mean square is tau^2 sqrt(2/n); the discretised samplers
      // add up to ~the last sigma^2 (0.0315^2) of spread; allow 5 sd plus that.
      CHECK(std::abs(v - tau2) < 5 * tau2 * std::sqrt(2.0 / n) + 2e-3);
    }
  }
}

TEST_CASE("torus samplers: same seed gives the same angles with 1 and 2 threads - start states and levels",
          "[torsion][sampler]") {
  const auto s = butanol_structure();
  torsion_score_network<float> net(small_config());
  auto p = net.initial_parameters(5);
  for (const auto& blk : net.layout().blocks())
    if (blk.name == "pair_mlp.2.weight") view(p, blk).setConstant(0.3f);
  const sample::network_torsion_score<torsion_score_network<float>> model(net, p);
  std::vector<const torsion_structure*> samples(6, &s);
  sample::torus_sampler_options o;
  o.chunk = 2;
  o.threads = 1;
  const auto a = sample::sample_torsions<float>(model, log_uniform_schedule(), samples, o);
  o.threads = 2;
  const auto b = sample::sample_torsions<float>(model, log_uniform_schedule(), samples, o);
  CHECK(a.torsions == b.torsions);
  CHECK(a.network_evaluations == 6 * 20);
  // Zero-noise sampler from a given state at the last level: one deterministic drift step.
  o.noise_scale = 0;
  o.first_level = 19;
  const std::vector<std::vector<double>> start(6, std::vector<double>{0.1, 0.2, 0.3, 0.4});
  const auto c = sample::sample_torsions<float>(model, log_uniform_schedule(), samples, o, nullptr, &start);
  for (std::size_t t = 0; t < 4; ++t) CHECK(c.torsions[0][t] == Approx(c.torsions[5][t]).margin(1e-6));
  CHECK(c.torsions[0] != start[0]);
  o.first_level = 20;
  CHECK_THROWS_AS(sample::sample_torsions<float>(model, log_uniform_schedule(), samples, o), invalid_argument);
}

namespace {
train::training_set<torsion_space> torsion_toy_set(std::size_t n) {
  train::training_set<torsion_space> t;
  for (std::size_t m = 0; m < n; ++m) {
    const auto s = butanol_structure(static_cast<std::uint32_t>(100 + m));
    t.ids.push_back("mol" + std::to_string(m));
    t.clean.push_back({{1.0, -2.5, 3.0, 0.0}, {1.1, -2.4, 2.9, 0.2}});
    t.structures.push_back(s);
    t.conformer_structures.push_back({s, butanol_structure(static_cast<std::uint32_t>(500 + m))});
  }
  return t;
}
}  // namespace

TEST_CASE("trainer with the torsion network: identical weights with 1 and 2 threads - the loss goes down",
          "[torsion][train]") {
  const auto data = torsion_toy_set(12);
  using trainer = train::dsm_trainer<torsion_score_network<float>, log_uniform_schedule, input_perturbation>;
  train::trainer_options o;
  o.batch_molecules = 6;
  o.micro_batch = 2;
  o.epochs = 2;
  o.threads = 1;
  const torsion_network_config cfg{.hidden = 16, .layers = 2};
  trainer a(torsion_score_network<float>(cfg), log_uniform_schedule(), input_perturbation(0.1), o);
  o.threads = 2;
  trainer b(torsion_score_network<float>(cfg), log_uniform_schedule(), input_perturbation(0.1), o);
  a.fit(data);
  b.fit(data);
  REQUIRE(a.step() == 4);
  CHECK(a.parameters() == b.parameters());
  // One molecule, one local structure, one conformer: the score field is learnable in a few hundred steps.
  const auto single = [] {
    auto t = torsion_toy_set(12);
    t.conformer_structures.clear();
    for (std::size_t m = 0; m < t.size(); ++m) {
      t.structures[m] = t.structures[0];
      t.clean[m] = {t.clean[0][0]};
    }
    return t;
  }();
  o.epochs = 150;
  o.learning_rate = 3e-3;
  train::dsm_trainer<torsion_score_network<float>, log_uniform_schedule, no_perturbation> c(
      torsion_score_network<float>(cfg), log_uniform_schedule(), no_perturbation{}, o);
  const double before = c.validation_loss(single);
  c.fit(single);
  CHECK(c.validation_loss(single) < 0.8 * before);
  CHECK(c.model_header().at("model") == "torsion-pair-torque");
  CHECK(c.model_header().at("sigma_min") == train::exact(0.0314));
  // The library writes what sampling the model again needs: its rotatable-bond rule.
  CHECK(c.model_header().at("rotatable_rule") == "stereo-safe");
}

TEST_CASE("torsion trainer: a model file says its rule and sampling schedule - one model has one rule",
          "[torsion][train]") {
  auto data = torsion_toy_set(4);
  train::trainer_options o;
  o.batch_molecules = 4;
  o.micro_batch = 2;
  o.epochs = 1;
  const torsion_network_config cfg{.hidden = 8, .layers = 1};
  using trainer = train::dsm_trainer<torsion_score_network<float>, log_uniform_schedule, no_perturbation>;
  trainer t(torsion_score_network<float>(cfg), log_uniform_schedule(2.0, 0.05), no_perturbation{}, o);
  t.fit(data);
  const auto path = (std::filesystem::temp_directory_path() / "confsgm_rule_test.bin").string();
  t.save_weights(path);
  const auto f = train::load_model_file<torsion_score_network<float>>(path);
  CHECK(f.rotatable_rule() == rotatable_rule::stereo_safe);
  const auto sched = f.sampling_schedule(10);
  CHECK(sched.size() == 10);
  CHECK(sched.sigma(0) == Approx(2.0));
  CHECK(f.trained_schedule().sigma(0) == Approx(2.0));
  std::filesystem::remove(path);
  // A set whose conformers were described under two rules cannot make one model.
  data.conformer_structures[1][0].rule = rotatable_rule::reference;
  trainer mixed(torsion_score_network<float>(cfg), log_uniform_schedule(), no_perturbation{}, o);
  CHECK_THROWS_WITH(mixed.fit(data), Catch::Contains("mixes rotatable_rule 'stereo-safe' and 'reference'") &&
                                         Catch::Contains("mol1"));
  CHECK(parse_rotatable_rule(to_string(rotatable_rule::reference)) == rotatable_rule::reference);
  CHECK_THROWS_AS(parse_rotatable_rule("loose"), invalid_argument);
}

TEST_CASE("torsion space composes with the discrete geometric schedule of Algorithm 1 as well", "[torsion][train]") {
  const auto data = torsion_toy_set(4);
  train::trainer_options o;
  o.batch_molecules = 4;
  o.micro_batch = 2;
  o.epochs = 2;
  const torsion_network_config cfg{.hidden = 8, .layers = 1};
  const geometric_schedule levels(3.14, 0.0314, 20);
  train::dsm_trainer<torsion_score_network<float>, geometric_schedule, input_perturbation> t(
      torsion_score_network<float>(cfg), levels, input_perturbation(0.1), o);
  t.fit(data);
  CHECK(t.step() == 2);
  CHECK(std::isfinite(t.validation_loss(data)));
  CHECK(t.model_header().count("sigma_min") == 0);  // discrete levels are stored as the list
  // The torus samplers walk any NoiseSchedule; without diffusion() the SDE uses the variance drop.
  const sample::network_torsion_score<torsion_score_network<float>> score(t.network(), t.parameters());
  std::vector<const torsion_structure*> samples(3, &data.structures[0]);
  const auto r = sample::sample_torsions<float>(score, levels, samples);
  CHECK(r.diverged == 0);
  CHECK(r.network_evaluations == 3 * 20);
  CHECK(sample::sde_variance_step(levels, 19) == Approx(0.0314 * 0.0314));
}

TEST_CASE("Epsilon Scaling: lambda = k t + b divides the drift, and k = 0, b = 1 is the unscaled sampler bit for bit",
          "[torsion][sampler][compensation]") {
  const log_uniform_schedule sch(3.14, 0.0314, 20);
  const sample::reverse_sde sde{1.0};
  const sample::epsilon_scaled<sample::reverse_sde> scaled{sde, {0.0025, 1.01}};
  for (std::size_t level = 0; level < 20; ++level) {
    const auto plain = sde.at(sch, level), c = scaled.at(sch, level);
    CHECK(c.drift == plain.drift / (0.0025 * double(20 - level) + 1.01));  // t = 20 at sigma_max, 1 at sigma_min
    CHECK(c.noise == plain.noise);
    CHECK(c.steps == plain.steps);
  }
  CHECK_THROWS_WITH((sample::epsilon_scaled<sample::reverse_sde>{sde, {-0.1, 1.0}}.at(sch, 0)),
                    Catch::Contains("lambda = k t + b must be > 0"));
  CHECK_FALSE(sample::epsilon_scaling{}.active());

  const auto s = butanol_structure();
  const analytic_torsion_score model{{1.0, -2.5, 3.0, 0.0}, 0.3};
  const std::size_t n = 1500;
  std::vector<const torsion_structure*> samples(n, &s);
  sample::torus_sampler_options o;
  o.seed = 11;
  const log_uniform_schedule fine(3.14, 0.0314, 200);
  const auto spread = [&](const sample::torus_result& r) {
    double v = 0;
    for (const auto& th : r.torsions)
      for (std::size_t t = 0; t < 4; ++t) v += torus::wrap(th[t] - model.mu[t]) * torus::wrap(th[t] - model.mu[t]);
    return v / double(4 * n);
  };
  for (const auto method : {sample::torus_method::reverse_sde, sample::torus_method::probability_flow_ode,
                            sample::torus_method::annealed_langevin}) {
    INFO(sample::to_string(method));
    o.method = method;
    o.scaling = {};
    const auto none = sample::sample_torsions<double>(model, fine, samples, o);
    o.scaling = {0.0, 1.0};  // explicitly the identity
    CHECK(sample::sample_torsions<double>(model, fine, samples, o).torsions == none.torsions);
    // With the exact score the unscaled sampler is right (previous test); a scaled one under-corrects and leaves
    // the samples wider than tau^2 = 0.09.
    o.scaling = {0.0, 1.25};
    const auto wide = sample::sample_torsions<double>(model, fine, samples, o);
    CHECK(spread(wide) > spread(none) + 0.01);
  }
}

namespace {
/// An update rule without a predictor: a level holds only what a corrector adds.
struct no_predictor {
  static std::string name() { return "none"; }
  template <class Schedule>
  sample::level_coefficients at(const Schedule&, std::size_t) const { return {0, 0.0, 0.0}; }
};

/// Draws n samples of 4 torsions from WN(mu_t, width^2) with a fixed seed.
std::vector<std::vector<double>> wrapped_normal_draws(const std::vector<double>& mu, double width, std::size_t n,
                                                      std::uint64_t seed) {
  std::vector<std::vector<double>> x(n, std::vector<double>(mu.size()));
  for (std::size_t c = 0; c < n; ++c) {
    const random::stream z(seed, random::purpose::user, static_cast<std::uint32_t>(c));
    for (std::size_t t = 0; t < mu.size(); ++t)
      x[c][t] = torus::wrap(mu[t] + width * z.normal(static_cast<std::uint32_t>(t)));
  }
  return x;
}

/// The circular moments E[cos(x - mu)] and E[cos 2(x - mu)] over samples and torsions.
std::pair<double, double> circular_moments(const std::vector<std::vector<double>>& x, const std::vector<double>& mu) {
  double c1 = 0, c2 = 0;
  for (const auto& th : x)
    for (std::size_t t = 0; t < mu.size(); ++t) c1 += std::cos(th[t] - mu[t]), c2 += std::cos(2 * (th[t] - mu[t]));
  const double m = double(x.size() * mu.size());
  return {c1 / m, c2 / m};
}
}  // namespace

TEST_CASE("Langevin corrector: with the exact score it leaves p_sigma unchanged, pulls a too-wide ensemble back, "
          "and none is bit-identical",
          "[torsion][sampler][compensation]") {
  const log_uniform_schedule sch(3.14, 0.0314, 20);
  // Coefficients: alpha = r sigma^2 before the predictor, noise scaled like the predictor's, Epsilon Scaling on both.
  const sample::with_corrector<sample::reverse_sde> pc{{1.0}, {3, 0.05}, 1.0};
  const auto c = pc.at(sch, 5), plain = sample::reverse_sde{1.0}.at(sch, 5);
  CHECK(c.steps == 1);
  CHECK(c.drift == plain.drift);
  CHECK(c.noise == plain.noise);
  CHECK(c.corrector_steps == 3);
  CHECK(c.corrector_drift == 0.05 * sch.sigma(5) * sch.sigma(5));
  CHECK(c.corrector_noise == std::sqrt(2 * c.corrector_drift));
  CHECK(c.total_steps() == 4);
  CHECK(c.update(0).key == 1);  // correctors take the keys after the predictor's
  CHECK(c.update(3).key == 0);  // the predictor keeps its key
  CHECK(c.update(3).drift == plain.drift);
  const sample::epsilon_scaled<sample::with_corrector<sample::reverse_sde>> scaled{pc, {0.0, 1.25}};
  CHECK(scaled.at(sch, 5).corrector_drift == c.corrector_drift / 1.25);
  CHECK_THROWS_WITH((sample::langevin_corrector{2, -1.0}.check()), Catch::Contains("step_size"));

  const auto s = butanol_structure();
  const analytic_torsion_score model{{1.0, -2.5, 3.0, 0.0}, 0.3};
  const std::size_t n = 2000;
  std::vector<const torsion_structure*> samples(n, &s);
  // No corrector: the same samples as the plain sampler, bit for bit.
  sample::torus_sampler_options o;
  o.seed = 3;
  const auto none = sample::sample_torsions<double>(model, sch, samples, o);
  o.corrector = {0, 0.3};
  CHECK(sample::sample_torsions<double>(model, sch, samples, o).torsions == none.torsions);

  // Correctors alone at one level, sigma = 0.5: the target is p_sigma = WN(mu, 0.3^2 + 0.5^2).
  const geometric_schedule one(2.0, 0.5, 3);
  const double width = std::sqrt(0.09 + 0.25);
  const double c1 = std::exp(-0.5 * width * width), c2 = std::exp(-2 * width * width);
  sample::sampler_options so;
  so.first_level = 2;
  so.seed = 9;
  const auto run = [&](const std::vector<std::vector<double>>& start, double noise_scale) {
    const sample::with_corrector<no_predictor> corrector_only{{}, {300, 0.05}, noise_scale};
    return sample::annealed_sample<double>(model, one, sample::torus_dynamics{}, corrector_only, samples, so, nullptr,
                                           &start);
  };
  const double se = 1.0 / std::sqrt(double(4 * n));  // |cos| <= 1
  {
    INFO("started on p_sigma: stays there");
    const auto start = wrapped_normal_draws(model.mu, width, n, 21);
    const auto r = run(start, 1.0);
    REQUIRE(r.diverged == 0);
    CHECK(r.network_evaluations == double(300 * n));
    CHECK(r.states != start);  // the chains moved
    const auto [m1, m2] = circular_moments(r.states, model.mu);
    CHECK(std::abs(m1 - c1) < 4 * se + 0.01);
    CHECK(std::abs(m2 - c2) < 4 * se + 0.01);
    // Without its noise the corrector is a gradient ascent: the ensemble collapses onto the modes.
    const auto [d1, d2] = circular_moments(run(start, 0.0).states, model.mu);
    CHECK(d1 > c1 + 0.1);
    (void)d2;
  }
  {
    INFO("started twice as wide (an exposure-biased ensemble): pulled back to p_sigma");
    const auto start = wrapped_normal_draws(model.mu, 2 * width, n, 22);
    const auto [w1, w2] = circular_moments(start, model.mu);
    REQUIRE(w1 < c1 - 0.2);
    const auto [m1, m2] = circular_moments(run(start, 1.0).states, model.mu);
    CHECK(std::abs(m1 - c1) < 4 * se + 0.01);
    CHECK(std::abs(m2 - c2) < 4 * se + 0.01);
    (void)w2;
  }
}

TEST_CASE("sigma-shift: the network level follows the sample's estimated noise within the window - window 0 is "
          "bit-identical",
          "[torsion][sampler][compensation]") {
  const log_uniform_schedule sch(3.14, 0.0314, 20);
  sample::sigma_shift shift{3, 0.1};
  CHECK(shift.network_level(sch, 10, 1.0) == 10);
  // A sample twice as noisy as scheduled: ln 2 / (ln 100 / 19) = 2.86 levels towards sigma_max, within the window.
  CHECK(shift.network_level(sch, 10, 2.0) == 7);
  CHECK(shift.network_level(sch, 10, 0.5) == 13);
  CHECK(shift.network_level(sch, 10, 100.0) == 7);  // the window bounds the shift
  CHECK(shift.network_level(sch, 1, 100.0) == 0);   // and so does the schedule
  CHECK(shift.network_level(sch, 19, 1e-3) == 19);  // below the cutoff (sigma_19 = 0.0314 < 0.1): no shift
  CHECK(sample::sigma_shift{0, 0.1}.network_level(sch, 10, 2.0) == 10);
  CHECK_THROWS_WITH((sample::sigma_shift{2, -1.0}.check()), Catch::Contains("cutoff"));
  // The estimate: Gaussian noise of width 0.2 scored at sigma = 0.1 reads a ratio of about 2.
  {
    const std::size_t dim = 4000;
    const random::stream z(4, random::purpose::user, 0);
    double sq = 0;
    for (std::size_t k = 0; k < dim; ++k) {
      const double disp = 0.2 * z.normal(static_cast<std::uint32_t>(k));
      sq += (disp / 0.01) * (disp / 0.01);  // the kernel score -disp / sigma^2 at sigma = 0.1
    }
    CHECK(sample::sigma_shift::noise_ratio(0.1, 0.1, sq, double(dim) / 0.01) == Approx(2.0).epsilon(0.05));
    CHECK(sample::sigma_shift::noise_ratio(0.1, 0.1, 0.0, 1.0) == 1.0);  // undefined: on schedule
  }

  const auto s = butanol_structure();
  const analytic_torsion_score exact{{1.0, -2.5, 3.0, 0.0}, 0.3};
  const std::size_t n = 200;
  std::vector<const torsion_structure*> samples(n, &s);
  sample::torus_sampler_options o;
  o.seed = 5;
  const auto none = sample::sample_torsions<double>(exact, sch, samples, o);
  o.shift = {0, 0.5};
  const auto zero = sample::sample_torsions<double>(exact, sch, samples, o);
  CHECK(zero.torsions == none.torsions);
  CHECK(zero.shifted_evaluations == 0);

  // The sigmas the network sees: starting at sigma ~ 1 from the uniform prior (far noisier than scheduled), the
  // next level is scored at a larger sigma than scheduled.
  std::size_t first = 0;
  while (sch.sigma(first) > 1.0) ++first;
  std::vector<double> seen;  // the largest sigma of each call
  const auto recording = [&](const auto& b, const std::vector<double>& theta, const std::vector<double>& sigma,
                             std::vector<double>& out) {
    seen.push_back(*std::max_element(sigma.begin(), sigma.end()));
    exact(b, theta, sigma, out);
  };
  sample::sampler_options so;
  so.first_level = first;
  so.chunk = n;
  so.threads = 1;
  so.shift = {3, 0.2};
  const sample::reverse_sde sde{1.0};
  const auto uniform = wrapped_normal_draws(exact.mu, 100.0, n, 6);
  const auto r = sample::annealed_sample<double>(recording, sch, sample::torus_dynamics{}, sde, samples, so, nullptr,
                                                 &uniform);
  REQUIRE(seen.size() >= 2);
  CHECK(seen[0] == sch.sigma(first));
  CHECK(seen[1] > sch.sigma(first + 1));
  CHECK(r.shifted_evaluations > 0);
  CHECK(r.diverged == 0);
  // On the exact sampler's own path, where the state is on schedule, the shift rarely moves the level at
  // sigma >= 1, where the kernel dominates (tau = 0.3): less than a tenth of the evaluations there (all n
  // samples in one batch pool their estimate).
  seen.clear();
  so.first_level = 0;
  so.shift = {3, 1.0};
  const auto on_path = sample::annealed_sample<double>(recording, sch, sample::torus_dynamics{}, sde, samples, so);
  std::size_t levels_above = 0;
  while (levels_above < sch.size() && sch.sigma(levels_above) >= 1.0) ++levels_above;
  CHECK(on_path.shifted_evaluations < 0.1 * double(n * levels_above));
}

TEST_CASE("sigma-shift's pooled estimate: one per structure key and network level, in member order, dead members "
          "left out",
          "[torsion][sampler][compensation]") {
  const log_uniform_schedule sch(3.14, 0.0314, 20);
  // Four members: 0 and 2 share key 'a' and level 5, 1 has key 'a' at level 6, 3 key 'b' at level 5.
  const std::vector<char> pool = {'a', 'a', 'a', 'b'};
  const std::vector<std::size_t> level = {5, 6, 5, 5};
  const std::vector<std::size_t> offset = {0, 2, 3, 5, 6};
  const std::vector<float> score = {1, 2, 3, 4, 5, 6};
  const std::vector<double> expected = {2.0, 1.0, 3.0, 4.0};
  const auto r = sample::pooled_noise_ratios(sch, 5, pool, level, offset, score.data(), expected);
  REQUIRE(r.size() == 4);
  const double pooled = sample::sigma_shift::noise_ratio(sch.sigma(5), sch.sigma(5), 1 + 4 + 16 + 25, 2.0 + 3.0);
  CHECK(r[0] == pooled);
  CHECK(r[2] == pooled);
  CHECK(r[1] == sample::sigma_shift::noise_ratio(sch.sigma(6), sch.sigma(5), 9, 1.0));
  CHECK(r[3] == sample::sigma_shift::noise_ratio(sch.sigma(5), sch.sigma(5), 36, 4.0));
  // A dead member takes no part: member 2 alone remains in its pool; the dead one reads 1 (on schedule).
  const std::vector<char> alive = {0, 1, 1, 1};
  const auto d = sample::pooled_noise_ratios(sch, 5, pool, level, offset, score.data(), expected, &alive);
  CHECK(d[0] == 1.0);
  CHECK(d[2] == sample::sigma_shift::noise_ratio(sch.sigma(5), sch.sigma(5), 16 + 25, 3.0));
  CHECK(d[1] == r[1]);
  CHECK_THROWS_AS(sample::pooled_noise_ratios(sch, 5, pool, level, std::vector<std::size_t>{0, 2}, score.data(),
                                              expected),
                  shape_mismatch);
}

TEST_CASE("compensation request: parts given stay, parts left open take the recommendation", "[compensation]") {
  sample::sampling_compensation recommended;
  recommended.shift = {4, 0.0};
  recommended.corrector = {1, 0.2};
  sample::compensation_request open;
  CHECK_FALSE(open.complete());
  const auto followed = open.resolve(recommended);
  CHECK(followed.shift.window == 4);
  CHECK(followed.corrector.steps == 1);
  CHECK_FALSE(open.resolve().active());  // nothing recommended: none
  sample::compensation_request no_shift;
  no_shift.shift = sample::sigma_shift{};  // "--sigma-shift-window 0": none, whatever the model says
  const auto partly = no_shift.resolve(recommended);
  CHECK_FALSE(partly.shift.active());
  CHECK(partly.corrector.steps == 1);
  const auto fixed = sample::compensation_request::exactly(sample::epsilon_scaling{0.0, 1.01});
  CHECK(fixed.complete());
  const auto as_given = fixed.resolve(recommended);
  CHECK(as_given.scaling.b == 1.01);
  CHECK_FALSE(as_given.shift.active());
  CHECK_FALSE(as_given.corrector.active());
}

TEST_CASE("particle guidance: symmetric views of the dihedrals - methyl hydrogens and a reversed chain",
          "[torsion][compensation][guidance]") {
  const auto s = butanol_structure();
  const auto views = sample::torsion_views::of(s);
  REQUIRE(views.size() > 1);  // the methyl hydrogens: turning a methyl by one hydrogen is the same conformer
  for (std::size_t t = 0; t < s.torsions.size(); ++t) {
    CHECK(views.image[0][t] == t);
    CHECK(views.offset[0][t] == 0.0);
  }
  for (std::size_t v = 0; v < views.size(); ++v)  // butanol has no symmetry that moves a rotatable bond
    for (std::size_t t = 0; t < s.torsions.size(); ++t) CHECK(views.image[v][t] == t);
  CHECK(sample::torsion_views::of(s, 1).size() == 1);
  // Pentane's carbon chain read backwards is the same chain: its two torsions swap.
  const auto pentane = test_support::carbon_graph(5, {{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  std::mt19937_64 rng(3);
  const auto p = torsion_space::describe(pentane, test_support::random_points(5, rng, 1.6));
  REQUIRE(p.torsions.size() == 2);
  const auto pv = sample::torsion_views::of(p);
  REQUIRE(pv.size() == 2);
  CHECK(pv.image[1] == std::vector<std::uint32_t>{1, 0});
  for (const double o : pv.offset[1]) CHECK(torus::wrap(o) == Approx(0.0).margin(1e-9));
  // A conformer and its mirror-labelled twin are at distance 0 under the symmetry-aware distance.
  std::vector<double> d;
  CHECK(sample::closest_difference({0.3, -1.1}, {-1.1, 0.3}, pv, d) == Approx(0.0).margin(1e-12));
  CHECK(sample::closest_difference({0.3, -1.1}, {-1.1, 0.3}, sample::torsion_views::identity(2), d) > 1.0);
}

TEST_CASE("particle guidance: the repulsion is minus the gradient of the kernel potential (finite differences)",
          "[torsion][compensation][guidance]") {
  const auto s = butanol_structure();
  const auto views = sample::torsion_views::of(s);
  const std::size_t n = 5, T = s.torsions.size();
  const random::stream z(8, random::purpose::user, 0);
  std::vector<std::vector<double>> theta(n, std::vector<double>(T));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t t = 0; t < T; ++t) theta[i][t] = 2.0 * z.uniform(static_cast<std::uint32_t>(i * T + t)) - 1.0;
  for (const bool invariant : {true, false}) {
    INFO("symmetry-aware: " << invariant);
    const auto w = invariant ? views : sample::torsion_views::identity(T);
    for (const double h : {0.5, 4.0}) {
      std::vector<const std::vector<double>*> particles;
      std::vector<const sample::torsion_views*> vs;
      for (auto& x : theta) particles.push_back(&x), vs.push_back(&w);
      std::vector<std::vector<double>> rep;
      sample::repulsion(particles, vs, h, rep);
      double largest = 0;
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t t = 0; t < T; ++t) {
          const double eps = 1e-6, keep = theta[i][t];
          theta[i][t] = keep + eps;
          const double up = sample::kernel_potential(i, particles, vs, h);
          theta[i][t] = keep - eps;
          const double down = sample::kernel_potential(i, particles, vs, h);
          theta[i][t] = keep;
          CHECK(rep[i][t] == Approx(-(up - down) / (2 * eps)).margin(1e-7));
          largest = std::max(largest, std::abs(rep[i][t]));
        }
      CHECK(largest > 1e-3);  // the check is not vacuous
    }
  }
}

TEST_CASE("particle guidance: off is bit-identical to independent sampling - on, it spreads a molecule's conformers",
          "[torsion][sampler][compensation][guidance]") {
  const auto s = butanol_structure();
  const analytic_torsion_score exact{{1.0, -2.5, 3.0, 0.0}, 0.3};
  const log_uniform_schedule sch(3.14, 0.0314, 20);
  const std::size_t n = 32;
  std::vector<const torsion_structure*> samples(n, &s);
  sample::torus_sampler_options o;
  o.seed = 9;
  o.chunk = n;  // the particles are one network batch
  const auto plain = sample::sample_torsions<double>(exact, sch, samples, o);
  o.guidance = sample::particle_guidance{};  // not enabled
  CHECK(sample::sample_torsions<double>(exact, sch, samples, o).torsions == plain.torsions);
  // The score as it is (w = 0 would not enter; w small, lw = 1 keeps the SDE) plus a strong repulsion, plain
  // distance: the conformers end further apart than independent ones.
  o.guidance.enabled = true;
  o.guidance.invariant = false;
  o.guidance.weight = {-3.0, -3.0};
  o.guidance.repulsive_weight = {5.0, 5.0};  // w r = 100: the repulsion as large as the score
  o.guidance.kernel_size = {0.0, 0.0};
  o.guidance.langevin_weight = {0.0, 0.0};
  const auto guided = sample::sample_torsions<double>(exact, sch, samples, o);
  CHECK(guided.diverged == 0);
  const auto spread = [&](const std::vector<std::vector<double>>& x) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < i; ++j)
        for (std::size_t t = 0; t < x[i].size(); ++t) sum += std::pow(torus::wrap(x[i][t] - x[j][t]), 2);
    return sum / double(n * (n - 1) / 2);
  };
  INFO("spread guided " << spread(guided.torsions) << ", independent " << spread(plain.torsions));
  CHECK(spread(guided.torsions) > 1.2 * spread(plain.torsions));
  o.threads = 1;  // one batch: the same for any thread count
  CHECK(sample::sample_torsions<double>(exact, sch, samples, o).torsions == guided.torsions);
  o.method = sample::torus_method::probability_flow_ode;
  CHECK_THROWS_WITH(sample::sample_torsions<double>(exact, sch, samples, o), Catch::Contains("reverse SDE"));
}

TEST_CASE("Epsilon Scaling calibrated from data: with the exact score and fine steps lambda is 1, coarse steps and "
          "a wrong model read above 1, any thread count",
          "[torsion][compensation]") {
  const auto s = butanol_structure();
  const analytic_torsion_score exact{{1.0, -2.5, 3.0, 0.0}, 0.3};
  const auto clean = wrapped_normal_draws(exact.mu, exact.tau, 1200, 31);  // references from the data distribution
  std::vector<eval::torsion_sample> refs;
  for (const auto& x : clean) refs.push_back({&s, x});
  sample::torus_sampler_options o;
  o.seed = 3;
  // With 200 levels the exact sampler's states are distributed as the perturbed references: the same score
  // norm at each level (within the sampling error of 1,200 conformers), and the fit is the identity.
  const log_uniform_schedule fine(3.14, 0.0314, 200);
  const auto c = eval::calibrate_epsilon_scaling<double>(exact, fine, refs, o);
  REQUIRE(c.lambda.size() == fine.size());
  for (std::size_t l = 0; l < fine.size(); ++l) {
    INFO("level " << l << ", sigma " << c.sigma[l]);
    CHECK(c.lambda[l] == Approx(1.0).margin(0.08));
    CHECK(c.kernel_square[l] > 0);
  }
  CHECK(std::abs(c.fit.k) < 0.001);
  CHECK(c.fit.b == Approx(1.0).margin(0.03));
  // With 20 levels the same exact score leaves the states too wide at the middle levels (the discretisation's
  // own exposure bias): lambda reads above 1 there.
  const log_uniform_schedule coarse(3.14, 0.0314, 20);
  const auto k20 = eval::calibrate_epsilon_scaling<double>(exact, coarse, refs, o);
  CHECK(*std::max_element(k20.lambda.begin(), k20.lambda.end()) > 1.1);
  // A model twice as wide as the data samples states twice as spread as the references at small sigma.
  const analytic_torsion_score wide{exact.mu, 0.6};
  CHECK(eval::calibrate_epsilon_scaling<double>(wide, coarse, refs, o).lambda.back() > 1.5);
  o.threads = 1;
  CHECK(eval::calibrate_epsilon_scaling<double>(exact, coarse, refs, o).lambda == k20.lambda);  // fixed-point sums
  CHECK_THROWS_AS(eval::calibrate_epsilon_scaling<double>(exact, coarse, {}, o), invalid_argument);
}
