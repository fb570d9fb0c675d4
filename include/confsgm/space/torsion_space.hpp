// confsgm/space/torsion_space.hpp: the torsion state space of Torsional
// Diffusion (paper Sec. III, reference-spec §2): a conformer is a local
// structure (bond lengths, angles, rings: from ETKDG, kept fixed) plus one
// angle per rotatable bond; noise is a wrapped normal per torsion, and its
// score is the wrapped-normal score (space/torus.hpp).
//
// The state variables are absolute dihedral angles (fixed_ref-fixed-moving-
// moving_ref, core/torsion.hpp). Rotating one bond's moving side never changes
// another rotatable bond's dihedral (the bonds are bridges), so the state maps
// one to one onto coordinates: x(theta) = local rotated by theta - theta_local.
#pragma once

#include "confsgm/core/conformer.hpp"
#include "confsgm/core/extended_graph.hpp"
#include "confsgm/core/torsion.hpp"
#include "confsgm/space/distance_space.hpp"
#include "confsgm/space/state_space.hpp"
#include "confsgm/space/torus.hpp"

#include <map>
#include <string>

namespace confsgm {

/// What the torsion space needs to know about one molecule and local structure.
struct torsion_structure {
  std::string name;
  std::size_t n_atoms = 0;
  std::vector<std::uint32_t> atom_type;  ///< atomic numbers
  std::vector<extended_edge> edges;      ///< encoder graph: bonds, 2- and 3-hop pairs
  std::size_t num_edge_types = 0;
  std::vector<torsion_bond> torsions;
  rotatable_rule rule = rotatable_rule::stereo_safe;  ///< which bonds count as rotatable (core/torsion.hpp)
  coordinates<double> local;             ///< the local structure the torsions act on
  std::vector<double> local_torsions;    ///< dihedrals of `local`
};

struct torsion_space {
  using structure = torsion_structure;
  static std::string name() { return "torsion"; }

  /// Describes molecule @p g with local structure @p local (n_atoms x 3).
  template <class Derived>
  static structure describe(const molecule_graph& g, const Eigen::MatrixBase<Derived>& local,
                            rotatable_rule rule = rotatable_rule::stereo_safe, unsigned order = 3) {
    if (g.num_atoms() < 2) throw chemistry_error("torsion_space: '" + g.name() + "' has fewer than 2 atoms");
    if (static_cast<std::size_t>(local.rows()) != g.num_atoms() || local.cols() != 3)
      throw shape_mismatch("torsion_space::describe(): local structure of '" + g.name() + "' is " +
                           std::to_string(local.rows()) + "x" + std::to_string(local.cols()) + ", the molecule has " +
                           std::to_string(g.num_atoms()) + " atoms");
    if (!local.allFinite())
      throw invalid_argument("torsion_space::describe(): local structure of '" + g.name() +
                             "' has non-finite coordinates");
    const extended_graph eg(g, order);
    structure s;
    s.name = g.name();
    s.n_atoms = g.num_atoms();
    for (const auto& a : g.atoms()) s.atom_type.push_back(a.atomic_number);
    s.edges = eg.edges();
    s.num_edge_types = eg.num_edge_types();
    s.torsions = rotatable_bonds(g, rule);
    s.rule = rule;
    s.local = local.template cast<double>();
    s.local_torsions = torsions_of(s, s.local);
    return s;
  }

  /// Model-file entries a model trained on @p s needs to be sampled again: the rotatable-bond rule.
  static std::map<std::string, std::string> header_entries(const structure& s) {
    return {{"rotatable_rule", to_string(s.rule)}};
  }

  static std::size_t noise_dim(const structure& s) noexcept { return s.torsions.size(); }
  static double perturb(double theta0, double disp) noexcept { return torus::wrap(theta0 + disp); }
  /// Score of the wrapped normal WN(theta0, sigma^2) at theta0 + disp.
  static double dsm_target(double disp, double sigma) { return torus::score(disp, sigma); }
  /// lambda(sigma) = 1 / E[s^2] (Torsional Diffusion): every level contributes O(1).
  static double loss_weight(double sigma) {
    static const torus::score_norm_table table(1e-3, 10.0, 2001);
    return 1.0 / table(sigma);
  }

  /// Dihedrals of @p xyz at the structure's torsions.
  template <class Derived>
  static std::vector<double> torsions_of(const structure& s, const Eigen::MatrixBase<Derived>& xyz) {
    check_shape(s, xyz.rows(), xyz.cols(), "torsions_of");
    std::vector<double> t(s.torsions.size());
    for (std::size_t m = 0; m < t.size(); ++m) t[m] = torsion_angle(xyz, s.torsions[m]);
    return t;
  }

  /// Coordinates with dihedrals @p theta (the local structure, rotated).
  template <class Derived>
  static void coordinates_of(const structure& s, const double* theta, Eigen::MatrixBase<Derived>& out) {
    check_shape(s, out.rows(), out.cols(), "coordinates_of");
    out = s.local.cast<typename Derived::Scalar>();
    std::vector<double> inc(s.torsions.size());
    for (std::size_t m = 0; m < inc.size(); ++m) inc[m] = torus::wrap(theta[m] - s.local_torsions[m]);
    apply_torsion_increments(out, s.torsions, inc);
  }
  static coordinates<double> coordinates_of(const structure& s, const std::vector<double>& theta) {
    if (theta.size() != s.torsions.size())
      throw shape_mismatch("torsion_space::coordinates_of(): " + std::to_string(theta.size()) + " angles for " +
                           std::to_string(s.torsions.size()) + " torsions of '" + s.name + "'");
    coordinates<double> x(s.n_atoms, 3);
    coordinates_of(s, theta.data(), x);
    return x;
  }

 private:
  static void check_shape(const structure& s, Eigen::Index rows, Eigen::Index cols, const char* what) {
    if (static_cast<std::size_t>(rows) != s.n_atoms || cols != 3)
      throw shape_mismatch(std::string("torsion_space::") + what + "(): conformer is " + std::to_string(rows) + "x" +
                           std::to_string(cols) + ", '" + s.name + "' has " + std::to_string(s.n_atoms) + " atoms");
  }
};

static_assert(check_state_space<torsion_space>());

}  // namespace confsgm
