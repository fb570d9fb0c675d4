// confsgm/rdkit/stereo.hpp: does a 3D conformer have the stereochemistry its
// molecule specifies? Tetrahedral centres are compared by CIP label (R/S) and
// double bonds by E/Z, both perceived from the coordinates; centres the input
// leaves unspecified are not checked (any 3D choice is valid for them).
#pragma once

#include "confsgm/rdkit/convert.hpp"

#include <string>
#include <vector>

namespace confsgm::rdkit {

struct stereo_labels {
  std::vector<char> atom_cip;               ///< 'R', 'S' or 0, per atom
  std::vector<double_bond_stereo> bond_ez;  ///< per bond
};

/// Labels implied by the molecule's stereo tags (what the input specifies).
inline stereo_labels specified_stereo(const molecule_graph& g) {
  stereo_labels s;
  for (const auto& a : g.atoms()) s.atom_cip.push_back(a.cip);
  for (const auto& b : g.bonds()) s.bond_ez.push_back(b.stereo);
  return s;
}

/// Labels perceived from conformer @p conf_id of @p mol.
inline stereo_labels stereo_from_3d(const RDKit::ROMol& mol, int conf_id = -1) {
  RDKit::RWMol work(mol);
  RDKit::MolOps::assignStereochemistryFrom3D(work, conf_id, /*replaceExistingTags=*/true);
  stereo_labels s;
  for (const auto* a : work.atoms()) {
    std::string cip;
    s.atom_cip.push_back(a->getPropIfPresent(RDKit::common_properties::_CIPCode, cip) && !cip.empty() ? cip[0]
                                                                                                       : 0);
  }
  for (const auto* b : work.bonds()) s.bond_ez.push_back(detail::to_bond_stereo(b->getStereo()));
  return s;
}

/// Empty when @p found honours every label of @p expected; otherwise a short
/// description such as "atom 5 is S (R expected); bond 7-8 is Z (E expected)".
inline std::string stereo_mismatch(const stereo_labels& expected, const stereo_labels& found,
                                   const molecule_graph& g) {
  std::string msg;
  auto add = [&](const std::string& s) { msg += (msg.empty() ? "" : "; ") + s; };
  for (std::size_t i = 0; i < expected.atom_cip.size() && i < found.atom_cip.size(); ++i) {
    const char want = expected.atom_cip[i];
    if (want != 'R' && want != 'S') continue;
    if (found.atom_cip[i] != want)
      add("atom " + std::to_string(i + 1) + " is " +
          (found.atom_cip[i] ? std::string(1, found.atom_cip[i]) : std::string("not a stereocentre")) + " (" +
          std::string(1, want) + " expected)");
  }
  auto ez = [](double_bond_stereo s) { return s == double_bond_stereo::e ? "E" : s == double_bond_stereo::z ? "Z" : "unassigned"; };
  for (std::size_t b = 0; b < expected.bond_ez.size() && b < found.bond_ez.size(); ++b) {
    const auto want = expected.bond_ez[b];
    if (want != double_bond_stereo::e && want != double_bond_stereo::z) continue;
    if (found.bond_ez[b] != want) {
      const auto& bd = g.bond_at(b);
      add("bond " + std::to_string(bd.begin + 1) + "-" + std::to_string(bd.end + 1) + " is " + ez(found.bond_ez[b]) +
          " (" + ez(want) + " expected)");
    }
  }
  return msg;
}

}  // namespace confsgm::rdkit
