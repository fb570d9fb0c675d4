// confsgm/space/distance_space.hpp: the Euclidean distance state space of
// ConfGF (paper Sec. III, reference-spec §5): the state of a conformer is the
// vector of distances on its extended graph (bonds, 2- and 3-hop pairs);
// noise is added per pair; the score of the distances becomes a score of the
// coordinates by the chain rule
//     S_i = sum_{pairs (i,j)} s_ij (x_i - x_j) / d_ij,
// which is equivariant: rotating x rotates S, translating x leaves it.
#pragma once

#include "confsgm/core/extended_graph.hpp"
#include "confsgm/error.hpp"
#include "confsgm/space/state_space.hpp"

#include <Eigen/Core>

#include <cmath>
#include <concepts>
#include <vector>

namespace confsgm {

/// What the distance space needs to know about one molecule.
struct distance_structure {
  std::size_t n_atoms = 0;
  std::vector<std::uint32_t> atom_type;  ///< atomic numbers
  std::vector<extended_edge> edges;      ///< i < j, with hop count and type id
  std::size_t num_edge_types = 0;
};

struct distance_space {
  using structure = distance_structure;
  static std::string name() { return "distance"; }

  static structure describe(const molecule_graph& g, unsigned order = 3) {
    if (g.num_atoms() < 2) throw chemistry_error("distance_space: '" + g.name() + "' has fewer than 2 atoms");
    const extended_graph eg(g, order);
    structure s;
    s.n_atoms = g.num_atoms();
    for (const auto& a : g.atoms()) s.atom_type.push_back(a.atomic_number);
    s.edges = eg.edges();
    s.num_edge_types = eg.num_edge_types();
    return s;
  }
  static std::size_t noise_dim(const structure& s) noexcept { return s.edges.size(); }
  static double perturb(double d0, double disp) noexcept { return d0 + disp; }
  /// Score of N(d0, sigma^2) at d0 + disp: -disp / sigma^2 (Eq. 3).
  static double dsm_target(double disp, double sigma) noexcept { return -disp / (sigma * sigma); }
  /// lambda(sigma) = sigma^2 (ConfGF): every level contributes O(1).
  static double loss_weight(double sigma) noexcept { return sigma * sigma; }

  /// Distances of one conformer (xyz: n_atoms x 3) on the extended edges.
  template <class Derived, class Out>
  static void distances(const structure& s, const Eigen::MatrixBase<Derived>& xyz, Out* d) {
    if (static_cast<std::size_t>(xyz.rows()) != s.n_atoms || xyz.cols() != 3)
      throw shape_mismatch("distance_space::distances(): conformer is " + std::to_string(xyz.rows()) + "x" +
                           std::to_string(xyz.cols()) + ", molecule has " + std::to_string(s.n_atoms) + " atoms");
    for (std::size_t k = 0; k < s.edges.size(); ++k)
      d[k] = static_cast<Out>((xyz.row(s.edges[k].i) - xyz.row(s.edges[k].j)).norm());
  }

  /// Chain rule: coordinate score (n_atoms x 3) from per-pair distance scores.
  /// Pairs at zero distance contribute nothing (the direction is undefined).
  template <class Derived, class ScoreT, class OutDerived>
  static void coordinate_score(const structure& s, const Eigen::MatrixBase<Derived>& xyz, const ScoreT* pair_score,
                               Eigen::MatrixBase<OutDerived>& out) {
    out.setZero();
    for (std::size_t k = 0; k < s.edges.size(); ++k) {
      const auto i = s.edges[k].i, j = s.edges[k].j;
      const auto diff = (xyz.row(i) - xyz.row(j)).eval();
      const auto d = diff.norm();
      if (!(d > 0)) continue;
      const auto g = (diff * (static_cast<typename Derived::Scalar>(pair_score[k]) / d)).eval();
      out.row(i) += g;
      out.row(j) -= g;
    }
  }
};

static_assert(check_state_space<distance_space>());

}  // namespace confsgm
