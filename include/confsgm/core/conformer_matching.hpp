// confsgm/core/conformer_matching.hpp: conformer matching (reference-spec
// §2.1): transfer a reference conformer's torsions onto a local structure
// (ETKDG bond lengths and angles) by minimising the superposed RMSD over the
// torsion angles. Torsional Diffusion trains on such matched conformers, never
// on the reference's own local structures.
//
// We start from the reference's own dihedrals, which already lands next to the
// optimum because only bond lengths and angles differ, then descend the
// all-atom superposed MSD. Its gradient needs no derivative of the optimal
// rotation (envelope theorem): with the reference superposed onto the current
// coordinates x as y,
//   dMSD/dtheta_t = 2/N sum_{a in side(t)} (x_a - y_a) . (axis_t x (x_a - pivot_t)).
#pragma once

#include "confsgm/geometry/superposition.hpp"
#include "confsgm/space/torsion_space.hpp"

namespace confsgm {

struct torsion_match_options {
  std::size_t max_iterations = 200;
  double gradient_tolerance = 1e-8;  ///< stop when |dMSD/dtheta| falls below (Angstrom^2 per radian)
};

struct torsion_match {
  std::vector<double> torsions;  ///< matched dihedrals (the training state)
  coordinates<double> xyz;       ///< local structure with those dihedrals
  double rmsd = 0;               ///< all atoms, superposed (the objective)
  double heavy_rmsd = 0;         ///< heavy atoms, superposed (what the reference reports)
  double start_rmsd = 0;         ///< all atoms, at the reference's own dihedrals
  std::size_t iterations = 0;
};

namespace detail {
inline double aligned_msd(const coordinates<double>& x, const coordinates<double>& ref, coordinates<double>* aligned) {
  const auto t = kabsch(x, ref);  // maps ref onto x
  coordinates<double> y = ref;
  apply(t, y);
  const double msd = (x - y).squaredNorm() / static_cast<double>(x.rows());
  if (aligned) *aligned = std::move(y);
  return msd;
}
}  // namespace detail

/// Matches reference conformer @p reference (n_atoms x 3, same atom order) onto the local structure of @p s.
inline torsion_match match_torsions(const torsion_structure& s, const coordinates<double>& reference,
                                    const torsion_match_options& o = {}) {
  if (static_cast<std::size_t>(reference.rows()) != s.n_atoms)
    throw shape_mismatch("match_torsions(): reference conformer has " + std::to_string(reference.rows()) +
                         " atoms, '" + s.name + "' has " + std::to_string(s.n_atoms));
  if (!reference.allFinite())
    throw invalid_argument("match_torsions(): reference conformer of '" + s.name + "' has non-finite coordinates");
  const auto T = s.torsions.size();
  const double n = static_cast<double>(s.n_atoms);
  torsion_match m;
  m.torsions = torsion_space::torsions_of(s, reference);
  coordinates<double> x = torsion_space::coordinates_of(s, m.torsions), y;
  double msd = detail::aligned_msd(x, reference, &y);
  m.start_rmsd = std::sqrt(msd);
  double step = 0.1;
  std::vector<double> grad(T), trial(T);
  for (; m.iterations < o.max_iterations && T > 0; ++m.iterations) {
    double gnorm2 = 0;
    for (std::size_t t = 0; t < T; ++t) {
      const auto& tb = s.torsions[t];
      const Eigen::RowVector3d pivot = x.row(tb.moving);
      const Eigen::RowVector3d axis = (pivot - x.row(tb.fixed)).normalized();
      double g = 0;
      for (const auto a : tb.side) g += (x.row(a) - y.row(a)).dot(axis.cross(x.row(a) - pivot));
      grad[t] = 2.0 * g / n;
      gnorm2 += grad[t] * grad[t];
    }
    if (std::sqrt(gnorm2) < o.gradient_tolerance) break;
    // Backtracking (Armijo) along the negative gradient; the step adapts between iterations.
    bool moved = false;
    for (int tries = 0; tries < 40; ++tries) {
      for (std::size_t t = 0; t < T; ++t) trial[t] = torus::wrap(m.torsions[t] - step * grad[t]);
      coordinates<double> xt = torsion_space::coordinates_of(s, trial), yt;
      const double msd_t = detail::aligned_msd(xt, reference, &yt);
      if (msd_t <= msd - 1e-4 * step * gnorm2) {
        m.torsions = trial;
        x = std::move(xt);
        y = std::move(yt);
        msd = msd_t;
        step *= 2.0;
        moved = true;
        break;
      }
      step *= 0.5;
    }
    if (!moved) break;  // no descent left at machine precision
  }
  m.xyz = std::move(x);
  m.rmsd = std::sqrt(msd);
  std::vector<Eigen::Index> heavy;
  for (std::size_t a = 0; a < s.n_atoms; ++a)
    if (s.atom_type[a] != 1) heavy.push_back(static_cast<Eigen::Index>(a));
  if (heavy.size() >= 2) {
    coordinates<double> hx(static_cast<Eigen::Index>(heavy.size()), 3), hr(static_cast<Eigen::Index>(heavy.size()), 3);
    for (std::size_t k = 0; k < heavy.size(); ++k) {
      hx.row(static_cast<Eigen::Index>(k)) = m.xyz.row(heavy[k]);
      hr.row(static_cast<Eigen::Index>(k)) = reference.row(heavy[k]);
    }
    m.heavy_rmsd = superposed_rmsd(hx, hr);
  }
  return m;
}

}  // namespace confsgm
