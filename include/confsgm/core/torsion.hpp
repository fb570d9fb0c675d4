// confsgm/core/torsion.hpp: rotatable bonds, dihedral angles, and torsion
// increments applied to coordinates (reference-spec §2.2).
//
// A bond is a torsion when removing it splits the molecule (no ring bond)
// and the smaller side has at least 2 atoms (so C-CH3 and C-OH count). The
// smaller side rotates about the bond axis; the larger side never moves.
// Rules:
//   reference   : any bond order (Torsional Diffusion's rule: also non-ring double and triple bonds);
//   stereo_safe : single bonds only, so a double bond's E/Z (or planarity) is never changed (default).
#pragma once

#include "confsgm/core/conformer.hpp"
#include "confsgm/core/molecule.hpp"
#include "confsgm/error.hpp"

#include <Eigen/Geometry>

#include <cmath>
#include <deque>
#include <string>
#include <vector>

namespace confsgm {

enum class rotatable_rule { stereo_safe, reference };

/// "stereo-safe" or "reference": the spelling of model files (entry `rotatable_rule`) and the command line.
inline std::string to_string(rotatable_rule r) { return r == rotatable_rule::stereo_safe ? "stereo-safe" : "reference"; }

/// Parses to_string's spelling; throws invalid_argument naming the accepted values.
inline rotatable_rule parse_rotatable_rule(const std::string& s) {
  if (s == "stereo-safe") return rotatable_rule::stereo_safe;
  if (s == "reference") return rotatable_rule::reference;
  throw invalid_argument("rotatable-bond rule must be stereo-safe or reference, got '" + s + "'");
}

struct torsion_bond {
  std::uint32_t bond = 0;            ///< bond index in the molecule graph
  std::uint32_t fixed = 0;           ///< end atom on the side that stays
  std::uint32_t moving = 0;          ///< end atom on the side that rotates
  std::vector<std::uint32_t> side;   ///< every atom that rotates (includes `moving`)
  std::uint32_t fixed_ref = 0;       ///< a neighbour of `fixed` (not `moving`), defines the dihedral
  std::uint32_t moving_ref = 0;      ///< a neighbour of `moving` (not `fixed`)
};

/// The torsions of @p g under @p rule, in bond order.
inline std::vector<torsion_bond> rotatable_bonds(const molecule_graph& g,
                                                 rotatable_rule rule = rotatable_rule::stereo_safe) {
  std::vector<torsion_bond> out;
  const auto n = g.num_atoms();
  std::vector<int> seen(n);
  for (std::uint32_t b = 0; b < g.num_bonds(); ++b) {
    const auto& bd = g.bond_at(b);
    if (rule == rotatable_rule::stereo_safe && bd.type != bond_type::single) continue;
    // Atoms reachable from `end` without crossing bond b.
    std::fill(seen.begin(), seen.end(), 0);
    std::deque<std::uint32_t> q{bd.end};
    seen[bd.end] = 1;
    std::size_t count = 1;
    bool ring = false;
    while (!q.empty() && !ring) {
      const auto a = q.front();
      q.pop_front();
      for (const auto& nb : g.neighbors(a)) {
        if (nb.bond == b) continue;
        if (nb.atom == bd.begin) {
          ring = true;
          break;
        }
        if (!seen[nb.atom]) {
          seen[nb.atom] = 1;
          ++count;
          q.push_back(nb.atom);
        }
      }
    }
    if (ring) continue;
    const std::size_t other = n - count;
    // The smaller side moves; on a tie, the side of the bond's end atom.
    const bool end_moves = count <= other;
    const std::size_t moving_size = end_moves ? count : other;
    if (moving_size < 2) continue;
    torsion_bond t;
    t.bond = b;
    t.moving = end_moves ? bd.end : bd.begin;
    t.fixed = end_moves ? bd.begin : bd.end;
    for (std::uint32_t a = 0; a < n; ++a)
      if (static_cast<bool>(seen[a]) == end_moves) t.side.push_back(a);
    for (const auto& nb : g.neighbors(t.fixed))
      if (nb.atom != t.moving) {
        t.fixed_ref = nb.atom;
        break;
      }
    for (const auto& nb : g.neighbors(t.moving))
      if (nb.atom != t.fixed) {
        t.moving_ref = nb.atom;
        break;
      }
    if (t.fixed_ref == t.fixed || g.neighbors(t.fixed).size() < 2) continue;  // nothing defines the angle
    out.push_back(std::move(t));
  }
  return out;
}

/// Signed dihedral angle a-b-c-d in radians, in (-pi, pi].
template <class Derived>
double dihedral(const Eigen::MatrixBase<Derived>& x, std::uint32_t a, std::uint32_t b, std::uint32_t c,
                std::uint32_t d) {
  const Eigen::Vector3d b0 = (x.row(a) - x.row(b)).transpose().template cast<double>();
  const Eigen::Vector3d b1 = (x.row(c) - x.row(b)).transpose().template cast<double>().normalized();
  const Eigen::Vector3d b2 = (x.row(d) - x.row(c)).transpose().template cast<double>();
  const Eigen::Vector3d v = b0 - b0.dot(b1) * b1;
  const Eigen::Vector3d w = b2 - b2.dot(b1) * b1;
  return std::atan2(b1.cross(v).dot(w), v.dot(w));
}

/// Dihedral of a torsion, fixed_ref - fixed - moving - moving_ref.
template <class Derived>
double torsion_angle(const Eigen::MatrixBase<Derived>& x, const torsion_bond& t) {
  return dihedral(x, t.fixed_ref, t.fixed, t.moving, t.moving_ref);
}

/// Rotates the moving side of each torsion by its increment (radians), one
/// bond after the other on the current coordinates. A positive increment
/// increases torsion_angle() by that amount (mod 2 pi).
template <class Derived>
void apply_torsion_increments(Eigen::MatrixBase<Derived>& x, const std::vector<torsion_bond>& torsions,
                              const std::vector<double>& increments) {
  if (increments.size() != torsions.size())
    throw shape_mismatch("apply_torsion_increments(): " + std::to_string(increments.size()) + " increments for " +
                         std::to_string(torsions.size()) + " torsions");
  for (std::size_t m = 0; m < torsions.size(); ++m) {
    if (increments[m] == 0.0) continue;
    const auto& t = torsions[m];
    const Eigen::Vector3d origin = x.row(t.moving).transpose().template cast<double>();
    const Eigen::Vector3d axis = (origin - x.row(t.fixed).transpose().template cast<double>()).normalized();
    const Eigen::Matrix3d R = Eigen::AngleAxisd(increments[m], axis).toRotationMatrix();
    for (const auto a : t.side) {
      const Eigen::Vector3d p = x.row(a).transpose().template cast<double>() - origin;
      x.row(a) = (R * p + origin).transpose().template cast<typename Derived::Scalar>();
    }
  }
}

}  // namespace confsgm
