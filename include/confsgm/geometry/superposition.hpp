// confsgm/geometry/superposition.hpp: optimal rigid superposition of two
// point sets (rotation only, never a reflection).
//
// `superposed_rmsd` is the hot path: it needs no rotation matrix. For centred
// sets A, B with inner products G_A, G_B and correlation M = sum_k a_k b_k^T,
// the minimum RMSD is sqrt((G_A + G_B - 2 lambda_max) / n), where lambda_max is
// the largest eigenvalue of Horn's 4x4 quaternion key matrix K(M). Its
// characteristic polynomial is x^4 + c2 x^2 + c1 x + c0 with c2 = -2 |M|_F^2,
// c1 = -8 det M and c0 = det K (Theobald, Acta Cryst. A 61, 478 (2005)), and
// Newton's method started at (G_A + G_B)/2, which bounds lambda_max from above,
// converges monotonically to it. `kabsch` returns the rotation itself (SVD with
// the determinant correction) for callers that move coordinates.
#pragma once

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>

#include "confsgm/error.hpp"

namespace confsgm {

/// Largest eigenvalue of Horn's key matrix for correlation @p m, with @p upper
/// an upper bound (G_A + G_B) / 2.
inline double horn_lambda_max(const Eigen::Matrix3d& m, double upper) {
  const double sxx = m(0, 0), sxy = m(0, 1), sxz = m(0, 2);
  const double syx = m(1, 0), syy = m(1, 1), syz = m(1, 2);
  const double szx = m(2, 0), szy = m(2, 1), szz = m(2, 2);
  Eigen::Matrix4d k;
  k << sxx + syy + szz, syz - szy, szx - sxz, sxy - syx,  //
      syz - szy, sxx - syy - szz, sxy + syx, szx + sxz,   //
      szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy,  //
      sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz;
  const double c2 = -2.0 * m.squaredNorm();
  const double c1 = -8.0 * m.determinant();
  const double c0 = k.determinant();
  double x = upper;
  for (int it = 0; it < 60; ++it) {
    const double x2 = x * x;
    const double p = (x2 + c2) * x2 + c1 * x + c0;
    const double dp = 4.0 * x2 * x + 2.0 * c2 * x + c1;
    if (dp == 0.0) break;
    const double step = p / dp;
    x -= step;
    if (std::abs(step) <= 1e-13 * std::max(1.0, std::abs(x))) return x;
  }
  // Newton did not settle (degenerate key matrix): fall back to the eigensolver.
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix4d> es(k, Eigen::EigenvaluesOnly);
  return es.eigenvalues()(3);
}

/// RMSD after optimal rotation of two *centred* sets given their correlation
/// matrix and inner products; @p n is the number of points.
inline double superposed_rmsd(const Eigen::Matrix3d& correlation, double g_a, double g_b,
                              std::size_t n) {
  const double lambda = horn_lambda_max(correlation, 0.5 * (g_a + g_b));
  const double msd = (g_a + g_b - 2.0 * lambda) / static_cast<double>(n);
  return std::sqrt(std::max(0.0, msd));
}

/// RMSD of @p b onto @p a after optimal translation and rotation, atoms in the
/// given order (RDKit's AlignMol without weights).
template <class DerivedA, class DerivedB>
double superposed_rmsd(const Eigen::MatrixBase<DerivedA>& a, const Eigen::MatrixBase<DerivedB>& b) {
  if (a.rows() != b.rows() || a.cols() != 3 || b.cols() != 3)
    throw shape_mismatch("superposed_rmsd(): point sets are " + std::to_string(a.rows()) + "x" +
                         std::to_string(a.cols()) + " and " + std::to_string(b.rows()) + "x" +
                         std::to_string(b.cols()) + "; both must be Nx3 with the same N");
  const auto n = static_cast<std::size_t>(a.rows());
  if (n == 0) return 0.0;
  const Eigen::RowVector3d ca = a.template cast<double>().colwise().mean();
  const Eigen::RowVector3d cb = b.template cast<double>().colwise().mean();
  const Eigen::MatrixX3d ac = a.template cast<double>().rowwise() - ca;
  const Eigen::MatrixX3d bc = b.template cast<double>().rowwise() - cb;
  const Eigen::Matrix3d m = ac.transpose() * bc;
  return superposed_rmsd(m, ac.squaredNorm(), bc.squaredNorm(), n);
}

/// Rigid transform x -> rotation * x + translation that best maps b onto a.
struct rigid_transform {
  Eigen::Matrix3d rotation = Eigen::Matrix3d::Identity();
  Eigen::Vector3d translation = Eigen::Vector3d::Zero();
};

/// Kabsch: the proper rotation (det = +1) and translation minimising the RMSD
/// between a and the transformed b.
template <class DerivedA, class DerivedB>
rigid_transform kabsch(const Eigen::MatrixBase<DerivedA>& a, const Eigen::MatrixBase<DerivedB>& b) {
  if (a.rows() != b.rows() || a.cols() != 3 || b.cols() != 3 || a.rows() == 0)
    throw shape_mismatch("kabsch(): point sets are " + std::to_string(a.rows()) + "x" +
                         std::to_string(a.cols()) + " and " + std::to_string(b.rows()) + "x" +
                         std::to_string(b.cols()) + "; both must be Nx3 with the same N > 0");
  const Eigen::RowVector3d ca = a.template cast<double>().colwise().mean();
  const Eigen::RowVector3d cb = b.template cast<double>().colwise().mean();
  const Eigen::MatrixX3d ac = a.template cast<double>().rowwise() - ca;
  const Eigen::MatrixX3d bc = b.template cast<double>().rowwise() - cb;
  // H = B^T A; R = V diag(1, 1, d) U^T with H = U S V^T maps b onto a.
  const Eigen::Matrix3d h = bc.transpose() * ac;
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(h, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Eigen::Matrix3d d = Eigen::Matrix3d::Identity();
  d(2, 2) = (svd.matrixV() * svd.matrixU().transpose()).determinant() < 0 ? -1.0 : 1.0;
  rigid_transform t;
  t.rotation = svd.matrixV() * d * svd.matrixU().transpose();
  t.translation = ca.transpose() - t.rotation * cb.transpose();
  return t;
}

/// Applies @p t to every row of @p x in place.
template <class Derived>
void apply(const rigid_transform& t, Eigen::MatrixBase<Derived>& x) {
  using S = typename Derived::Scalar;
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const Eigen::Vector3d p = x.row(i).transpose().template cast<double>();
    x.row(i) = (t.rotation * p + t.translation).transpose().template cast<S>();
  }
}

}  // namespace confsgm
