// confsgm/rdkit/convert.hpp: RDKit molecule <-> confsgm::molecule_graph and
// coordinates. RDKit stays at the edges: the core never sees an RDKit type.
// Needs the confsgm::rdkit CMake target.
#pragma once

#include "confsgm/config.hpp"
#if !CONFSGM_HAS_RDKIT
#error "confsgm/rdkit/*.hpp need the confsgm::rdkit target (CMake option CONFSGM_ENABLE_RDKIT, package librdkit-dev)"
#endif

#include <GraphMol/Atom.h>
#include <GraphMol/Bond.h>
#include <GraphMol/Conformer.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/RWMol.h>
#include <GraphMol/RingInfo.h>

#include <cmath>
#include <optional>
#include <string>

#include "confsgm/core/conformer.hpp"
#include "confsgm/core/molecule.hpp"
#include "confsgm/error.hpp"

namespace confsgm::rdkit {

namespace detail {
inline hybridization to_hybridization(RDKit::Atom::HybridizationType h) {
  using H = RDKit::Atom::HybridizationType;
  switch (h) {
    case H::S: return hybridization::s;
    case H::SP: return hybridization::sp;
    case H::SP2: return hybridization::sp2;
    case H::SP3: return hybridization::sp3;
    case H::SP3D: return hybridization::sp3d;
    case H::SP3D2: return hybridization::sp3d2;
    case H::UNSPECIFIED: return hybridization::unspecified;
    default: return hybridization::other;
  }
}
inline chiral_tag to_chiral_tag(RDKit::Atom::ChiralType c) {
  using C = RDKit::Atom::ChiralType;
  switch (c) {
    case C::CHI_UNSPECIFIED: return chiral_tag::none;
    case C::CHI_TETRAHEDRAL_CW: return chiral_tag::clockwise;
    case C::CHI_TETRAHEDRAL_CCW: return chiral_tag::counterclockwise;
    default: return chiral_tag::other;
  }
}
inline bond_type to_bond_type(RDKit::Bond::BondType t) {
  using B = RDKit::Bond::BondType;
  switch (t) {
    case B::SINGLE: return bond_type::single;
    case B::DOUBLE: return bond_type::double_;
    case B::TRIPLE: return bond_type::triple;
    case B::AROMATIC: return bond_type::aromatic;
    default: return bond_type::other;
  }
}
inline double_bond_stereo to_bond_stereo(RDKit::Bond::BondStereo s) {
  using S = RDKit::Bond::BondStereo;
  switch (s) {
    case S::STEREOE: return double_bond_stereo::e;
    case S::STEREOZ: return double_bond_stereo::z;
    case S::STEREOANY: return double_bond_stereo::any;
    default: return double_bond_stereo::none;
  }
}
}  // namespace detail

/// Graph of a sanitised RDKit molecule, atom for atom and bond for bond.
/// Stereo labels (CIP R/S, E/Z) are perceived on a copy from the molecule's
/// stereo tags, so the caller's molecule is not modified. Callers that only
/// compare constitutions pass @p perceive_stereo = false and skip the copy.
inline molecule_graph to_graph(const RDKit::ROMol& mol, const std::string& name, bool perceive_stereo = true) {
  std::optional<RDKit::RWMol> copy;
  const RDKit::ROMol* src = &mol;
  if (perceive_stereo || !mol.getRingInfo()->isInitialized()) {
    copy.emplace(mol);
    if (perceive_stereo) RDKit::MolOps::assignStereochemistry(*copy, /*cleanIt=*/true, /*force=*/true);
    if (!copy->getRingInfo()->isInitialized()) RDKit::MolOps::findSSSR(*copy);
    src = &*copy;
  }
  const RDKit::ROMol& work = *src;
  const auto* rings = work.getRingInfo();
  molecule_graph g(name);
  for (const auto* a : work.atoms()) {
    const auto z = a->getAtomicNum();
    if (!is_element(static_cast<unsigned>(z)))
      throw chemistry_error("'" + name + "': atom " + std::to_string(a->getIdx() + 1) +
                            " is a dummy or unknown element (atomic number " + std::to_string(z) +
                            "); only real elements can be modelled");
    atom x;
    x.atomic_number = static_cast<std::uint8_t>(z);
    x.formal_charge = static_cast<std::int8_t>(a->getFormalCharge());
    x.total_hydrogens = static_cast<std::uint8_t>(a->getTotalNumHs(/*includeNeighbors=*/true));
    x.radical_electrons = static_cast<std::uint8_t>(a->getNumRadicalElectrons());
    x.isotope = static_cast<std::uint16_t>(a->getIsotope());
    x.aromatic = a->getIsAromatic();
    x.in_ring = rings->numAtomRings(a->getIdx()) > 0;
    x.hybrid = detail::to_hybridization(a->getHybridization());
    x.chirality = detail::to_chiral_tag(a->getChiralTag());
    std::string cip;
    if (a->getPropIfPresent(RDKit::common_properties::_CIPCode, cip) && !cip.empty()) x.cip = cip[0];
    g.add_atom(x);
  }
  for (const auto* b : work.bonds()) {
    bond y;
    y.begin = b->getBeginAtomIdx();
    y.end = b->getEndAtomIdx();
    y.type = detail::to_bond_type(b->getBondType());
    y.in_ring = rings->numBondRings(b->getIdx()) > 0;
    y.conjugated = b->getIsConjugated();
    y.stereo = detail::to_bond_stereo(b->getStereo());
    g.add_bond(y);
  }
  return g;
}

/// Coordinates of conformer @p conf_id of @p mol as an N x 3 matrix (Å).
inline coordinates<double> to_coordinates(const RDKit::ROMol& mol, int conf_id = -1) {
  const auto& conf = mol.getConformer(conf_id);
  coordinates<double> xyz(static_cast<Eigen::Index>(mol.getNumAtoms()), 3);
  for (unsigned i = 0; i < mol.getNumAtoms(); ++i) {
    const auto& p = conf.getAtomPos(i);
    xyz(i, 0) = p.x;
    xyz(i, 1) = p.y;
    xyz(i, 2) = p.z;
  }
  return xyz;
}

/// Writes @p xyz into conformer @p conf_id of @p mol (adding one if it has none).
template <class Derived>
void set_coordinates(RDKit::ROMol& mol, const Eigen::MatrixBase<Derived>& xyz, int conf_id = -1) {
  if (static_cast<unsigned>(xyz.rows()) != mol.getNumAtoms() || xyz.cols() != 3)
    throw shape_mismatch("rdkit::set_coordinates(): coordinates are " + std::to_string(xyz.rows()) +
                         "x" + std::to_string(xyz.cols()) + " for a molecule of " +
                         std::to_string(mol.getNumAtoms()) + " atoms");
  if (mol.getNumConformers() == 0) {
    auto* c = new RDKit::Conformer(mol.getNumAtoms());
    c->set3D(true);
    mol.addConformer(c, /*assignId=*/true);
    conf_id = -1;
  }
  auto& conf = mol.getConformer(conf_id);
  for (unsigned i = 0; i < mol.getNumAtoms(); ++i)
    conf.setAtomPos(i, RDGeom::Point3D(static_cast<double>(xyz(i, 0)), static_cast<double>(xyz(i, 1)),
                                       static_cast<double>(xyz(i, 2))));
}

/// Radical electrons of @p mol: the unpaired electrons xtb is told about.
inline int unpaired_electrons(const RDKit::ROMol& mol) {
  int n = 0;
  for (const auto* a : mol.atoms()) n += static_cast<int>(a->getNumRadicalElectrons());
  return n;
}

/// Number of disconnected fragments (covalent components) of @p mol.
inline unsigned count_fragments(const RDKit::ROMol& mol) {
  std::vector<int> mapping;
  return RDKit::MolOps::getMolFrags(mol, mapping);
}

}  // namespace confsgm::rdkit
