// confsgm/data/geom_protocol.hpp: GEOM-protocol conformer ensembles for one
// molecule, built from what a Debian machine has (RDKit + GFN2-xTB) instead of
// CREST's metadynamics:
//
//   1. choose one stereoisomer: unassigned centres and double bonds take the
//      configuration of a seeded ETKDG embedding (always a feasible one;
//      see choose_stereoisomer for the fallbacks);
//   2. seeded ETKDGv3 starts, MMFF94 pre-optimisation;
//   3. GFN2-xTB optimisation of every start (the xtb program's ANCopt);
//   4. drop structures whose bonds (reaction) or stereo changed (stereo is
//      compared as canonical isomeric SMILES perceived from 3D, like GEOM's
//      and Torsional Diffusion's consistency checks);
//   5. energy window, duplicate removal, Boltzmann weights (ensemble_filter.hpp);
//   6. conformers sorted by energy, each carrying its energies and weight.
//
// The result is a surrogate for a GEOM ensemble, not GEOM: CREST explores far
// more of the landscape than a few dozen ETKDG starts (docs/data.md measures
// how close it gets on real GEOM molecules).
//
// Two faster tiers, for training data only (docs/data.md, "Builder tiers",
// measures their fidelity), replace step 3:
//   gfnff_gfn2_opt: GFN-FF optimisation of every start, the checks of step 4,
//     a pre-filter (wider energy window on GFN-FF energies, duplicates), then
//     GFN2-xTB optimisation of the survivors only, checked again;
//   gfnff_gfn2_sp: as above, but GFN2-xTB single points on the GFN-FF minima
//     (geometries stay GFN-FF minima; energies, window and weights are GFN2).
#pragma once

#include "confsgm/core/connectivity.hpp"
#include "confsgm/data/ensemble_filter.hpp"
#include "confsgm/geometry/symmetric_rmsd.hpp"
#include "confsgm/random/philox.hpp"
#include "confsgm/rdkit/etkdg.hpp"
#include "confsgm/xtb/program.hpp"

#include <GraphMol/Chirality.h>
#include <GraphMol/Descriptors/Lipinski.h>

#include <chrono>
#include <limits>
#include <sstream>

namespace confsgm::data {

/// How the starts are relaxed (see the file comment).
enum class builder_tier { full, gfnff_gfn2_opt, gfnff_gfn2_sp };

/// The command-line spelling of each tier: "full", "gfnff-opt", "gfnff-sp".
inline const char* tier_name(builder_tier t) noexcept {
  switch (t) {
    case builder_tier::gfnff_gfn2_opt: return "gfnff-opt";
    case builder_tier::gfnff_gfn2_sp: return "gfnff-sp";
    default: return "full";
  }
}

/// Parses tier_name's spelling; throws invalid_argument naming the accepted values.
inline builder_tier parse_tier(const std::string& name) {
  for (auto t : {builder_tier::full, builder_tier::gfnff_gfn2_opt, builder_tier::gfnff_gfn2_sp})
    if (name == tier_name(t)) return t;
  throw invalid_argument("unknown builder tier '" + name + "' (use full, gfnff-opt or gfnff-sp)");
}

struct geom_protocol_options {
  std::uint32_t seed = 42;              ///< ETKDG seed (> 0); also picks the stereoisomer
  /// Number of ETKDG starts: min(starts_max, starts_base + starts_per_rotatable_bond * n_rot).
  unsigned starts_base = 4;
  unsigned starts_per_rotatable_bond = 3;
  unsigned starts_max = 30;
  unsigned mmff_iterations = 2000;
  unsigned stereo_attempts = 3;         ///< embeddings per stage when choosing the stereoisomer (x2 plain, x3 seeded)
  unsigned stereo_choices = 3;          ///< stereoisomers tried when the input leaves stereo unassigned
  ensemble_filter_options filter;
  connectivity_options connectivity;
  xtb::program_options xtb;             ///< its method is set per stage by the tier
  builder_tier tier = builder_tier::full;
  /// Fast tiers: the pre-filter on GFN-FF energies before any GFN2-xTB work. Its
  /// window is wider than the final one because GFN-FF ranks conformers with an
  /// error of a few kcal/mol against GFN2-xTB.
  ensemble_filter_options prefilter{.energy_window_kcal = 12.0};
};

/// What happened to the starts of one molecule (every start is accounted for).
struct geom_protocol_stats {
  unsigned starts = 0;            ///< ETKDG conformers asked for
  unsigned embedded = 0;          ///< ETKDG conformers obtained
  unsigned embed_stereo_wrong = 0;
  unsigned xtb_failed = 0;
  unsigned topology_changed = 0;
  unsigned stereo_changed = 0;
  unsigned outside_window = 0;
  unsigned duplicates = 0;
  unsigned kept = 0;
  unsigned stereo_choices = 1;    ///< stereoisomers tried (> 1 only for unassigned inputs whose first choice failed)
  unsigned prefiltered = 0;       ///< fast tiers: GFN-FF minima the pre-filter dropped (window or duplicate)
  double xtb_seconds = 0;
  double seconds = 0;
  std::string first_problem;      ///< the first rejection's reason, for reports
};

struct built_ensemble {
  bool ok = false;
  std::string reason;             ///< why no ensemble, when !ok
  std::string id;
  std::string input_smiles;
  std::string stereo_smiles;      ///< canonical isomeric SMILES of the chosen stereoisomer (from 3D)
  int charge = 0;
  unsigned rotatable_bonds = 0;
  std::shared_ptr<const RDKit::ROMol> mol;  ///< template with the chosen stereo, hydrogens explicit
  ensemble<double> conformers;    ///< lowest energy first; properties in info (see build_geom_ensemble)
  geom_protocol_stats stats;
};

namespace detail {

/// Canonical isomeric SMILES of @p mol with the stereo its coordinates have.
inline std::string stereo_smiles_from_3d(const RDKit::ROMol& mol, int conf_id = -1) {
  RDKit::RWMol work(mol);
  RDKit::MolOps::assignStereochemistryFrom3D(work, conf_id, /*replaceExistingTags=*/true);
  return rdkit::canonical_smiles(work, true);
}

/// Step 1: a molecule whose every stereo element is fixed, as in a seeded
/// ETKDG embedding that honours whatever the input did specify.
///   a. embed the input as it is; strained molecules are retried from random
///      coordinates (RDKit's advice for cages);
///   b. if that fails, give the unassigned tetrahedral centres seeded random
///      configurations and embed again: RDKit 2022.09's ETKDG often fails on
///      an unassigned fused or bridged system whose first guess is an
///      impossible (e.g. trans-fused) stereoisomer.
/// The configuration found in 3D then becomes the molecule's stereo.
inline std::optional<rdkit::molecule> choose_stereoisomer(const rdkit::molecule& m, std::uint32_t seed,
                                                         unsigned attempts, std::string& why,
                                                         std::shared_ptr<const RDKit::ROMol>* embedded_from = nullptr) {
  const auto expected = rdkit::specified_stereo(m.graph);
  const auto input_smiles = rdkit::canonical_smiles(*m.mol, true);
  std::vector<unsigned> unassigned;
  for (const auto& info : RDKit::Chirality::findPotentialStereo(*m.mol))
    if (info.type == RDKit::Chirality::StereoType::Atom_Tetrahedral &&
        info.specified == RDKit::Chirality::StereoSpecified::Unspecified)
      unassigned.push_back(info.centeredOn);
  const unsigned plain = 2 * attempts;
  const unsigned total = plain + (unassigned.empty() ? 0 : 3 * attempts);
  for (unsigned k = 0; k < total; ++k) {
    RDKit::RWMol work(*m.mol);
    auto params = RDKit::DGeomHelpers::ETKDGv3;
    params.randomSeed = static_cast<int>((seed + 7919u * k) & 0x7fffffffu);
    params.useRandomCoords = k >= attempts && k < plain;
    if (k >= plain) {
      const random::stream pick(seed, random::purpose::user, 0x5e1ec7u, k);
      for (std::size_t a = 0; a < unassigned.size(); ++a)
        work.getAtomWithIdx(unassigned[a])
            ->setChiralTag(pick.uniform(static_cast<std::uint32_t>(a)) < 0.5 ? RDKit::Atom::CHI_TETRAHEDRAL_CW
                                                                            : RDKit::Atom::CHI_TETRAHEDRAL_CCW);
      RDKit::MolOps::assignStereochemistry(work, /*cleanIt=*/true, /*force=*/true);
    }
    const int cid = RDKit::DGeomHelpers::EmbedMolecule(work, params);
    if (cid < 0) {
      why = unassigned.empty() ? "ETKDG could not embed the molecule (also tried from random coordinates)"
                               : "ETKDG could not embed the molecule, nor any of " + std::to_string(total - plain) +
                                     " seeded stereoisomers";
      continue;
    }
    // Specified stereo must survive: the same canonical SMILES, or (for a
    // partly specified input) the same CIP labels on the specified elements.
    const auto found = stereo_smiles_from_3d(work, cid);
    if (found != input_smiles) {
      const auto problem = rdkit::stereo_mismatch(expected, rdkit::stereo_from_3d(work, cid), m.graph);
      if (!problem.empty()) {
        why = "ETKDG embedding broke the specified stereo (" + problem + ")";
        continue;
      }
    }
    if (embedded_from) {
      auto tmpl = std::make_shared<RDKit::RWMol>(work);
      tmpl->clearConformers();
      *embedded_from = std::move(tmpl);
    }
    RDKit::MolOps::assignStereochemistryFrom3D(work, cid, /*replaceExistingTags=*/true);
    work.clearConformers();
    rdkit::molecule out;
    out.id = m.id;
    out.smiles = m.smiles;
    out.n_reference = m.n_reference;
    out.graph = rdkit::to_graph(work, m.id);
    out.mol = std::make_shared<RDKit::ROMol>(work);
    return out;
  }
  return std::nullopt;
}

}  // namespace detail

/// Builds the ensemble of @p m (hydrogens explicit, as from rdkit::from_smiles).
/// Each kept conformer's info carries the SD properties mol_id, conf_index,
/// smiles, stereo_smiles, charge, energy (kcal/mol, absolute GFN2-xTB),
/// xtb_energy_hartree, rel_energy_kcal, boltzmann_weight and start (which
/// ETKDG start it came from). Fails (ok = false, with a reason) only when
/// no conformer survives; throws only on invalid options.
namespace detail {
inline built_ensemble build_one_stereoisomer(const rdkit::molecule& m, const geom_protocol_options& opts,
                                             std::uint32_t choice_seed) {
  const auto t0 = std::chrono::steady_clock::now();
  built_ensemble b;
  b.id = m.id;
  b.input_smiles = m.smiles;
  b.charge = m.graph.net_charge();
  auto& st = b.stats;
  const auto finish = [&](bool ok, std::string reason) -> built_ensemble {
    b.ok = ok;
    b.reason = std::move(reason);
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return std::move(b);
  };
  const auto note = [&](const std::string& why) {
    if (st.first_problem.empty()) st.first_problem = why;
  };

  std::string why;
  std::shared_ptr<const RDKit::ROMol> embedded_from;
  const auto chosen =
      detail::choose_stereoisomer(m, choice_seed, std::max(1u, opts.stereo_attempts), why, &embedded_from);
  if (!chosen) return finish(false, "no stereoisomer could be embedded: " + why);
  b.mol = chosen->mol;
  b.stereo_smiles = rdkit::canonical_smiles(*chosen->mol, true);
  {
    // The usual (strict) count, on the heavy-atom graph: bonds to CH3, NH2, OH are not rotors here.
    std::unique_ptr<RDKit::ROMol> heavy(RDKit::MolOps::removeHs(*chosen->mol));
    b.rotatable_bonds = RDKit::Descriptors::calcNumRotatableBonds(*heavy);
  }
  const int unpaired = rdkit::unpaired_electrons(*chosen->mol);

  st.starts = std::min(opts.starts_max, opts.starts_base + opts.starts_per_rotatable_bond * b.rotatable_bonds);
  rdkit::etkdg_options eo;
  eo.seed = opts.seed;
  eo.threads = 1;  // callers parallelise over molecules
  eo.mmff = true;
  eo.mmff_max_iterations = opts.mmff_iterations;
  eo.check_stereo = false;  // checked below on canonical SMILES, which is robust where CIP labels are not
  rdkit::molecule source = *chosen;  // the molecule the starts are embedded from
  auto starts = rdkit::generate_etkdg(source, st.starts, eo);
  if (starts.embedded == 0) {  // strained cages: ETKDG needs random-coordinate starts
    eo.use_random_coords = true;
    starts = rdkit::generate_etkdg(source, st.starts, eo);
  }
  if (starts.embedded == 0) {
    // ETKDG can fail to enforce 3D-perceived tags on bridgeheads that it
    // embedded freely: embed as in step 1 and keep the starts that land on
    // the chosen stereoisomer (the stereo check below drops the others).
    source.mol = embedded_from;
    eo.use_random_coords = false;
    st.starts *= 4;  // only some of these land on the chosen stereoisomer
    starts = rdkit::generate_etkdg(source, st.starts, eo);
  }
  st.embedded = static_cast<unsigned>(starts.embedded);
  if (starts.embedded == 0) return finish(false, "ETKDG embedded none of " + std::to_string(st.starts) + " starts");

  const auto& g = chosen->graph;
  RDKit::RWMol probe(*chosen->mol);
  const auto same_stereo = [&](const coordinates<double>& xyz) {
    probe.clearConformers();
    rdkit::set_coordinates(probe, xyz);
    return stereo_smiles_from_3d(probe) == b.stereo_smiles;
  };
  std::vector<coordinates<double>> xyz;
  std::vector<double> energy_kcal, energy_hartree;
  std::vector<std::size_t> start_of;
  const bool fast = opts.tier != builder_tier::full;
  auto stage_xtb = opts.xtb;
  stage_xtb.method = fast ? xtb::hamiltonian::gfnff : xtb::hamiltonian::gfn2;
  // Counts an xtb run of start k; false (counted, noted) when xtb failed.
  const auto xtb_ran = [&](const xtb::result& out, std::size_t k) {
    st.xtb_seconds += out.seconds;
    if (out.ok) return true;
    ++st.xtb_failed;
    note("start " + std::to_string(k) + ": " + out.message);
    return false;
  };
  // One optimisation with the checks of step 4; false (counted, noted) when the result is rejected.
  const auto relax = [&](const coordinates<double>& from, std::size_t k, const xtb::program_options& xo,
                         xtb::result& out) {
    out = xtb::optimize(g, from, b.charge, unpaired, xo);
    if (!xtb_ran(out, k)) return false;
    const std::string stage = xtb::hamiltonian_name(xo.method);
    if (const auto change = topology_change(g, out.xyz, opts.connectivity, &from); !change.empty()) {
      ++st.topology_changed;
      note("start " + std::to_string(k) + ": bonds changed in the " + stage + " optimisation (" + change + ")");
      return false;
    }
    if (!same_stereo(out.xyz)) {
      ++st.stereo_changed;
      probe.clearConformers();
      rdkit::set_coordinates(probe, out.xyz);
      note("start " + std::to_string(k) + ": stereo changed in the " + stage + " optimisation (now " +
           stereo_smiles_from_3d(probe) + ")");
      return false;
    }
    return true;
  };

  std::optional<ensemble<double>> raw;  // unrelaxed ETKDG starts, made only when needed
  for (std::size_t k = 0; k < starts.conformers.size(); ++k) {
    coordinates<double> start = starts.conformers.conformers[k];
    if (!same_stereo(start)) {
      // MMFF94 can invert strained bridgeheads that ETKDG embedded correctly:
      // then start xtb from the unrelaxed ETKDG geometry instead.
      if (!raw) {
        auto ro = eo;
        ro.mmff = false;
        raw = rdkit::generate_etkdg(source, st.starts, ro).conformers;
      }
      if (k < raw->size() && same_stereo((*raw).conformers[k])) {
        start = (*raw).conformers[k];
      } else {
        ++st.embed_stereo_wrong;
        note("start " + std::to_string(k) + ": ETKDG start has other stereo than " + b.stereo_smiles);
        continue;
      }
    }
    xtb::result r;
    if (!relax(start, k, stage_xtb, r)) continue;
    xyz.push_back(r.xyz);
    energy_hartree.push_back(r.energy_hartree);
    energy_kcal.push_back(r.energy_hartree * kcal_per_hartree);
    start_of.push_back(k);
  }
  if (xyz.empty())
    return finish(false, "no start survived (" + std::to_string(st.embedded) + " embedded; first problem: " +
                             st.first_problem + ")");

  const symmetric_rmsd rmsd(g);
  std::vector<prepared_conformer> prepared;
  const auto prepare_all = [&] {
    prepared.clear();
    for (const auto& c : xyz) prepared.push_back(rmsd.prepare(c));
  };
  prepare_all();
  std::vector<double> gfnff_hartree(xyz.size(), std::numeric_limits<double>::quiet_NaN());
  if (fast) {
    // Pre-filter the GFN-FF minima, then GFN2-xTB on the survivors only.
    const auto pre = select_ensemble(
        energy_kcal, [&](std::size_t i, std::size_t j) { return rmsd(prepared[i], prepared[j]); }, opts.prefilter);
    st.prefiltered = static_cast<unsigned>(pre.outside_window + pre.duplicates);
    auto gfn2 = opts.xtb;
    gfn2.method = xtb::hamiltonian::gfn2;
    std::vector<coordinates<double>> next_xyz;
    std::vector<double> next_kcal, next_hartree, next_ff;
    std::vector<std::size_t> next_start;
    for (const auto i : pre.kept) {
      xtb::result r;
      if (opts.tier == builder_tier::gfnff_gfn2_opt) {
        if (!relax(xyz[i], start_of[i], gfn2, r)) continue;
      } else {
        r = xtb::singlepoint(g, xyz[i], b.charge, unpaired, gfn2);
        if (!xtb_ran(r, start_of[i])) continue;
        r.xyz = xyz[i];
      }
      next_ff.push_back(energy_hartree[i]);
      next_xyz.push_back(std::move(r.xyz));
      next_hartree.push_back(r.energy_hartree);
      next_kcal.push_back(r.energy_hartree * kcal_per_hartree);
      next_start.push_back(start_of[i]);
    }
    if (next_xyz.empty())
      return finish(false, "no GFN-FF minimum survived GFN2-xTB (" + std::to_string(pre.kept.size()) +
                               " tried; first problem: " + st.first_problem + ")");
    xyz = std::move(next_xyz);
    energy_kcal = std::move(next_kcal);
    energy_hartree = std::move(next_hartree);
    gfnff_hartree = std::move(next_ff);
    start_of = std::move(next_start);
    prepare_all();
  }
  const auto sel = select_ensemble(
      energy_kcal, [&](std::size_t i, std::size_t j) { return rmsd(prepared[i], prepared[j]); }, opts.filter);
  st.outside_window = static_cast<unsigned>(sel.outside_window);
  st.duplicates = static_cast<unsigned>(sel.duplicates);
  st.kept = static_cast<unsigned>(sel.kept.size());

  b.conformers = ensemble<double>(m.id, g);
  const auto fmt = [](double v, int precision) {
    std::ostringstream s;
    s.precision(precision);
    s << std::fixed << v;
    return s.str();
  };
  for (std::size_t r = 0; r < sel.kept.size(); ++r) {
    const auto i = sel.kept[r];
    conformer_info info;
    info.title = m.id + "_conf" + std::to_string(r);
    info.energy = energy_kcal[i];
    info.properties = {{"mol_id", m.id},
                       {"conf_index", std::to_string(r)},
                       {"smiles", m.smiles},
                       {"stereo_smiles", b.stereo_smiles},
                       {"charge", std::to_string(b.charge)},
                       {"energy", fmt(energy_kcal[i], 4)},
                       {"xtb_energy_hartree", fmt(energy_hartree[i], 8)},
                       {"rel_energy_kcal", fmt(sel.relative_kcal[r], 4)},
                       {"boltzmann_weight", fmt(sel.boltzmann_weight[r], 6)},
                       {"start", std::to_string(start_of[i])}};
    if (fast) {
      info.properties.emplace_back("tier", tier_name(opts.tier));
      info.properties.emplace_back("gfnff_energy_hartree", fmt(gfnff_hartree[i], 8));
    }
    b.conformers.add(xyz[i], std::move(info));
  }
  return finish(true, "");
}
}  // namespace detail

/// Builds the ensemble of @p m (hydrogens explicit, as from rdkit::from_smiles);
/// see the file comment. When the input leaves stereo unassigned and the
/// chosen stereoisomer yields no conformer (too strained: xtb breaks a bond
/// or inverts a centre), up to stereo_choices seeded choices are tried.
inline built_ensemble build_geom_ensemble(const rdkit::molecule& m, const geom_protocol_options& opts = {}) {
  if (opts.seed == 0) throw invalid_argument("build_geom_ensemble(): seed must be > 0");
  if (opts.starts_max == 0) throw invalid_argument("build_geom_ensemble(): starts_max must be > 0");
  bool unassigned = false;
  for (const auto& info : RDKit::Chirality::findPotentialStereo(*m.mol))
    unassigned |= info.specified == RDKit::Chirality::StereoSpecified::Unspecified;
  const unsigned choices = unassigned ? std::max(1u, opts.stereo_choices) : 1u;
  double seconds = 0;
  built_ensemble first_failure;
  for (unsigned k = 0; k < choices; ++k) {
    auto b = detail::build_one_stereoisomer(m, opts, opts.seed + 1000003u * k);
    seconds += b.stats.seconds;
    b.stats.stereo_choices = k + 1;
    b.stats.seconds = seconds;
    if (b.ok) return b;
    const bool no_isomer = b.reason.rfind("no stereoisomer", 0) == 0;  // another seed would search the same way
    if (k == 0) first_failure = std::move(b);
    if (no_isomer) {
      first_failure.stats.seconds = seconds;
      return first_failure;
    }
  }
  first_failure.stats.seconds = seconds;
  first_failure.stats.stereo_choices = choices;
  if (choices > 1) first_failure.reason += " (and " + std::to_string(choices - 1) + " other stereoisomer choices failed)";
  return first_failure;
}

}  // namespace confsgm::data
