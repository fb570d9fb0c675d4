// confsgm/eval/coverage.hpp: COV and MAT, recall and precision (paper Eq. 6-7;
// reference-spec §10.5), per molecule and aggregated over molecules.
//
//   COV-R(d) = mean_i [min_j R_ij op d]     MAT-R = mean_i min_j R_ij
//   COV-P(d) = mean_j [min_i R_ij op d]     MAT-P = mean_j min_i R_ij
//
// with R the reference x generated RMSD matrix. `op` is strict `<` by default,
// as in the paper's Eq. 6 and Torsional Diffusion; ConfGF/GeoDiff use `<=`
// (threshold_comparison::less_equal). Generated conformers whose RMSDs are not
// finite (failed samples) take no part. A molecule with no usable generated
// conformer is a *missing* molecule: by default it counts with COV-R = COV-P =
// 0 and is left out of the MAT averages (Torsional Diffusion's rule), and the
// summary says how many there were.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "confsgm/error.hpp"

namespace confsgm {

enum class threshold_comparison { less, less_equal };

enum class missing_molecule_policy {
  count_as_uncovered,  ///< COV = 0, MAT left out (default; Torsional Diffusion)
  exclude,             ///< left out of every average
};

struct coverage_options {
  double threshold = 1.25;  ///< Å; 0.5 for QM9 and 0.75 (TD) or 1.25 (ConfGF) for Drugs
  threshold_comparison comparison = threshold_comparison::less;
  missing_molecule_policy missing = missing_molecule_policy::count_as_uncovered;
  /// Extra thresholds at which COV-R/COV-P curves are also reported.
  std::vector<double> sweep;
};

struct molecule_coverage {
  std::string id;
  std::size_t n_ref = 0;
  std::size_t n_gen = 0;         ///< generated conformers with finite RMSDs
  std::size_t n_gen_failed = 0;  ///< generated conformers with non-finite RMSDs
  bool missing = false;          ///< no usable generated conformer
  double cov_r = 0, mat_r = std::numeric_limits<double>::quiet_NaN();
  double cov_p = 0, mat_p = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> cov_r_sweep, cov_p_sweep;  ///< one entry per options.sweep threshold
};

struct coverage_summary {
  std::size_t n_molecules = 0;  ///< molecules that count (missing ones included by default)
  std::size_t n_missing = 0;
  double cov_r_mean = 0, cov_r_median = 0, mat_r_mean = 0, mat_r_median = 0;
  double cov_p_mean = 0, cov_p_median = 0, mat_p_mean = 0, mat_p_median = 0;
  std::vector<double> cov_r_sweep_mean, cov_p_sweep_mean;
};

inline bool covered(double rmsd, double threshold, threshold_comparison op) {
  return op == threshold_comparison::less ? rmsd < threshold : rmsd <= threshold;
}

namespace detail {
inline double mean_of(const std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}
inline double median_of(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
}  // namespace detail

/// COV/MAT of one molecule from its RMSD matrix (rows: references, cols: generated).
inline molecule_coverage coverage_of(const Eigen::MatrixXd& r, const coverage_options& opt,
                                     std::string id = {}) {
  if (!(opt.threshold >= 0))
    throw invalid_argument("coverage_of(): threshold must be >= 0, got " + std::to_string(opt.threshold));
  molecule_coverage m;
  m.id = std::move(id);
  m.n_ref = static_cast<std::size_t>(r.rows());
  const auto n_cols = r.cols();
  std::vector<Eigen::Index> usable;
  for (Eigen::Index j = 0; j < n_cols; ++j) {
    bool ok = r.rows() > 0;
    for (Eigen::Index i = 0; i < r.rows() && ok; ++i) ok = std::isfinite(r(i, j));
    if (ok) usable.push_back(j);
  }
  m.n_gen = usable.size();
  m.n_gen_failed = static_cast<std::size_t>(n_cols) - usable.size();
  m.cov_r_sweep.assign(opt.sweep.size(), 0.0);
  m.cov_p_sweep.assign(opt.sweep.size(), 0.0);
  if (m.n_ref == 0)
    throw invalid_argument("coverage_of(): molecule '" + m.id + "' has no reference conformer");
  if (usable.empty()) {
    m.missing = true;
    return m;
  }
  std::vector<double> row_min(m.n_ref, std::numeric_limits<double>::infinity());
  std::vector<double> col_min(usable.size(), std::numeric_limits<double>::infinity());
  for (std::size_t i = 0; i < m.n_ref; ++i)
    for (std::size_t k = 0; k < usable.size(); ++k) {
      const double v = r(static_cast<Eigen::Index>(i), usable[k]);
      row_min[i] = std::min(row_min[i], v);
      col_min[k] = std::min(col_min[k], v);
    }
  auto fraction_covered = [&](const std::vector<double>& mins, double d) {
    std::size_t c = 0;
    for (double v : mins) c += covered(v, d, opt.comparison);
    return static_cast<double>(c) / static_cast<double>(mins.size());
  };
  m.cov_r = fraction_covered(row_min, opt.threshold);
  m.cov_p = fraction_covered(col_min, opt.threshold);
  m.mat_r = detail::mean_of(row_min);
  m.mat_p = detail::mean_of(col_min);
  for (std::size_t s = 0; s < opt.sweep.size(); ++s) {
    m.cov_r_sweep[s] = fraction_covered(row_min, opt.sweep[s]);
    m.cov_p_sweep[s] = fraction_covered(col_min, opt.sweep[s]);
  }
  return m;
}

/// Mean and median over molecules, applying the missing-molecule policy.
inline coverage_summary summarize(const std::vector<molecule_coverage>& mols,
                                  const coverage_options& opt) {
  coverage_summary s;
  std::vector<double> cr, cp, mr, mp;
  std::vector<std::vector<double>> sr(opt.sweep.size()), sp(opt.sweep.size());
  for (const auto& m : mols) {
    if (m.missing) {
      ++s.n_missing;
      if (opt.missing == missing_molecule_policy::exclude) continue;
    }
    ++s.n_molecules;
    cr.push_back(m.cov_r);
    cp.push_back(m.cov_p);
    if (!m.missing) {
      mr.push_back(m.mat_r);
      mp.push_back(m.mat_p);
    }
    for (std::size_t k = 0; k < opt.sweep.size(); ++k) {
      sr[k].push_back(m.cov_r_sweep.at(k));
      sp[k].push_back(m.cov_p_sweep.at(k));
    }
  }
  s.cov_r_mean = detail::mean_of(cr);
  s.cov_r_median = detail::median_of(cr);
  s.cov_p_mean = detail::mean_of(cp);
  s.cov_p_median = detail::median_of(cp);
  s.mat_r_mean = detail::mean_of(mr);
  s.mat_r_median = detail::median_of(mr);
  s.mat_p_mean = detail::mean_of(mp);
  s.mat_p_median = detail::median_of(mp);
  for (std::size_t k = 0; k < opt.sweep.size(); ++k) {
    s.cov_r_sweep_mean.push_back(detail::mean_of(sr[k]));
    s.cov_p_sweep_mean.push_back(detail::mean_of(sp[k]));
  }
  return s;
}

}  // namespace confsgm
