// Torsion space foundations: the wrapped normal (score, normaliser, sampling)
// against reference-spec §2.4, and torsion increments on coordinates.
#include <catch2/catch.hpp>

#include <confsgm/core/torsion.hpp>
#include <confsgm/random/philox.hpp>
#include <confsgm/space/torus.hpp>

#include "support.hpp"

#include <string>

using namespace confsgm;

namespace {
/// Half a unit in the last printed digit of @p printed (the table's precision).
double half_ulp(const std::string& printed) {
  const auto dot = printed.find('.');
  const int decimals = dot == std::string::npos ? 0 : static_cast<int>(printed.size() - dot - 1);
  return 0.5 * std::pow(10.0, -decimals);
}
}  // namespace

TEST_CASE("wrapped normal: score and E[s^2] match reference-spec 2.4 to the printed digits", "[torsion]") {
  struct row {
    double sigma;
    const char* s05;
    const char* s30;
    const char* sm25;
    const char* s40;
    const char* norm;
  };
  const row rows[] = {
      {0.0314, "-507.12", "-3042.72", "2535.6", "2315.7", "1014.24"},
      {0.1, "-50", "-300", "250", "228.319", "100"},
      {0.5, "-2", "-11.3041", "10", "9.13274", "4"},
      {1.0, "-0.5", "-1.17045", "2.39041", "2.25475", "0.94892"},
      {2.0, "-0.10574", "-0.0516215", "0.205149", "0.247292", "0.0372901"},
      {3.14, "-0.00684371", "-0.00206963", "0.00875281", "0.0110446", "0.000104492"},
  };
  for (const auto& r : rows) {
    INFO("sigma " << r.sigma);
    const std::pair<double, const char*> cases[] = {{0.5, r.s05}, {3.0, r.s30}, {-2.5, r.sm25}, {4.0, r.s40}};
    for (const auto& [x, printed] : cases) {
      INFO("x " << x);
      CHECK(std::abs(torus::score(x, r.sigma) - std::stod(printed)) <= std::max(half_ulp(printed), 1e-6));
    }
    CHECK(std::abs(torus::score_norm(r.sigma) - std::stod(r.norm)) <= std::max(half_ulp(r.norm), 1e-6));
  }
  // Far tails, where the reference's float64 tables are NaN (|x|/sigma > 38.6): finite and exact.
  CHECK(torus::score(3.0, 0.02) == Approx(-3.0 / (0.02 * 0.02)));
  // The table interpolates the exact normaliser (to 1e-6, the precision asked of the reference values).
  const torus::score_norm_table table;
  for (double s : {0.0314, 0.2, 0.77, 1.5, 3.14})
    CHECK(table(s) == Approx(torus::score_norm(s)).epsilon(1e-6));
  CHECK_THROWS_AS(torus::score(0.1, 0.0), invalid_argument);
}

TEST_CASE("wrapped normal: the score is d log p / dx and Langevin with it recovers the distribution", "[torsion]") {
  for (double sigma : {0.3, 1.0, 2.5})
    for (double x : {-3.0, -1.0, 0.2, 2.9}) {
      const double h = 1e-6;
      const double fd = (std::log(torus::density(x + h, sigma)) - std::log(torus::density(x - h, sigma))) / (2 * h);
      CHECK(torus::score(x, sigma) == Approx(fd).epsilon(1e-6));
    }
  // Langevin on the circle: E[cos x] = exp(-sigma^2/2), E[cos 2x] = exp(-2 sigma^2), E[sin x] = 0.
  const double sigma = 1.0, alpha = 0.004;
  const int chains = 4000, steps = 3000;
  double c1 = 0, c2 = 0, s1 = 0;
  for (int c = 0; c < chains; ++c) {
    const random::stream z(5, random::purpose::user, static_cast<std::uint32_t>(c));
    double x = torus::wrap(6.0 * z.uniform(0));
    for (int k = 0; k < steps; ++k)
      x = torus::wrap(x + alpha * torus::score(x, sigma) + std::sqrt(2 * alpha) * z.normal(static_cast<std::uint32_t>(k)));
    c1 += std::cos(x), c2 += std::cos(2 * x), s1 += std::sin(x);
  }
  c1 /= chains, c2 /= chains, s1 /= chains;
  const double se = 1.0 / std::sqrt(double(chains));  // |cos| <= 1
  CHECK(std::abs(c1 - std::exp(-0.5)) < 4 * se + 0.01);
  CHECK(std::abs(c2 - std::exp(-2.0)) < 4 * se + 0.01);
  CHECK(std::abs(s1) < 4 * se);
}

namespace {
/// Butan-2-ol with explicit hydrogens and a reasonable geometry from random
/// bond directions (the geometry only needs to be non-degenerate).
std::pair<molecule_graph, coordinates<double>> butanol() {
  auto g = test_support::butanol_graph();
  std::mt19937_64 rng(4);
  auto x = test_support::random_points(g.num_atoms(), rng, 1.5);
  return {std::move(g), std::move(x)};
}
}  // namespace

TEST_CASE("rotatable bonds: the reference rule and the stereo-safe rule", "[torsion]") {
  const auto [g, x] = butanol();
  const auto t = rotatable_bonds(g);
  // C1-C2 (methyl), C2-C3, C3-C4 (methyl), C2-O (hydroxyl): 4 torsions; no C-H bond.
  REQUIRE(t.size() == 4);
  for (const auto& r : t) {
    CHECK(r.side.size() >= 2);
    CHECK(r.side.size() <= g.num_atoms() / 2);
    CHECK(std::find(r.side.begin(), r.side.end(), r.fixed) == r.side.end());
  }
  // A double bond (E/Z-capable) only counts under the reference rule: but-2-ene C1-C2=C3-C4 heavy atoms.
  molecule_graph e("butene");
  for (int k = 0; k < 4; ++k) e.add_atom({.atomic_number = 6});
  e.add_bond({.begin = 0, .end = 1});
  e.add_bond({.begin = 1, .end = 2, .type = bond_type::double_});
  e.add_bond({.begin = 2, .end = 3});
  CHECK(rotatable_bonds(e, rotatable_rule::stereo_safe).empty());
  CHECK(rotatable_bonds(e, rotatable_rule::reference).size() == 1);
  // Ring bonds never rotate.
  const auto ring = test_support::carbon_graph(6, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 0}});
  CHECK(rotatable_bonds(ring, rotatable_rule::reference).empty());
}

TEST_CASE("torsion increments change exactly their dihedral and nothing else", "[torsion]") {
  auto [g, x0] = butanol();
  const auto t = rotatable_bonds(g);
  const std::vector<double> inc = {0.7, -1.9, 2.5, 0.3};
  coordinates<double> x = x0;
  apply_torsion_increments(x, t, inc);
  for (std::size_t m = 0; m < t.size(); ++m) {
    // Apply one increment alone to see its dihedral move by exactly that amount.
    coordinates<double> y = x0;
    std::vector<double> one(t.size(), 0.0);
    one[m] = inc[m];
    apply_torsion_increments(y, t, one);
    CHECK(torus::wrap(torsion_angle(y, t[m]) - torsion_angle(x0, t[m]) - inc[m]) == Approx(0.0).margin(1e-9));
  }
  // Every bond length and every angle (distances between atoms two bonds apart) is unchanged.
  for (const auto& b : g.bonds())
    CHECK((x.row(b.begin) - x.row(b.end)).norm() == Approx((x0.row(b.begin) - x0.row(b.end)).norm()).margin(1e-9));
  for (std::uint32_t c = 0; c < g.num_atoms(); ++c)
    for (const auto& n1 : g.neighbors(c))
      for (const auto& n2 : g.neighbors(c))
        if (n1.atom < n2.atom)
          CHECK((x.row(n1.atom) - x.row(n2.atom)).norm() ==
                Approx((x0.row(n1.atom) - x0.row(n2.atom)).norm()).margin(1e-9));
  // Applying the opposite increments in reverse order restores the conformer.
  std::vector<torsion_bond> rev(t.rbegin(), t.rend());
  std::vector<double> neg;
  for (auto it = inc.rbegin(); it != inc.rend(); ++it) neg.push_back(-*it);
  apply_torsion_increments(x, rev, neg);
  CHECK((x - x0).cwiseAbs().maxCoeff() < 1e-9);
  CHECK_THROWS_AS(apply_torsion_increments(x, t, {0.1}), shape_mismatch);
}
