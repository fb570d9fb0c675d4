// COV/MAT against hand-computed values.
#include <catch2/catch.hpp>

#include <confsgm/confsgm.hpp>

using namespace confsgm;

TEST_CASE("COV and MAT, recall and precision, by hand", "[eval][coverage]") {
  // 3 references x 4 generated
  Eigen::MatrixXd r(3, 4);
  r << 0.5, 1.25, 2.0, 3.0,  //
      1.5, 1.3, 0.9, 2.5,    //
      2.2, 2.4, 1.6, 1.25;
  coverage_options o;
  o.threshold = 1.25;
  const auto strict = coverage_of(r, o, "m");
  // row minima 0.5, 0.9, 1.25 -> strict: 2/3 covered; MAT-R = 2.65/3
  CHECK(strict.cov_r == Approx(2.0 / 3.0));
  CHECK(strict.mat_r == Approx((0.5 + 0.9 + 1.25) / 3.0));
  // column minima 0.5, 1.25, 0.9, 1.25 -> strict: 2/4; MAT-P = 3.9/4
  CHECK(strict.cov_p == Approx(0.5));
  CHECK(strict.mat_p == Approx(3.9 / 4.0));
  o.comparison = threshold_comparison::less_equal;
  const auto le = coverage_of(r, o, "m");
  CHECK(le.cov_r == Approx(1.0));
  CHECK(le.cov_p == Approx(1.0));
  CHECK(le.mat_r == strict.mat_r);
}

TEST_CASE("failed generated conformers take no part and all failed means missing", "[eval][coverage]") {
  Eigen::MatrixXd r(2, 3);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  r << 0.4, nan, 2.0,  //
      1.0, nan, 0.3;
  coverage_options o;
  o.threshold = 0.5;
  const auto m = coverage_of(r, o);
  CHECK(m.n_gen == 2);
  CHECK(m.n_gen_failed == 1);
  CHECK(m.cov_r == Approx(1.0));
  CHECK(m.mat_p == Approx(0.35));
  Eigen::MatrixXd all_bad = Eigen::MatrixXd::Constant(2, 2, nan);
  const auto miss = coverage_of(all_bad, o);
  CHECK(miss.missing);
  CHECK(miss.cov_r == 0.0);
  CHECK(std::isnan(miss.mat_r));
  CHECK(coverage_of(Eigen::MatrixXd(2, 0), o).missing);
  CHECK_THROWS_AS(coverage_of(Eigen::MatrixXd(0, 2), o), invalid_argument);
}

TEST_CASE("summary: mean, median and the missing-molecule policy", "[eval][coverage]") {
  std::vector<molecule_coverage> ms(4);
  const double cr[] = {1.0, 0.5, 0.25, 0.0};
  for (int i = 0; i < 4; ++i) {
    ms[i].cov_r = ms[i].cov_p = cr[i];
    ms[i].mat_r = ms[i].mat_p = 1.0 + i;
  }
  ms[3].missing = true;
  ms[3].mat_r = ms[3].mat_p = std::numeric_limits<double>::quiet_NaN();
  coverage_options o;
  const auto s = summarize(ms, o);
  CHECK(s.n_molecules == 4);
  CHECK(s.n_missing == 1);
  CHECK(s.cov_r_mean == Approx(1.75 / 4));
  CHECK(s.cov_r_median == Approx(0.375));
  CHECK(s.mat_r_mean == Approx(2.0));  // missing molecule left out of MAT
  CHECK(s.mat_r_median == Approx(2.0));
  o.missing = missing_molecule_policy::exclude;
  const auto e = summarize(ms, o);
  CHECK(e.n_molecules == 3);
  CHECK(e.cov_r_mean == Approx(1.75 / 3));
}

TEST_CASE("threshold sweep reports one COV per threshold", "[eval][coverage]") {
  Eigen::MatrixXd r(2, 2);
  r << 0.1, 0.6, 0.7, 1.1;
  coverage_options o;
  o.sweep = {0.0, 0.5, 1.0};
  const auto m = coverage_of(r, o);
  REQUIRE(m.cov_r_sweep.size() == 3);
  CHECK(m.cov_r_sweep[0] == 0.0);
  CHECK(m.cov_r_sweep[1] == 0.5);
  CHECK(m.cov_r_sweep[2] == 1.0);
}
