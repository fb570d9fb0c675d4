// Distance-space SGM: random streams, schedules, perturbation policies,
// finite-difference checks of every layer and of the whole DSM loss, the
// chain rule, equivariance, the Langevin sampler against an analytic score,
// determinism across threads, exact resume and checkpoint integrity.
#include <catch2/catch.hpp>

#include <confsgm/model/distance_score_network.hpp>
#include <confsgm/sample/langevin.hpp>
#include <confsgm/model/torsion_score_network.hpp>
#include <confsgm/train/model_file.hpp>
#include <confsgm/train/data_parallel.hpp>
#include <confsgm/train/trainer.hpp>

#include "support.hpp"

#include <barrier>
#include <filesystem>
#include <thread>
#include <fstream>

using namespace confsgm;
using namespace confsgm::model;
using dmat = row_matrix<double>;

namespace {

dmat random_matrix(Eigen::Index r, Eigen::Index c, std::uint32_t key) {
  const random::stream s(99, random::purpose::user, key);
  dmat m(r, c);
  for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = s.normal(static_cast<std::uint32_t>(k));
  return m;
}

using test_support::numeric_gradient;
using test_support::relative_error;

double weighted_sum(const dmat& y, const dmat& w) { return y.cwiseProduct(w).sum(); }

molecule_graph butanol() { return test_support::butanol_graph(); }

coordinates<double> spread_points(std::size_t n, std::uint32_t key) {
  std::mt19937_64 rng(key);
  return test_support::random_points(n, rng, 1.5);
}

}  // namespace

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors", "[model][random]") {
  using random::philox4x32_10;
  CHECK(philox4x32_10({0, 0, 0, 0}, 0, 0) == random::counter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, 0xffffffffu, 0xffffffffu) ==
        random::counter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, 0xa4093822u, 0x299f31d0u) ==
        random::counter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("random streams: normal moments, independence of purposes, addressable draws", "[model][random]") {
  const random::stream s(7, random::purpose::noise, 3, 4);
  double m = 0, v = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = s.normal(static_cast<std::uint32_t>(i));
    m += x;
    v += x * x;
  }
  m /= n;
  v = v / n - m * m;
  CHECK(std::abs(m) < 5.0 / std::sqrt(double(n)));
  CHECK(std::abs(v - 1.0) < 5.0 * std::sqrt(2.0 / n));
  const random::stream other(7, random::purpose::perturbation, 3, 4);
  CHECK(s.normal(0) != other.normal(0));
  CHECK(s.normal(12345) == random::stream(7, random::purpose::noise, 3, 4).normal(12345));
  for (std::uint32_t i = 0; i < 1000; ++i) CHECK(s.below(i, 7) < 7);
}

TEST_CASE("geometric schedule: ConfGF's 50 levels from 10 to 0.01 - bad schedules are refused", "[model]") {
  const geometric_schedule g;
  REQUIRE(g.size() == 50);
  CHECK(g.sigma(0) == Approx(10.0));
  CHECK(g.sigma(1) == Approx(8.68511).epsilon(1e-5));
  CHECK(g.sigma(49) == Approx(0.01));
  CHECK_THROWS_AS(geometric_schedule(0.01, 10.0, 50), invalid_argument);
  CHECK_THROWS_AS(custom_schedule({1.0, 1.0}), invalid_argument);
  CHECK_THROWS_AS(custom_schedule({1.0, -0.5}), invalid_argument);
  CHECK(custom_schedule({2.0, 1.0, 0.5}).sigma(2) == 0.5);
}

TEST_CASE("perturbation policies: IP(0) is bit-identical to none - IP moves the input, not the target", "[model]") {
  std::vector<double> clean = {1.1, 1.5, 2.4, 2.5, 3.0};
  const geometric_schedule sch;
  const auto a = train::make_dsm_sample<distance_space>(clean, sch, no_perturbation{}, 5, 17, 3);
  const auto b = train::make_dsm_sample<distance_space>(clean, sch, input_perturbation{0.0}, 5, 17, 3);
  const auto c = train::make_dsm_sample<distance_space>(clean, sch, input_perturbation{0.3}, 5, 17, 3);
  const auto w = train::make_dsm_sample<distance_space>(clean, sch, absolute_perturbation{0.3}, 5, 17, 3);
  CHECK(a.level == b.level);
  CHECK(a.input == b.input);    // exact equality, not approximate
  CHECK(a.target == b.target);
  CHECK(c.level == a.level);
  CHECK(c.target == a.target);  // Eq. 4 / Alg. 3: target from eps alone
  CHECK(c.input != a.input);
  CHECK(w.input != a.input);
  // TD-IP code: target from the total displacement.
  for (std::size_t k = 0; k < clean.size(); ++k)
    CHECK(w.target[k] == Approx(-(w.input[k] - clean[k]) / (w.sigma * w.sigma)));
  CHECK_THROWS_AS(input_perturbation(-0.1), invalid_argument);
}

TEST_CASE("finite differences: linear, MLP with ReLU, embedding", "[model][fd]") {
  parameter_layout L;
  linear<double> lin(L, "lin", 5, 4);
  mlp<double> net(L, "mlp", {4, 7, 6, 3}, true);
  embedding<double> emb(L, "emb", 10, 3);
  parameter_vector<double> p(L.size());
  lin.init(L, p, 1);
  net.init(L, p, 1);
  emb.init(L, p, 1);
  for (auto& x : p) x += 0.01;  // non-zero biases
  dmat x = random_matrix(6, 5, 1);
  const dmat w = random_matrix(6, 3, 2);
  const std::vector<std::uint32_t> idx = {3, 1, 3, 9, 0, 3};
  const dmat we = random_matrix(6, 3, 3);
  auto loss = [&] {
    dmat y;
    lin.forward(L, p, x, y);
    mlp<double>::cache c;
    net.forward(L, p, y, c);
    dmat e;
    emb.forward(L, p, idx, e);
    return weighted_sum(net.output(c), w) + weighted_sum(e, we);
  };
  // Analytic.
  parameter_vector<double> g(L.size(), 0.0);
  dmat y, dx, dy;
  lin.forward(L, p, x, y);
  mlp<double>::cache c;
  net.forward(L, p, y, c);
  net.backward(L, p, c, w, &dy, g);
  lin.backward(L, p, x, dy, &dx, g);
  emb.backward(L, idx, we, g);
  const auto num = numeric_gradient(p, loss);
  CHECK(relative_error(g, num) < 1e-6);
  std::vector<double> xv(x.data(), x.data() + x.size());
  auto loss_x = [&] {
    x = Eigen::Map<dmat>(xv.data(), 6, 5);
    return loss();
  };
  const auto numx = numeric_gradient(xv, loss_x);
  x = Eigen::Map<dmat>(xv.data(), 6, 5);
  CHECK(relative_error(std::vector<double>(dx.data(), dx.data() + dx.size()), numx) < 1e-6);
  CHECK_THROWS_AS(lin.forward(L, p, random_matrix(2, 3, 4), y), shape_mismatch);
  CHECK_THROWS_AS(emb.forward(L, p, {10}, y), invalid_argument);
}

TEST_CASE("finite differences: GINE convolution (parameters, node and edge inputs)", "[model][fd]") {
  parameter_layout L;
  gine_conv<double> conv(L, "conv", 4, true);
  parameter_vector<double> p(L.size());
  conv.init(L, p, 3);
  edge_list g{{0, 0, 1, 2}, {1, 2, 3, 3}};
  std::vector<double> hv(4 * 4), ev(4 * 4);
  {
    const dmat h = random_matrix(4, 4, 5), e = random_matrix(4, 4, 6);
    std::copy(h.data(), h.data() + 16, hv.begin());
    std::copy(e.data(), e.data() + 16, ev.begin());
  }
  const dmat w = random_matrix(4, 4, 7);
  auto loss = [&] {
    gine_conv<double>::cache c;
    dmat out;
    conv.forward(L, p, g, Eigen::Map<dmat>(hv.data(), 4, 4), Eigen::Map<dmat>(ev.data(), 4, 4), c, out);
    return weighted_sum(out, w);
  };
  gine_conv<double>::cache c;
  dmat out, dh, de;
  conv.forward(L, p, g, Eigen::Map<dmat>(hv.data(), 4, 4), Eigen::Map<dmat>(ev.data(), 4, 4), c, out);
  parameter_vector<double> gp(L.size(), 0.0);
  conv.backward(L, p, g, c, w, dh, de, gp);
  CHECK(relative_error(gp, numeric_gradient(p, loss)) < 1e-6);
  CHECK(relative_error(std::vector<double>(dh.data(), dh.data() + 16), numeric_gradient(hv, loss)) < 1e-6);
  CHECK(relative_error(std::vector<double>(de.data(), de.data() + 16), numeric_gradient(ev, loss)) < 1e-6);
}

TEST_CASE("finite differences: whole score network and the DSM loss, in double", "[model][fd]") {
  const distance_network_config cfg{.hidden = 6, .layers = 2};
  distance_score_network<double> net(cfg);
  auto p = net.initial_parameters(11);
  // Give the zero-initialised output layer values: at zero it blocks every other gradient.
  for (const auto& blk : net.layout().blocks())
    if (blk.name == "edge_head.2.weight") {
      const random::stream jitter(12, random::purpose::user);
      for (std::size_t k = 0; k < blk.size(); ++k) p[blk.offset + k] = 0.5 * jitter.normal(static_cast<std::uint32_t>(k));
    }
  const auto s = distance_space::describe(butanol());
  graph_batch b;
  b.add(s);
  b.add(s);
  const auto x0 = spread_points(s.n_atoms, 1), x1 = spread_points(s.n_atoms, 2);
  std::vector<double> d(2 * s.edges.size()), sigma(d.size());
  distance_space::distances(s, x0, d.data());
  distance_space::distances(s, x1, d.data() + s.edges.size());
  for (std::size_t k = 0; k < sigma.size(); ++k) sigma[k] = k < s.edges.size() ? 0.7 : 2.5;
  const auto target = [&] {
    std::vector<double> t(d.size());
    const random::stream st(3, random::purpose::user);
    for (std::size_t k = 0; k < t.size(); ++k) t[k] = st.normal(static_cast<std::uint32_t>(k));
    return t;
  }();
  // The DSM loss of the batch as the objective (weight 1/2 per molecule).
  auto loss = [&](std::vector<double>* dscore) {
    distance_score_network<double>::cache c;
    std::vector<double> score;
    net.forward(p, b, d, sigma, c, score);
    if (dscore) dscore->resize(score.size());
    double l = 0;
    for (std::size_t g = 0; g < 2; ++g) {
      const auto lo = b.edge_offset[g], hi = b.edge_offset[g + 1];
      l += train::dsm_loss(score.data() + lo, target.data() + lo, hi - lo, double(sigma[lo]) * double(sigma[lo]), 0.5,
                           dscore ? dscore->data() + lo : nullptr);
    }
    return l;
  };
  std::vector<double> dscore, dd;
  parameter_vector<double> grad(p.size(), 0.0);
  loss(&dscore);
  distance_score_network<double>::cache c;
  std::vector<double> score;
  net.forward(p, b, d, sigma, c, score);
  net.backward(p, b, c, dscore, grad, &dd);
  const auto nump = numeric_gradient(p, [&] { return loss(nullptr); });
  CHECK(relative_error(grad, nump) < 1e-6);
  const auto numd = numeric_gradient(d, [&] { return loss(nullptr); });
  REQUIRE(dd.size() == d.size());
  CHECK(relative_error(dd, numd) < 1e-6);
  // Every block receives gradient (nothing is disconnected); embeddings only in the rows used.
  for (const auto& blk : net.layout().blocks()) {
    double sum = 0;
    for (std::size_t k = 0; k < blk.size(); ++k) sum += std::abs(grad[blk.offset + k]);
    INFO(blk.name);
    CHECK(sum > 0);
  }
}

TEST_CASE("chain rule: coordinate score is the gradient of a distance potential", "[model][fd]") {
  const auto s = distance_space::describe(butanol());
  auto x = spread_points(s.n_atoms, 3);
  // U(x) = sum_e g_e(d_e), g_e(d) = sin(a_e d) + b_e d^2; s_e = g_e'(d_e).
  std::vector<double> a(s.edges.size()), bcoef(s.edges.size());
  for (std::size_t k = 0; k < a.size(); ++k) a[k] = 0.5 + 0.1 * double(k % 7), bcoef[k] = 0.05 * double(k % 3);
  auto potential = [&](const coordinates<double>& xyz) {
    std::vector<double> d(s.edges.size());
    distance_space::distances(s, xyz, d.data());
    double u = 0;
    for (std::size_t k = 0; k < d.size(); ++k) u += std::sin(a[k] * d[k]) + bcoef[k] * d[k] * d[k];
    return u;
  };
  std::vector<double> d(s.edges.size()), ds(s.edges.size());
  distance_space::distances(s, x, d.data());
  for (std::size_t k = 0; k < d.size(); ++k) ds[k] = a[k] * std::cos(a[k] * d[k]) + 2 * bcoef[k] * d[k];
  coordinates<double> S(static_cast<Eigen::Index>(s.n_atoms), 3);
  distance_space::coordinate_score(s, x, ds.data(), S);
  std::vector<double> xv(x.data(), x.data() + x.size());
  const auto num = numeric_gradient(xv, [&] { return potential(Eigen::Map<coordinates<double>>(xv.data(), x.rows(), 3)); });
  CHECK(relative_error(std::vector<double>(S.data(), S.data() + S.size()), num) < 1e-6);
}

TEST_CASE("equivariance: rotating the input rotates the coordinate score, translation leaves it", "[model]") {
  const distance_network_config cfg{.hidden = 16, .layers = 3};
  distance_score_network<double> net(cfg);
  const auto p = net.initial_parameters(5);
  const auto s = distance_space::describe(butanol());
  const auto x = spread_points(s.n_atoms, 4);
  std::mt19937_64 rng(9);
  const Eigen::Matrix3d R = test_support::random_rotation(rng);
  const Eigen::RowVector3d t(3.0, -1.0, 7.5);
  auto coord_score = [&](const coordinates<double>& xyz) {
    graph_batch b;
    b.add(s);
    std::vector<double> d(s.edges.size()), sigma(d.size(), 0.3), score;
    distance_space::distances(s, xyz, d.data());
    distance_score_network<double>::cache c;
    net.forward(p, b, d, sigma, c, score);
    coordinates<double> S(static_cast<Eigen::Index>(s.n_atoms), 3);
    distance_space::coordinate_score(s, xyz, score.data(), S);
    return S;
  };
  const coordinates<double> S = coord_score(x);
  const coordinates<double> xr = (x * R.transpose()).rowwise() + t;
  const coordinates<double> Sr = coord_score(xr);
  CHECK((Sr - S * R.transpose()).cwiseAbs().maxCoeff() < 1e-9 * (1.0 + S.cwiseAbs().maxCoeff()));
  const coordinates<double> xt = x.rowwise() + t;
  CHECK((coord_score(xt) - S).cwiseAbs().maxCoeff() < 1e-9 * (1.0 + S.cwiseAbs().maxCoeff()));
}

namespace {
/// Score of the noised marginal of a Gaussian distance: d ~ N(mu, tau^2) blurred by sigma.
struct gaussian_pair_score {
  double mu, tau;
  void operator()(const graph_batch& b, const std::vector<double>& d, const std::vector<double>& sigma,
                  std::vector<double>& out) const {
    out.resize(b.num_edges());
    for (std::size_t k = 0; k < out.size(); ++k) out[k] = -(d[k] - mu) / (tau * tau + sigma[k] * sigma[k]);
  }
};
}  // namespace

TEST_CASE("Langevin sampler: a diatomic with a Gaussian distance score reaches the right distribution",
          "[model][sampler]") {
  // Two atoms, one pair. In 3D the stationary density of r = |x1 - x2| is
  // proportional to r^2 exp(-(r - mu)^2 / (2 v)), v = tau^2 + sigma_L^2: its
  // mean and spread are computed here by quadrature and compared with the
  // samples, with tolerances from the sample variance.
  molecule_graph g("diatomic");
  g.add_atom({.atomic_number = 6});
  g.add_atom({.atomic_number = 8});
  g.add_bond({.begin = 0, .end = 1});
  const auto s = distance_space::describe(g);
  const gaussian_pair_score score{1.4, 0.1};
  // alpha_t / v_t stays near a / sigma_L^2 = 0.1 at every level: stable, and
  // about 25 steps per relaxation time, so 400 steps per level mix.
  const custom_schedule sch({1.0, 0.5, 0.25, 0.12, 0.05});
  sample::langevin_options o;
  o.steps_per_level = 400;
  o.step_size = 2.5e-4;
  o.clip = 0;
  o.seed = 3;
  o.threads = 2;
  const std::size_t n = 3000;
  const auto r = sample::annealed_langevin<double>(score, sch, s, n, o);
  REQUIRE(r.diverged == 0);
  double m = 0, m2 = 0;
  for (std::size_t c = 0; c < n; ++c) {
    const double d = (r.conformers[c].row(0) - r.conformers[c].row(1)).norm();
    m += d;
    m2 += d * d;
  }
  m /= n;
  const double sd = std::sqrt(m2 / n - m * m);
  const double v = 0.1 * 0.1 + 0.05 * 0.05;
  double z = 0, e1 = 0, e2 = 0;
  for (double x = 0.5; x < 2.5; x += 1e-4) {
    const double w = x * x * std::exp(-(x - 1.4) * (x - 1.4) / (2 * v));
    z += w, e1 += w * x, e2 += w * x * x;
  }
  const double mean = e1 / z, stdev = std::sqrt(e2 / z - mean * mean);
  INFO("sample mean " << m << " sd " << sd << "; expected " << mean << " sd " << stdev);
  // Langevin with step alpha has O(alpha / v) bias in the variance; allow 2 % plus 5 standard errors.
  CHECK(std::abs(m - mean) < 5 * stdev / std::sqrt(double(n)) + 0.002);
  CHECK(std::abs(sd - stdev) < 5 * stdev / std::sqrt(2.0 * n) + 0.02 * stdev);
  // Same seed, one thread: identical samples.
  o.threads = 1;
  const auto r1 = sample::annealed_langevin<double>(score, sch, s, n, o);
  CHECK(std::equal(r1.conformers.data(), r1.conformers.data() + 6 * n, r.conformers.data()));
  // Zero noise: every conformer ends at the mode of the blurred density (distance mu).
  o.noise_scale = 0;
  const auto r0 = sample::annealed_langevin<double>(score, sch, s, 10, o);
  for (std::size_t c = 0; c < 10; ++c)
    CHECK((r0.conformers[c].row(0) - r0.conformers[c].row(1)).norm() == Approx(1.4).margin(1e-3));
}

TEST_CASE("Langevin sampler: divergence is reported per conformer, the others finish", "[model][sampler]") {
  molecule_graph g("diatomic");
  g.add_atom({.atomic_number = 6});
  g.add_atom({.atomic_number = 6});
  g.add_bond({.begin = 0, .end = 1});
  const auto s = distance_space::describe(g);
  // NaN score for the second conformer of each batch after a while.
  struct poisoned {
    mutable int calls = 0;
    void operator()(const graph_batch& b, const std::vector<double>& d, const std::vector<double>& sigma,
                    std::vector<double>& out) const {
      out.assign(b.num_edges(), 0.0);
      for (std::size_t k = 0; k < out.size(); ++k) out[k] = -(d[k] - 1.5) / (sigma[k] * sigma[k]);
      if (++calls > 5 && out.size() > 1) out[1] = std::nan("");
    }
  } model;
  sample::langevin_options o;
  o.steps_per_level = 10;
  o.chunk = 4;
  o.threads = 1;
  const auto r = sample::annealed_langevin<double>(model, geometric_schedule(1.0, 0.1, 5), s, 4, o);
  CHECK(r.status[0].ok());
  CHECK(r.status[1].outcome == sample::sample_outcome::diverged);
  CHECK(r.status[1].level == 0);
  CHECK_THAT(to_string(r.status[1]), Catch::StartsWith("diverged at level 0 (sigma 1.000000), step "));
  CHECK(r.diverged >= 1);
  CHECK(r.conformers.is_finite(0));
  // A finite score that blows the second conformer apart: it diverges once a coordinate passes max_coordinate.
  struct repulsive {
    void operator()(const graph_batch& b, const std::vector<double>& d, const std::vector<double>& sigma,
                    std::vector<double>& out) const {
      out.assign(b.num_edges(), 0.0);
      for (std::size_t k = 0; k < out.size(); ++k) out[k] = -(d[k] - 1.5) / (sigma[k] * sigma[k]);
      if (out.size() > 1) out[1] = 1e6 * (1.0 + d[1]);
    }
  } blow_up;
  o.clip = 0;
  const auto far = sample::annealed_langevin<double>(blow_up, geometric_schedule(1.0, 0.1, 5), s, 4, o);
  CHECK(far.status[0].ok());
  CHECK(far.status[1] == sample::sample_status::diverged_at(0, 1.0, far.status[1].step));
  CHECK(far.conformers.is_finite(1));  // frozen where it passed the bound, before any overflow
  CHECK(far.conformers[0].cwiseAbs().maxCoeff() < 10.0);
  o.max_coordinate = 0;
  CHECK_THROWS_WITH(sample::annealed_langevin<double>(blow_up, geometric_schedule(1.0, 0.1, 5), s, 4, o),
                    Catch::Contains("max_coordinate must be > 0"));
}

namespace {
train::training_set<distance_space> toy_set(std::size_t n_mol, bool distinct = true) {
  train::training_set<distance_space> t;
  const auto s = distance_space::describe(butanol());
  for (std::size_t m = 0; m < n_mol; ++m) {
    t.ids.push_back("m" + std::to_string(m));
    t.structures.push_back(s);
    std::vector<std::vector<double>> confs;
    for (std::uint32_t c = 0; c < 3; ++c) {
      std::vector<double> d(s.edges.size());
      distance_space::distances(
          s, spread_points(s.n_atoms, distinct ? 100 + 10 * static_cast<std::uint32_t>(m) + c : 100), d.data());
      confs.push_back(d);
    }
    t.clean.push_back(confs);
  }
  return t;
}
using toy_trainer = train::dsm_trainer<distance_score_network<float>, geometric_schedule, input_perturbation>;
train::trainer_options toy_options(unsigned threads) {
  train::trainer_options o;
  o.batch_molecules = 6;
  o.micro_batch = 2;
  o.epochs = 2;
  o.threads = threads;
  o.seed = 77;
  return o;
}
distance_network_config toy_config() {
  const distance_network_config c{.hidden = 16, .layers = 2};
  return c;
}
}  // namespace

TEST_CASE("training domain: molecule count and the largest molecule in heavy atoms, hydrogens not counted",
          "[model][train]") {
  auto t = toy_set(3);  // butan-2-ol: 5 heavy atoms
  t.structures[1].atom_type.insert(t.structures[1].atom_type.end(), {1u, 1u, 1u, 1u, 1u, 1u});
  t.structures[2].atom_type.push_back(7u);  // one more heavy atom
  const auto h = train::training_domain_header(t);
  CHECK(h.at("training_molecules") == "3");
  CHECK(h.at("training_heavy_atoms_max") == "6");
}

TEST_CASE("adam_state (host): one step is Adam with bias correction and global-norm clipping, element by element",
          "[model][train]") {
  const parameter_layout none;
  train::adam_state<double, backend::host> st(none, parameter_vector<double>{1.0, -2.0, 0.5});
  const train::adam_settings s{.learning_rate = 0.1, .beta1 = 0.9, .beta2 = 0.99, .epsilon = 1e-8, .clip_grad_norm = 2.5};
  parameter_vector<double> g;
  st.zero(g);
  REQUIRE(g == parameter_vector<double>{0, 0, 0});
  st.add(g, parameter_vector<double>{3.0, 0.0, -4.0});  // norm 5: clipped to 2.5, so each element halves
  const double norm = st.step(g, s, 0);
  CHECK(norm == 5.0);
  // Step 1 (t = 1): m = 0.1 g', v = 0.01 g'^2, corrected m/c1 = g', v/c2 = g'^2: each moves by lr * sign(g') (less
  // epsilon's share, 7e-9 relative).
  const auto& p = st.parameters();
  CHECK(p[0] == Approx(1.0 - 0.1).epsilon(1e-8));
  CHECK(p[1] == -2.0);  // a zero gradient leaves the parameter
  CHECK(p[2] == Approx(0.5 + 0.1).epsilon(1e-8));
  parameter_vector<double> m, v;
  st.moments(m, v);
  CHECK(m[0] == Approx(0.1 * 1.5));
  CHECK(v[2] == Approx(0.01 * 4.0));
  // Step 2 without clipping, against the formula written out.
  const train::adam_settings free{.learning_rate = 0.1, .beta1 = 0.9, .beta2 = 0.99, .epsilon = 1e-8};
  const double before = p[0], m0 = m[0], v0 = v[0];
  CHECK(st.step(parameter_vector<double>{1.0, 0.0, 0.0}, free, 1) == 1.0);
  const double mt = 0.9 * m0 + 0.1, vt = 0.99 * v0 + 0.01;
  CHECK(st.parameters()[0] == Approx(before - 0.1 * (mt / (1 - 0.81)) / (std::sqrt(vt / (1 - 0.9801)) + 1e-8)));
  CHECK_THROWS_AS(st.step(parameter_vector<double>{1.0}, free, 2), shape_mismatch);
}

TEST_CASE("trainer: same seed gives identical weights with 1 and 2 threads - the loss goes down", "[model][train]") {
  const auto data = toy_set(12);
  toy_trainer a(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), toy_options(1));
  toy_trainer b(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), toy_options(2));
  a.fit(data);
  b.fit(data);
  REQUIRE(a.step() == 4);
  CHECK(a.parameters() == b.parameters());
  // With one geometry to learn, training lowers the (fixed-noise) validation loss well below
  // that of the untrained network, which predicts a zero score.
  const auto same = toy_set(12, false);
  auto o = toy_options(2);
  o.epochs = 150;
  o.learning_rate = 3e-3;
  toy_trainer c(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), o);
  const double before = c.validation_loss(same);
  c.fit(same);
  CHECK(c.validation_loss(same) < 0.8 * before);
}

using test_support::thread_group;

TEST_CASE("trainer: batches shared over 3 ranks give the single-process weights bit for bit", "[model][train][mpi]") {
  const auto data = toy_set(14);  // batches of 6, 6 and 2 molecules: micro-batches 3, 3 and 1 over 3 ranks
  auto options = toy_options(1);
  options.epochs = 3;
  toy_trainer alone(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), options);
  alone.fit(data, &data);
  const int ranks = 3;
  thread_group::shared shared(ranks);
  std::vector<std::vector<float>> weights(ranks);
  std::vector<double> validation(ranks);
  std::vector<char> kept(ranks, 0);  // Catch2's CHECK is for the main thread: results are checked after join
  std::vector<std::thread> pool;
  for (int r = 0; r < ranks; ++r)
    pool.emplace_back([&, r] {
      auto o = options;
      const thread_group group{&shared, r, ranks};
      // A device gather is for device states (backend/cuda/adam.cuh): the host's gradients stay on all_gather.
      o.sharing = train::data_parallel::over(group).gathering_on_device([](const float*, float*, std::size_t) {
        throw std::logic_error("a host trainer used the device gather");
      });
      kept[static_cast<std::size_t>(r)] = o.sharing.rank() == r && o.sharing.size() == ranks && o.sharing.on_device();
      toy_trainer t(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), o);
      t.fit(data, &data);
      weights[static_cast<std::size_t>(r)].assign(t.parameters().begin(), t.parameters().end());
      validation[static_cast<std::size_t>(r)] = t.best_validation_loss();
    });
  for (auto& t : pool) t.join();
  const std::vector<float> expected(alone.parameters().begin(), alone.parameters().end());
  for (int r = 0; r < ranks; ++r) {
    CHECK(weights[static_cast<std::size_t>(r)] == expected);
    CHECK(validation[static_cast<std::size_t>(r)] == alone.best_validation_loss());
    CHECK(kept[static_cast<std::size_t>(r)]);
  }
  CHECK_THROWS_AS(train::data_parallel::over(thread_group{&shared, 3, 3}), invalid_argument);
}

TEST_CASE("trainer: a killed run resumed from its checkpoint ends with the same weights", "[model][train]") {
  const auto dir = std::filesystem::temp_directory_path() / "confsgm_model_test_resume";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto data = toy_set(12);
  auto o = toy_options(2);
  o.epochs = 3;
  toy_trainer full(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), o);
  full.fit(data, &data);
  // "Kill" after one step of epoch 2 by stopping at a checkpoint taken every step.
  o.checkpoint_path = (dir / "ckpt.bin").string();
  o.checkpoint_every_steps = 1;
  o.epochs = 1;
  {
    toy_trainer first(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), o);
    first.fit(data, &data);
    o.epochs = 2;
    toy_trainer more(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), o);
    more.resume(o.checkpoint_path);
    // Train a single step of epoch 2, as if killed right after its checkpoint.
    o.max_seconds = 1e-9;
    toy_trainer partial(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), o);
    partial.resume(o.checkpoint_path);
    partial.fit(data, &data);
    CHECK(partial.step() == 3);
  }
  o.max_seconds = 0;
  o.epochs = 3;
  toy_trainer resumed(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), o);
  resumed.resume(o.checkpoint_path);
  CHECK(resumed.step() == 3);
  resumed.fit(data, &data);
  CHECK(resumed.step() == full.step());
  CHECK(resumed.parameters() == full.parameters());
  CHECK(resumed.learning_rate() == full.learning_rate());
  CHECK(resumed.best_validation_loss() == full.best_validation_loss());

  // A checkpoint of another configuration is refused with the reason.
  using other_trainer = train::dsm_trainer<distance_score_network<float>, geometric_schedule, no_perturbation>;
  other_trainer other(distance_score_network<float>(toy_config()), geometric_schedule(), no_perturbation{}, o);
  CHECK_THROWS_WITH(other.resume(o.checkpoint_path), Catch::Contains("perturbation"));

  // A checkpoint written before model headers recorded the training domain still resumes; once recorded,
  // a resume on other data is refused by name.
  auto with_domain = o;
  with_domain.extra_header = train::training_domain_header(data);
  toy_trainer newer(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), with_domain);
  CHECK_NOTHROW(newer.resume(o.checkpoint_path));
  newer.save_checkpoint_file((dir / "with_domain.bin").string());
  with_domain.extra_header["training_molecules"] = "13";
  toy_trainer other_data(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1),
                         with_domain);
  CHECK_THROWS_WITH(other_data.resume((dir / "with_domain.bin").string()), Catch::Contains("training_molecules"));
}

TEST_CASE("trainer: early stopping ends the run after the set number of epochs without a better validation loss",
          "[model][train]") {
  const auto dir = std::filesystem::temp_directory_path() / "confsgm_model_test_early_stop";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto data = toy_set(12);
  auto o = toy_options(1);
  o.epochs = 40;
  o.learning_rate = 0;  // the weights never change: the first epoch's validation loss is never beaten
  o.early_stop_patience = 3;
  o.checkpoint_path = (dir / "ckpt.bin").string();
  toy_trainer t(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), o);
  t.fit(data, &data);
  CHECK(t.best_epoch() == 1);
  CHECK(t.epoch() == 4);  // epochs 2, 3 and 4 brought nothing better
  CHECK(t.stopped_early());
  // Resumed, the stopped run stays stopped: its best epoch travels in the checkpoint.
  toy_trainer resumed(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), o);
  resumed.resume(o.checkpoint_path);
  CHECK(resumed.best_epoch() == 1);
  CHECK(resumed.best_epoch_recorded());
  resumed.fit(data, &data);
  CHECK(resumed.epoch() == 4);
  CHECK(resumed.step() == t.step());
  // Without it, the same run trains every epoch; with training, the patience only counts epochs since the best.
  o.early_stop_patience = 0;
  o.epochs = 6;
  o.checkpoint_path.clear();
  toy_trainer all(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), o);
  all.fit(data, &data);
  CHECK(all.epoch() == 6);
  CHECK_FALSE(all.stopped_early());
}

TEST_CASE("checkpoint files: corrupt, truncated, foreign and wrong-precision files are named and refused",
          "[model][train]") {
  const auto dir = std::filesystem::temp_directory_path() / "confsgm_model_test_ckpt";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  train::checkpoint<float> c;
  c.header["model"] = "test";
  c.parameters = {1.0f, 2.0f, 3.0f};
  const auto path = (dir / "m.bin").string();
  train::save_checkpoint(path, c);
  CHECK_FALSE(std::filesystem::exists(path + ".partial"));
  const auto back = train::load_checkpoint<float>(path);
  CHECK(back.parameters == c.parameters);
  CHECK(back.header.at("model") == "test");
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), {});
  }
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream out(dir / name, std::ios::binary);
    out << content;
    return (dir / name).string();
  };
  std::string flipped = bytes;
  flipped[bytes.size() - 12] ^= 0x40;
  CHECK_THROWS_WITH(train::load_checkpoint<float>(write("flip.bin", flipped)),
                    Catch::Contains("flip.bin") && Catch::Contains("checksum mismatch"));
  CHECK_THROWS_WITH(train::load_checkpoint<float>(write("cut.bin", bytes.substr(0, bytes.size() - 5))),
                    Catch::Contains("checksum") || Catch::Contains("truncated"));
  CHECK_THROWS_WITH(train::load_checkpoint<float>(write("foreign.bin", "PK\x03\x04 not a model at all")),
                    Catch::Contains("not a confsgm model file"));
  CHECK_THROWS_WITH(train::load_checkpoint<double>(path), Catch::Contains("32-bit parameters, 64-bit were asked"));
  CHECK_THROWS_AS(train::load_checkpoint<float>((dir / "missing.bin").string()), io_error);
}

TEST_CASE("model files: load_model_file rebuilds the network the trainer wrote, and names a wrong or broken file",
          "[model][train]") {
  const auto dir = std::filesystem::temp_directory_path() / "confsgm_model_test_file";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  // The torsion network has entries beyond the common four (radial, cutoff): written by the trainer, read back.
  const torsion_network_config tcfg{.hidden = 8, .layers = 2, .radial = 6, .cutoff = 4.25};
  train::dsm_trainer<torsion_score_network<float>, log_uniform_schedule, input_perturbation> tt(
      torsion_score_network<float>(tcfg), log_uniform_schedule(), input_perturbation(0.2), train::trainer_options{});
  const auto tpath = (dir / "torsion.bin").string();
  tt.save_weights(tpath);
  const auto tf = train::load_model_file<torsion_score_network<float>>(tpath);
  CHECK(tf.network.config() == tcfg);
  CHECK(tf.parameters == tt.parameters());
  CHECK(tf.at("perturbation") == tt.model_header().at("perturbation"));

  toy_trainer dt(distance_score_network<float>(toy_config()), geometric_schedule(), input_perturbation(0.1), toy_options(1));
  const auto dpath = (dir / "distance.bin").string();
  dt.save_weights(dpath);
  const auto df = train::load_model_file<distance_score_network<float>>(dpath);
  CHECK(df.network.config() == toy_config());
  CHECK(df.parameters == dt.parameters());
  CHECK(df.number("seed") == 77);

  CHECK_THROWS_WITH(train::load_model_file<distance_score_network<float>>(tpath),
                    Catch::Contains("torsion.bin") && Catch::Contains("not a distance-space model"));
  // A header that describes no valid network, and one whose parameter count does not match it.
  auto c = train::load_checkpoint<float>(dpath);
  c.header["layers"] = "0";
  train::save_checkpoint((dir / "zero.bin").string(), c);
  CHECK_THROWS_WITH(train::load_model_file<distance_score_network<float>>((dir / "zero.bin").string()),
                    Catch::Contains("zero.bin") && Catch::Contains("'layers' must be a positive whole number"));
  c.header["layers"] = "2";
  c.header["hidden"] = "32";
  train::save_checkpoint((dir / "size.bin").string(), c);
  CHECK_THROWS_WITH(train::load_model_file<distance_score_network<float>>((dir / "size.bin").string()),
                    Catch::Contains("size.bin") && Catch::Contains("but its header describes a network of"));
  c.header.erase("hidden");
  train::save_checkpoint((dir / "none.bin").string(), c);
  CHECK_THROWS_WITH(train::load_model_file<distance_score_network<float>>((dir / "none.bin").string()),
                    Catch::Contains("none.bin") && Catch::Contains("no 'hidden' entry"));
}
