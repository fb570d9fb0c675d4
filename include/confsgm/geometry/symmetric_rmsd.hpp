// confsgm/geometry/symmetric_rmsd.hpp: symmetry-aware heavy-atom RMSD, the
// metric behind every COV/MAT number in the literature.
//
// The quantity is RDKit's GetBestRMS on hydrogen-free molecules: the minimum,
// over all label-preserving automorphisms of the heavy-atom graph, of the RMSD
// after optimal rotation and translation. As in RDKit (2022.09 default
// `symmetrizeConjugatedTerminalGroups = true`), terminal O/N atoms that share a
// centre through a single and a double bond (carboxylates, nitro groups,
// amidines, phosphonates) are made equivalent first, so a carboxylate flip
// costs nothing.
//
// Cost model: the automorphisms are computed once per molecule (constructor);
// a pair then costs one 3x3 correlation and one quartic solve per
// automorphism. Conformers can be prepared once (centred heavy-atom
// coordinates) and reused across a whole RMSD matrix.
//
// Which atoms: strictly the heavy atoms (`compared_atoms::heavy`, the default),
// or the atoms RDKit's RemoveHs leaves (`compared_atoms::removehs`), which is
// what Torsional Diffusion and GeoMol score with (`GetBestRMS` after
// `Chem.RemoveHs`): RemoveHs keeps, with its default parameters, a hydrogen
// with an isotope label, one bonded to another hydrogen or to more than one
// atom, and one that defines the stereo of a double bond (the H of an imine
// =N-H whose C=N is E/Z). The rule is checked against RDKit on every
// reference of data/ (tests/scripts/cli_covmat_vs_rdkit.sh).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "confsgm/core/conformer.hpp"
#include "confsgm/core/graph_match.hpp"
#include "confsgm/core/molecule.hpp"
#include "confsgm/error.hpp"
#include "confsgm/geometry/superposition.hpp"

namespace confsgm {

/// The atoms an RMSD compares (see the file comment).
enum class compared_atoms { heavy, removehs };

struct symmetric_rmsd_options {
  compared_atoms atoms = compared_atoms::heavy;
  /// Treat terminal O/N pairs on one centre (single + double bond) as equivalent.
  bool symmetrize_conjugated_terminal_groups = true;
  /// Cap on enumerated automorphisms (RDKit's maxMatches default).
  std::size_t max_automorphisms = 1'000'000;
};

/// Centred heavy-atom coordinates of one conformer, ready for many pairs.
struct prepared_conformer {
  Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor> xyz;  ///< centred, heavy atoms only
  double inner_product = 0;                                      ///< sum of squared norms
  bool finite = true;
};

/// Indices of the atoms @p which compares in @p g, in atom order.
inline std::vector<std::uint32_t> compared_atom_indices(const molecule_graph& g, compared_atoms which) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 0; i < g.num_atoms(); ++i) {
    const auto& a = g.atom_at(i);
    bool keep = a.atomic_number != 1;
    if (!keep && which == compared_atoms::removehs) {
      if (a.isotope != 0 || g.degree(i) != 1) {
        keep = true;
      } else {
        const auto centre = g.neighbors(i)[0].atom;
        if (g.atom_at(centre).atomic_number == 1) {
          keep = true;
        } else if (g.degree(centre) == 2) {  // the H is the only substituent that fixes a stereo double bond
          for (const auto& nb : g.neighbors(centre)) {
            const auto& b = g.bond_at(nb.bond);
            if (b.type == bond_type::double_ && (b.stereo == double_bond_stereo::e || b.stereo == double_bond_stereo::z))
              keep = true;
          }
        }
      }
    }
    if (keep) out.push_back(i);
  }
  return out;
}

inline std::string to_string(compared_atoms a) { return a == compared_atoms::heavy ? "heavy" : "removehs"; }
inline compared_atoms parse_compared_atoms(const std::string& s) {
  if (s == "heavy") return compared_atoms::heavy;
  if (s == "removehs") return compared_atoms::removehs;
  throw invalid_argument("compared atoms must be 'heavy' or 'removehs', got '" + s + "'");
}

namespace detail {
/// Label-carrying heavy-atom graph used for symmetry (atom label: element,
/// isotope, charge; edge label: bond type, or a shared label for symmetrised
/// terminal bonds).
inline labelled_graph heavy_symmetry_graph(const molecule_graph& g,
                                           const std::vector<std::uint32_t>& heavy,
                                           bool symmetrize_terminal) {
  constexpr std::uint32_t symmetrized_bond_label = 100;
  std::vector<std::int64_t> local(g.num_atoms(), -1);
  for (std::size_t k = 0; k < heavy.size(); ++k) local[heavy[k]] = static_cast<std::int64_t>(k);
  auto heavy_degree = [&](std::uint32_t v) {
    std::size_t d = 0;
    for (const auto& nb : g.neighbors(v)) d += (local[nb.atom] >= 0);
    return d;
  };
  auto terminal_on = [&](std::uint32_t v) {
    const auto z = g.atom_at(v).atomic_number;
    return (z == 7 || z == 8) && heavy_degree(v) == 1;
  };
  std::vector<char> neutralise(g.num_atoms(), 0);
  std::vector<char> bond_symmetrized(g.num_bonds(), 0);
  if (symmetrize_terminal) {
    for (const std::uint32_t centre : heavy) {
      bool has_single = false, has_double = false;
      for (const auto& nb : g.neighbors(centre)) {
        if (local[nb.atom] < 0 || !terminal_on(nb.atom)) continue;
        const auto t = g.bond_at(nb.bond).type;
        has_single |= (t == bond_type::single);
        has_double |= (t == bond_type::double_);
      }
      if (!(has_single && has_double)) continue;
      for (const auto& nb : g.neighbors(centre)) {
        if (local[nb.atom] < 0 || !terminal_on(nb.atom)) continue;
        const auto t = g.bond_at(nb.bond).type;
        if (t != bond_type::single && t != bond_type::double_) continue;
        neutralise[nb.atom] = 1;
        bond_symmetrized[nb.bond] = 1;
      }
    }
  }
  labelled_graph lg;
  for (const auto v : heavy) {
    const auto& a = g.atom_at(v);
    lg.add_vertex(atom_label(a.atomic_number, a.isotope, neutralise[v] ? 0 : a.formal_charge));
  }
  for (std::uint32_t b = 0; b < g.num_bonds(); ++b) {
    const auto& bd = g.bond_at(b);
    if (local[bd.begin] < 0 || local[bd.end] < 0) continue;
    const auto lbl =
        bond_symmetrized[b] ? symmetrized_bond_label : static_cast<std::uint32_t>(bd.type);
    lg.add_edge(static_cast<std::uint32_t>(local[bd.begin]), static_cast<std::uint32_t>(local[bd.end]),
                lbl);
  }
  return lg;
}
}  // namespace detail

/// Symmetry-aware heavy-atom RMSD for one molecule (see file comment).
class symmetric_rmsd {
 public:
  explicit symmetric_rmsd(const molecule_graph& g, symmetric_rmsd_options opts = {})
      : graph_(g), options_(opts), heavy_(compared_atom_indices(g, opts.atoms)) {
    if (heavy_.empty())
      throw chemistry_error("symmetric_rmsd(): '" + g.name() + "' has no heavy atoms");
    symmetry_graph_ =
        detail::heavy_symmetry_graph(g, heavy_, opts.symmetrize_conjugated_terminal_groups);
    automorphisms_ = automorphisms(symmetry_graph_, opts.max_automorphisms, &truncated_);
  }

  const molecule_graph& graph() const noexcept { return graph_; }
  /// The compared atoms: the heavy atoms, plus under compared_atoms::removehs the hydrogens RemoveHs keeps.
  std::size_t num_heavy_atoms() const noexcept { return heavy_.size(); }
  std::size_t num_automorphisms() const noexcept { return automorphisms_.size() / heavy_.size(); }
  /// True when the automorphism cap was reached (the RMSD may then be an upper bound).
  bool truncated() const noexcept { return truncated_; }
  const std::vector<std::uint32_t>& heavy_atoms() const noexcept { return heavy_; }

  /// Maps @p other's atoms onto this molecule: result[k] is the index, among
  /// other's atoms, of the atom playing heavy atom k here. Throws
  /// chemistry_error when the heavy-atom graphs differ.
  std::vector<std::uint32_t> atom_map_from(const molecule_graph& other) const {
    const auto other_heavy = compared_atom_indices(other, options_.atoms);
    const auto other_graph = detail::heavy_symmetry_graph(
        other, other_heavy, options_.symmetrize_conjugated_terminal_groups);
    const auto iso = find_isomorphism(symmetry_graph_, other_graph);
    if (!iso)
      throw chemistry_error("symmetric_rmsd::atom_map_from(): the heavy-atom graph of '" +
                            other.name() + "' (" + other.formula() + ") differs from that of '" +
                            graph_.name() + "' (" + graph_.formula() + ")");
    std::vector<std::uint32_t> out(heavy_.size());
    for (std::size_t k = 0; k < heavy_.size(); ++k) out[k] = other_heavy[(*iso)[k]];
    return out;
  }

  /// Centres the heavy atoms of a full-atom conformer (atom order of the graph).
  template <class Derived>
  prepared_conformer prepare(const Eigen::MatrixBase<Derived>& full_xyz) const {
    if (static_cast<std::size_t>(full_xyz.rows()) != graph_.num_atoms() || full_xyz.cols() != 3)
      throw shape_mismatch("symmetric_rmsd::prepare(): conformer is " +
                           std::to_string(full_xyz.rows()) + "x" + std::to_string(full_xyz.cols()) +
                           " but '" + graph_.name() + "' has " + std::to_string(graph_.num_atoms()) +
                           " atoms");
    return prepare_mapped(full_xyz, heavy_);
  }

  /// Like prepare(), for a conformer of another atom order: @p map from atom_map_from().
  template <class Derived>
  prepared_conformer prepare_mapped(const Eigen::MatrixBase<Derived>& xyz,
                                    const std::vector<std::uint32_t>& map) const {
    if (map.size() != heavy_.size())
      throw shape_mismatch("symmetric_rmsd::prepare_mapped(): atom map has " +
                           std::to_string(map.size()) + " entries for " +
                           std::to_string(heavy_.size()) + " heavy atoms");
    prepared_conformer p;
    p.xyz.resize(static_cast<Eigen::Index>(map.size()), 3);
    for (std::size_t k = 0; k < map.size(); ++k) {
      if (map[k] >= static_cast<std::size_t>(xyz.rows()))
        throw shape_mismatch("symmetric_rmsd::prepare_mapped(): atom map names atom " +
                             std::to_string(map[k]) + " of a " + std::to_string(xyz.rows()) +
                             "-atom conformer");
      p.xyz.row(static_cast<Eigen::Index>(k)) = xyz.row(map[k]).template cast<double>();
    }
    p.finite = p.xyz.allFinite();
    if (p.finite) {
      const Eigen::RowVector3d c = p.xyz.colwise().mean();
      p.xyz.rowwise() -= c;
      p.inner_product = p.xyz.squaredNorm();
    }
    return p;
  }

  /// Best RMSD (Å) between two prepared conformers; NaN if either is not finite.
  double operator()(const prepared_conformer& ref, const prepared_conformer& prb) const {
    if (!ref.finite || !prb.finite) return std::numeric_limits<double>::quiet_NaN();
    const std::size_t n = heavy_.size();
    const double* a = ref.xyz.data();
    const double* b = prb.xyz.data();
    double best = std::numeric_limits<double>::infinity();
    const std::uint32_t* perm = automorphisms_.data();
    for (std::size_t k = 0; k < num_automorphisms(); ++k, perm += n) {
      double m00 = 0, m01 = 0, m02 = 0, m10 = 0, m11 = 0, m12 = 0, m20 = 0, m21 = 0, m22 = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double* ai = a + 3 * i;
        const double* bi = b + 3 * perm[i];
        m00 += ai[0] * bi[0]; m01 += ai[0] * bi[1]; m02 += ai[0] * bi[2];
        m10 += ai[1] * bi[0]; m11 += ai[1] * bi[1]; m12 += ai[1] * bi[2];
        m20 += ai[2] * bi[0]; m21 += ai[2] * bi[1]; m22 += ai[2] * bi[2];
      }
      Eigen::Matrix3d m;
      m << m00, m01, m02, m10, m11, m12, m20, m21, m22;
      const double r = superposed_rmsd(m, ref.inner_product, prb.inner_product, n);
      if (r < best) best = r;
    }
    return best;
  }

  /// Best RMSD between two full-atom conformers of this molecule.
  template <class DA, class DB>
  double operator()(const Eigen::MatrixBase<DA>& ref_xyz, const Eigen::MatrixBase<DB>& prb_xyz) const {
    return (*this)(prepare(ref_xyz), prepare(prb_xyz));
  }

 private:
  molecule_graph graph_;
  symmetric_rmsd_options options_;
  std::vector<std::uint32_t> heavy_;
  labelled_graph symmetry_graph_;
  std::vector<std::uint32_t> automorphisms_;
  bool truncated_ = false;
};

}  // namespace confsgm
