// confsgm/core/connectivity.hpp: which atoms a geometry bonds, judged from
// distances and covalent radii, and whether that still matches the molecule's
// bond graph. Used to drop optimised structures that reacted (a proton moved,
// a ring opened), as GEOM's and Torsional Diffusion's pipelines do.
//
// Rule: atoms i and j are bonded when d_ij < factor * (r_i + r_j), with the
// covalent radii of Cordero et al., Dalton Trans. 2008, 2832 and factor 1.3
// (the xyz2mol default). Between bonded (~1.0-1.1 x) and 1,3 (~1.6 x) distances
// there is room on both sides.
#pragma once

#include "confsgm/core/conformer.hpp"
#include "confsgm/core/element.hpp"
#include "confsgm/core/molecule.hpp"
#include "confsgm/error.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

namespace confsgm {

/// Covalent radius in Å (Cordero 2008; sp3 carbon), or 0 for elements beyond Xe.
constexpr double covalent_radius(unsigned z) noexcept {
  constexpr std::array<double, 55> r = {
      0.00, 0.31, 0.28,                                                        // -, H, He
      1.28, 0.96, 0.84, 0.76, 0.71, 0.66, 0.57, 0.58,                          // Li..Ne
      1.66, 1.41, 1.21, 1.11, 1.07, 1.05, 1.02, 1.06,                          // Na..Ar
      2.03, 1.76, 1.70, 1.60, 1.53, 1.39, 1.39, 1.32, 1.26, 1.24, 1.32, 1.22,  // K..Zn
      1.22, 1.20, 1.19, 1.20, 1.20, 1.16,                                      // Ga..Kr
      2.20, 1.95, 1.90, 1.75, 1.64, 1.54, 1.47, 1.46, 1.42, 1.39, 1.45, 1.44,  // Rb..Cd
      1.42, 1.39, 1.39, 1.38, 1.39, 1.40};                                     // In..Xe
  return z < r.size() ? r[z] : 0.0;
}

struct connectivity_options {
  double factor = 1.3;            ///< a bond of the graph is broken when d >= factor * (r_i + r_j)
  double new_bond_factor = 1.15;  ///< a pair outside the graph is a new bond when d < this * (r_i + r_j)
};

/// Atom pairs (i < j) that the geometry bonds, in lexicographic order.
template <class Derived>
std::vector<std::pair<std::uint32_t, std::uint32_t>> bonds_from_geometry(const molecule_graph& g,
                                                                        const Eigen::MatrixBase<Derived>& xyz,
                                                                        const connectivity_options& opts = {}) {
  const auto n = g.num_atoms();
  if (static_cast<std::size_t>(xyz.rows()) != n || xyz.cols() != 3)
    throw shape_mismatch("bonds_from_geometry(): conformer is " + std::to_string(xyz.rows()) + "x" +
                         std::to_string(xyz.cols()) + " but '" + g.name() + "' has " + std::to_string(n) +
                         " atoms");
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  for (std::uint32_t i = 0; i < n; ++i) {
    const double ri = covalent_radius(g.atom_at(i).atomic_number);
    if (ri == 0.0)
      throw not_supported("bonds_from_geometry(): no covalent radius for element " +
                          std::string(element_symbol(g.atom_at(i).atomic_number)) + " (atom " +
                          std::to_string(i + 1) + " of '" + g.name() + "')");
    for (std::uint32_t j = i + 1; j < n; ++j) {
      const double cut = opts.factor * (ri + covalent_radius(g.atom_at(j).atomic_number));
      const double d2 = (xyz.row(i) - xyz.row(j)).template cast<double>().squaredNorm();
      if (d2 < cut * cut) out.emplace_back(i, j);
    }
  }
  return out;
}

/// Empty when every bond of @p g is intact in @p xyz and no new bond formed;
/// otherwise a description such as "bond C3-C7 broken (2.41 A); new bond
/// O5-H12 (0.98 A)". With @p reference (the geometry before an optimisation),
/// close contacts already present there are not counted as new bonds.
template <class Derived>
std::string topology_change(const molecule_graph& g, const Eigen::MatrixBase<Derived>& xyz,
                            const connectivity_options& opts = {},
                            const coordinates<double>* reference = nullptr) {
  auto found = bonds_from_geometry(g, xyz, opts);
  connectivity_options tight = opts;
  tight.factor = opts.new_bond_factor;
  const auto close = bonds_from_geometry(g, xyz, tight);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> expected;
  for (const auto& b : g.bonds()) expected.emplace_back(std::min(b.begin, b.end), std::max(b.begin, b.end));
  std::sort(expected.begin(), expected.end());
  std::string msg;
  auto add = [&](const std::string& s) { msg += (msg.empty() ? "" : "; ") + s; };
  auto name = [&](std::uint32_t i) {
    return std::string(element_symbol(g.atom_at(i).atomic_number)) + std::to_string(i + 1);
  };
  auto dist = [&](std::uint32_t i, std::uint32_t j) {
    const double d = (xyz.row(i) - xyz.row(j)).template cast<double>().norm();
    return std::to_string(d).substr(0, 4);
  };
  std::vector<std::pair<std::uint32_t, std::uint32_t>> broken, formed;
  std::set_difference(expected.begin(), expected.end(), found.begin(), found.end(), std::back_inserter(broken));
  // New bonds need a tighter contact than kept ones: strained cages hold non-bonded
  // C...C pairs at 1.8-1.9 Å (bicyclo[1.1.1]pentane), within 1.3 x (r_i + r_j).
  std::set_difference(close.begin(), close.end(), expected.begin(), expected.end(), std::back_inserter(formed));
  if (reference) {
    const auto before = bonds_from_geometry(g, *reference, tight);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> truly_new;
    std::set_difference(formed.begin(), formed.end(), before.begin(), before.end(), std::back_inserter(truly_new));
    formed.swap(truly_new);
  }
  for (const auto& [i, j] : broken) add("bond " + name(i) + "-" + name(j) + " broken (" + dist(i, j) + " A)");
  for (const auto& [i, j] : formed) add("new bond " + name(i) + "-" + name(j) + " (" + dist(i, j) + " A)");
  return msg;
}

}  // namespace confsgm
