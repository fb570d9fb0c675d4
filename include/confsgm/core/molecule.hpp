// confsgm/core/molecule.hpp: the molecule graph every state space, model and
// metric works on. Hydrogens are ordinary atoms when the source had them
// explicit (the RDKit adapter always makes them explicit). The graph keeps the
// chemistry the score models and the stereo checks need: element, charge,
// aromaticity, hybridisation, ring membership, chirality, bond order and
// double-bond stereo. No dependency beyond the standard library.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "confsgm/core/element.hpp"
#include "confsgm/error.hpp"

namespace confsgm {

/// Bond order as a chemist reads it; aromatic bonds keep their own kind
/// because Kekulé assignments are arbitrary and would break symmetry.
enum class bond_type : std::uint8_t { single = 0, double_ = 1, triple = 2, aromatic = 3, other = 4 };
inline constexpr std::size_t num_bond_types = 5;

enum class hybridization : std::uint8_t { unspecified, s, sp, sp2, sp3, sp3d, sp3d2, other };

/// Tetrahedral parity tag relative to the neighbour order (RDKit/SMILES sense).
enum class chiral_tag : std::uint8_t { none, clockwise, counterclockwise, other };

/// Geometric label of a stereo double bond (CIP E/Z); `any` = explicitly unknown.
enum class double_bond_stereo : std::uint8_t { none, any, e, z };

struct atom {
  std::uint8_t atomic_number = 0;
  std::int8_t formal_charge = 0;
  /// Hydrogens attached, explicit neighbours and implicit ones together.
  std::uint8_t total_hydrogens = 0;
  std::uint8_t radical_electrons = 0;
  std::uint16_t isotope = 0;  ///< 0 = natural abundance
  bool aromatic = false;
  bool in_ring = false;
  hybridization hybrid = hybridization::unspecified;
  chiral_tag chirality = chiral_tag::none;
  char cip = 0;  ///< 'R', 'S' or 0 when the atom is not a specified stereocentre
};

struct bond {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  bond_type type = bond_type::single;
  bool in_ring = false;
  bool conjugated = false;
  double_bond_stereo stereo = double_bond_stereo::none;
};

struct neighbor {
  std::uint32_t atom;
  std::uint32_t bond;
};

/// Undirected molecular graph with typed atoms and bonds.
class molecule_graph {
 public:
  molecule_graph() = default;
  explicit molecule_graph(std::string name) : name_(std::move(name)) {}

  std::size_t add_atom(const atom& a) {
    if (!is_element(a.atomic_number))
      throw chemistry_error("molecule_graph::add_atom(): atom " + std::to_string(atoms_.size()) +
                            " of '" + name_ + "' has atomic number " +
                            std::to_string(a.atomic_number) + ", which is not an element");
    atoms_.push_back(a);
    adjacency_.emplace_back();
    return atoms_.size() - 1;
  }

  std::size_t add_bond(const bond& b) {
    const auto n = atoms_.size();
    if (b.begin >= n || b.end >= n)
      throw invalid_argument("molecule_graph::add_bond(): bond " + std::to_string(b.begin) + "-" +
                             std::to_string(b.end) + " names an atom beyond the " +
                             std::to_string(n) + " atoms of '" + name_ + "'");
    if (b.begin == b.end)
      throw invalid_argument("molecule_graph::add_bond(): atom " + std::to_string(b.begin) +
                             " is bonded to itself in '" + name_ + "'");
    if (bond_between(b.begin, b.end))
      throw invalid_argument("molecule_graph::add_bond(): atoms " + std::to_string(b.begin) +
                             " and " + std::to_string(b.end) + " are bonded twice in '" + name_ +
                             "'");
    const auto idx = static_cast<std::uint32_t>(bonds_.size());
    bonds_.push_back(b);
    adjacency_[b.begin].push_back({b.end, idx});
    adjacency_[b.end].push_back({b.begin, idx});
    return idx;
  }

  const std::string& name() const noexcept { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }

  std::size_t num_atoms() const noexcept { return atoms_.size(); }
  std::size_t num_bonds() const noexcept { return bonds_.size(); }
  std::span<const atom> atoms() const noexcept { return atoms_; }
  std::span<const bond> bonds() const noexcept { return bonds_; }
  const atom& atom_at(std::size_t i) const { return atoms_.at(i); }
  atom& atom_at(std::size_t i) { return atoms_.at(i); }
  const bond& bond_at(std::size_t i) const { return bonds_.at(i); }
  bond& bond_at(std::size_t i) { return bonds_.at(i); }
  std::span<const neighbor> neighbors(std::size_t i) const { return adjacency_.at(i); }
  std::size_t degree(std::size_t i) const { return adjacency_.at(i).size(); }

  std::optional<std::uint32_t> bond_between(std::size_t i, std::size_t j) const {
    if (i >= adjacency_.size()) return std::nullopt;
    for (const auto& nb : adjacency_[i])
      if (nb.atom == j) return nb.bond;
    return std::nullopt;
  }

  bool is_heavy(std::size_t i) const { return atoms_.at(i).atomic_number != 1; }
  std::size_t num_heavy_atoms() const {
    return static_cast<std::size_t>(
        std::count_if(atoms_.begin(), atoms_.end(), [](const atom& a) { return a.atomic_number != 1; }));
  }
  /// Indices of the non-hydrogen atoms, in atom order.
  std::vector<std::uint32_t> heavy_atoms() const {
    std::vector<std::uint32_t> out;
    for (std::uint32_t i = 0; i < atoms_.size(); ++i)
      if (atoms_[i].atomic_number != 1) out.push_back(i);
    return out;
  }

  int net_charge() const {
    int q = 0;
    for (const auto& a : atoms_) q += a.formal_charge;
    return q;
  }

  /// Connected-component id of every atom (ids in order of first atom).
  std::vector<std::uint32_t> fragment_ids() const {
    constexpr auto unset = static_cast<std::uint32_t>(-1);
    std::vector<std::uint32_t> id(atoms_.size(), unset);
    std::vector<std::uint32_t> stack;
    std::uint32_t next = 0;
    for (std::uint32_t s = 0; s < atoms_.size(); ++s) {
      if (id[s] != unset) continue;
      id[s] = next;
      stack.push_back(s);
      while (!stack.empty()) {
        const auto v = stack.back();
        stack.pop_back();
        for (const auto& nb : adjacency_[v])
          if (id[nb.atom] == unset) {
            id[nb.atom] = next;
            stack.push_back(nb.atom);
          }
      }
      ++next;
    }
    return id;
  }
  std::size_t num_fragments() const {
    const auto ids = fragment_ids();
    return ids.empty() ? 0 : *std::max_element(ids.begin(), ids.end()) + 1;
  }

  /// Hill-order formula with the net charge, e.g. "C10H12N2O+".
  std::string formula() const {
    std::map<unsigned, std::size_t> count;
    std::size_t implicit_h = 0;
    for (std::size_t i = 0; i < atoms_.size(); ++i) {
      ++count[atoms_[i].atomic_number];
      std::size_t explicit_h = 0;
      for (const auto& nb : adjacency_[i])
        if (atoms_[nb.atom].atomic_number == 1) ++explicit_h;
      if (atoms_[i].total_hydrogens > explicit_h) implicit_h += atoms_[i].total_hydrogens - explicit_h;
    }
    count[1] += implicit_h;
    if (count[1] == 0) count.erase(1);
    std::string s;
    auto put = [&](unsigned z) {
      auto it = count.find(z);
      if (it == count.end()) return;
      s += element_symbol(z);
      if (it->second > 1) s += std::to_string(it->second);
      count.erase(it);
    };
    const bool has_carbon = count.count(6) != 0;
    if (has_carbon) {
      put(6);
      put(1);
    }
    std::map<std::string_view, unsigned> by_symbol;
    for (const auto& [z, n] : count) by_symbol[element_symbol(z)] = z;
    for (const auto& [sym, z] : by_symbol) put(z);
    const int q = net_charge();
    // Appended piecewise: "+" + std::to_string(q) trips GCC 12's -Wrestrict false positive.
    if (q != 0) s.push_back(q > 0 ? '+' : '-');
    if (q > 1 || q < -1) s.append(std::to_string(q > 0 ? q : -q));
    return s;
  }

 private:
  std::string name_;
  std::vector<atom> atoms_;
  std::vector<bond> bonds_;
  std::vector<std::vector<neighbor>> adjacency_;
};

/// True when @p a and @p b have the same atoms (element, charge, isotope) in
/// the same order and the same bonds with the same types. This is the check
/// that conformer records of one molecule must pass.
inline bool same_constitution(const molecule_graph& a, const molecule_graph& b) {
  if (a.num_atoms() != b.num_atoms() || a.num_bonds() != b.num_bonds()) return false;
  for (std::size_t i = 0; i < a.num_atoms(); ++i) {
    const auto &x = a.atom_at(i), &y = b.atom_at(i);
    if (x.atomic_number != y.atomic_number || x.formal_charge != y.formal_charge ||
        x.isotope != y.isotope)
      return false;
  }
  for (const auto& bd : a.bonds()) {
    const auto other = b.bond_between(bd.begin, bd.end);
    if (!other || b.bond_at(*other).type != bd.type) return false;
  }
  return true;
}

/// First difference between two constitutions, in words (empty when equal).
inline std::string constitution_difference(const molecule_graph& a, const molecule_graph& b) {
  if (a.num_atoms() != b.num_atoms())
    return std::to_string(b.num_atoms()) + " atoms where " + std::to_string(a.num_atoms()) +
           " were expected";
  for (std::size_t i = 0; i < a.num_atoms(); ++i) {
    const auto &x = a.atom_at(i), &y = b.atom_at(i);
    if (x.atomic_number != y.atomic_number)
      return "atom " + std::to_string(i + 1) + " is " + std::string(element_symbol(y.atomic_number)) +
             " where " + std::string(element_symbol(x.atomic_number)) + " was expected";
    if (x.formal_charge != y.formal_charge)
      return "atom " + std::to_string(i + 1) + " has charge " + std::to_string(y.formal_charge) +
             " where " + std::to_string(x.formal_charge) + " was expected";
    if (x.isotope != y.isotope) return "atom " + std::to_string(i + 1) + " has another isotope";
  }
  if (a.num_bonds() != b.num_bonds())
    return std::to_string(b.num_bonds()) + " bonds where " + std::to_string(a.num_bonds()) +
           " were expected";
  for (const auto& bd : a.bonds()) {
    const auto other = b.bond_between(bd.begin, bd.end);
    if (!other)
      return "bond " + std::to_string(bd.begin + 1) + "-" + std::to_string(bd.end + 1) + " is missing";
    if (b.bond_at(*other).type != bd.type)
      return "bond " + std::to_string(bd.begin + 1) + "-" + std::to_string(bd.end + 1) +
             " has another order";
  }
  return {};
}

}  // namespace confsgm
