// Superposition (QCP against SVD Kabsch) and the symmetry-aware RMSD.
#include <catch2/catch.hpp>

#include "support.hpp"

using namespace confsgm;

namespace {
double kabsch_rmsd_by_svd(const coordinates<double>& a, const coordinates<double>& b) {
  const auto t = kabsch(a, b);
  coordinates<double> moved = b;
  apply(t, moved);
  return std::sqrt((a - moved).rowwise().squaredNorm().mean());
}
}  // namespace

TEST_CASE("QCP RMSD equals the SVD Kabsch RMSD", "[geometry]") {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = 3 + trial % 40;
    const auto a = test_support::random_points(n, rng);
    const auto b = test_support::random_points(n, rng);
    CHECK(superposed_rmsd(a, b) == Approx(kabsch_rmsd_by_svd(a, b)).epsilon(1e-9).margin(1e-9));
  }
}

TEST_CASE("RMSD is invariant to rigid motion and zero for a moved copy", "[geometry]") {
  std::mt19937_64 rng(11);
  const auto a = test_support::random_points(25, rng);
  const auto b = test_support::random_points(25, rng);
  const Eigen::Matrix3d r = test_support::random_rotation(rng);
  coordinates<double> b_moved = (b * r.transpose()).rowwise() + Eigen::RowVector3d(1.5, -4.0, 7.0);
  CHECK(superposed_rmsd(a, b_moved) == Approx(superposed_rmsd(a, b)).epsilon(1e-10));
  coordinates<double> a_moved = (a * r.transpose()).rowwise() + Eigen::RowVector3d(-3.0, 2.0, 0.5);
  CHECK(superposed_rmsd(a, a_moved) < 1e-6);
  // The transform kabsch() returns really superposes the copy.
  const auto t = kabsch(a, a_moved);
  apply(t, a_moved);
  CHECK((a - a_moved).cwiseAbs().maxCoeff() < 1e-9);
}

TEST_CASE("superposition never reflects", "[geometry]") {
  std::mt19937_64 rng(3);
  const auto a = test_support::random_points(12, rng);
  coordinates<double> mirror = a;
  mirror.col(0) *= -1.0;
  CHECK(superposed_rmsd(a, mirror) > 0.1);
  CHECK(kabsch(a, mirror).rotation.determinant() == Approx(1.0));
}

TEST_CASE("shape errors are reported, not undefined", "[geometry]") {
  CHECK_THROWS_AS(superposed_rmsd(coordinates<double>::Zero(3, 3), coordinates<double>::Zero(4, 3)), shape_mismatch);
  CHECK_THROWS_AS(kabsch(coordinates<double>::Zero(0, 3), coordinates<double>::Zero(0, 3)), shape_mismatch);
}

TEST_CASE("symmetric RMSD: minimum over automorphisms, ignoring hydrogens", "[geometry][symmetry]") {
  // toluene-like skeleton: aromatic ring 0-5, methyl carbon 6 on atom 0, H atoms 7-9 on the methyl
  molecule_graph g("toluene skeleton");
  for (int i = 0; i < 7; ++i) g.add_atom({.atomic_number = 6});
  for (int i = 0; i < 3; ++i) g.add_atom({.atomic_number = 1});
  for (std::uint32_t i = 0; i < 6; ++i) g.add_bond({.begin = i, .end = (i + 1) % 6, .type = bond_type::aromatic});
  g.add_bond({.begin = 0, .end = 6});
  for (std::uint32_t h = 7; h < 10; ++h) g.add_bond({.begin = 6, .end = h});
  const symmetric_rmsd s(g);
  CHECK(s.num_heavy_atoms() == 7);
  CHECK(s.num_automorphisms() == 2);  // the ring flip through the C0-C6 axis

  std::mt19937_64 rng(5);
  const auto a = test_support::random_points(10, rng);
  // Swap ortho (1<->5) and meta (2<->4) positions: the flipped ring is the same conformer.
  coordinates<double> flipped = a;
  flipped.row(1).swap(flipped.row(5));
  flipped.row(2).swap(flipped.row(4));
  // Hydrogens may be anywhere: they take no part.
  flipped.row(8) += Eigen::RowVector3d(5, 5, 5);
  CHECK(s(a, flipped) < 1e-6);
  CHECK(superposed_rmsd(a.topRows(7), flipped.topRows(7)) > 0.1);
  const auto b = test_support::random_points(10, rng);
  CHECK(s(a, b) <= superposed_rmsd(a.topRows(7), b.topRows(7)) + 1e-12);
  CHECK(s(a, b) == Approx(s(b, a)).epsilon(1e-9));  // the group is closed under inverses
  coordinates<double> bad = b;
  bad(3, 1) = std::numeric_limits<double>::infinity();
  CHECK(std::isnan(s(a, bad)));
  CHECK_THROWS_AS(s(a, coordinates<double>::Zero(9, 3)), shape_mismatch);
}

TEST_CASE("carboxylate oxygens are equivalent only when symmetrisation is on", "[geometry][symmetry]") {
  // propanoate heavy atoms: C0-C1-C2(=O3)-O4(-), a bent chain so no rigid motion swaps the oxygens
  molecule_graph g("propanoate");
  for (int i = 0; i < 3; ++i) g.add_atom({.atomic_number = 6});
  g.add_atom({.atomic_number = 8});
  g.add_atom({.atomic_number = 8, .formal_charge = -1});
  g.add_bond({.begin = 0, .end = 1});
  g.add_bond({.begin = 1, .end = 2});
  g.add_bond({.begin = 2, .end = 3, .type = bond_type::double_});
  g.add_bond({.begin = 2, .end = 4});
  coordinates<double> a(5, 3);
  a << -0.8, 1.3, 0.2, 0, 0, 0, 1.5, 0, 0, 2.1, 1.1, 0.3, 2.1, -1.1, -0.3;
  coordinates<double> b = a;
  b.row(3).swap(b.row(4));
  CHECK(symmetric_rmsd(g)(a, b) < 1e-6);
  CHECK(symmetric_rmsd(g, {.symmetrize_conjugated_terminal_groups = false})(a, b) > 0.3);
}

TEST_CASE("rmsd_matrix is the same for any thread count", "[geometry][parallel]") {
  const auto g = test_support::carbon_graph(8, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 7}});
  const symmetric_rmsd s(g);
  std::mt19937_64 rng(9);
  conformer_batch<double> refs(8), gens(8);
  for (int i = 0; i < 13; ++i) refs.push_back(test_support::random_points(8, rng));
  for (int i = 0; i < 29; ++i) gens.push_back(test_support::random_points(8, rng));
  const auto m1 = rmsd_matrix(s, refs, gens, 1);
  const auto m3 = rmsd_matrix(s, refs, gens, 3);
  REQUIRE(m1.rows() == 13);
  REQUIRE(m1.cols() == 29);
  CHECK((m1.array() == m3.array()).all());
  CHECK(m1(4, 7) == s(refs[4], gens[7]));
}
