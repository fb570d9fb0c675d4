// confsgm/rdkit/torsion_data.hpp: the torsion space's data from RDKit
// molecules: ETKDG local structures, and training sets built by conformer
// matching (Torsional Diffusion, reference-spec §2.1): each reference
// conformer's dihedrals are fitted onto its own ETKDG local structure, so the
// model learns torsions on the local structures it will be sampled on.
//
// Seeds are per molecule (molecule_seed), never per thread: the result does
// not depend on the thread count or on the order threads take molecules in.
#pragma once

#include "confsgm/core/conformer_matching.hpp"
#include "confsgm/rdkit/etkdg.hpp"
#include "confsgm/rdkit/sdf.hpp"
#include "confsgm/space/torsion_space.hpp"
#include "confsgm/train/trainer.hpp"
#include "confsgm/util/parallel.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace confsgm::rdkit {

/// A positive RDKit seed (1 .. 2^31 - 1) for molecule @p k of a run seeded with @p seed: RDKit takes an int.
inline std::uint32_t molecule_seed(std::uint64_t seed, std::size_t k) {
  return static_cast<std::uint32_t>((seed + 7u * static_cast<std::uint64_t>(k)) % 2147483646u) + 1u;
}

/// @p n ETKDG local structures of @p m (fewer if RDKit embeds fewer; stereo-wrong ones left out). With
/// @p random_coordinate_retry, a molecule of which ETKDG embeds none with the input's stereo is tried again from
/// random-coordinate starts with four times the attempts (at least 8), as the data builder does for strained cages;
/// molecules that embed at once get the same structures either way.
inline std::vector<torsion_structure> local_structures(const molecule& m, std::size_t n, std::uint32_t seed,
                                                      rotatable_rule rule, std::size_t* stereo_rejected = nullptr,
                                                      bool random_coordinate_retry = false) {
  etkdg_options eo;
  eo.seed = seed;
  eo.threads = 1;
  std::vector<torsion_structure> out;
  const auto embed = [&](std::size_t attempts) {
    const auto r = generate_etkdg(m, attempts, eo);
    for (std::size_t k = 0; k < r.conformers.size() && out.size() < n; ++k) {
      if (r.conformers.info[k].status != "ok") {
        if (stereo_rejected) ++*stereo_rejected;
        continue;
      }
      out.push_back(torsion_space::describe(m.graph, r.conformers.conformers[k], rule));
    }
  };
  embed(n);
  if (out.empty() && random_coordinate_retry) {
    eo.use_random_coords = true;
    embed(std::max<std::size_t>(4 * n, 8));
  }
  return out;
}

/// Per-conformer record of conformer matching (reported in docs/).
struct matching_record {
  std::string id;
  std::size_t conformer;
  double start_rmsd, rmsd, heavy_rmsd;
};

struct torsion_data {
  train::training_set<torsion_space> set;
  std::vector<matching_record> matching;
  std::vector<std::string> notes;    ///< molecules left out, and why
  std::vector<std::string> dropped;  ///< conformers left out (matched geometry not physical), and why
};

/// Training data by conformer matching (reference-spec §2.1): the first @p per_mol
/// conformers of each molecule, each matched onto its own ETKDG local structure.
/// With @p already_matched the conformers are their own local structures (files
/// written by `confsgm match`): no embedding, no matching. A matched conformer
/// with two atoms closer than @p min_atom_distance (a torsion fit that folds the
/// local structure onto itself) is left out and listed in `dropped`, as the SDF
/// reader refuses such a record when `confsgm match` writes it.
inline torsion_data torsion_training_data(const std::vector<sdf_molecule>& mols, std::size_t per_mol,
                                          std::uint32_t seed, rotatable_rule rule, unsigned threads,
                                          bool already_matched = false,
                                          double min_atom_distance = physical_min_atom_distance) {
  struct slot {
    std::vector<std::vector<double>> clean;
    std::vector<torsion_structure> structures;
    std::vector<matching_record> matching;
    std::vector<std::string> dropped;
    std::string note;
  };
  std::vector<slot> slots(mols.size());
  parallel_for(mols.size(), threads, [&](std::size_t k) {
    const auto& sm = mols[k];
    auto& out = slots[k];
    try {
      const auto& e = sm.data;
      const auto n = std::min(per_mol, e.size());
      if (n == 0) {
        out.note = "no conformer";
        return;
      }
      if (rotatable_bonds(e.graph, rule).empty()) {
        out.note = "no rotatable bond (" + to_string(rule) + " rule)";
        return;
      }
      if (already_matched) {
        for (std::size_t c = 0; c < n; ++c) {
          auto st = torsion_space::describe(e.graph, e.conformers[c], rule);
          out.clean.push_back(st.local_torsions);
          out.structures.push_back(std::move(st));
        }
        return;
      }
      molecule m;
      m.id = e.id;
      m.mol = sm.mol;
      m.graph = e.graph;
      // Molecule-specific seeds keep the result independent of the order threads take molecules in.
      const auto local = local_structures(m, n, molecule_seed(seed, k), rule);
      if (local.empty()) {
        out.note = "ETKDG produced no usable local structure";
        return;
      }
      for (std::size_t c = 0; c < n; ++c) {
        const auto& s = local[c % local.size()];
        const auto match = match_torsions(s, e.conformers[c]);
        if (const auto why = too_close(torsion_space::coordinates_of(s, match.torsions), min_atom_distance);
            !why.empty()) {
          out.dropped.push_back(e.id + " conformer " + std::to_string(c) + ": left out of torsion training: the "
                                "matched geometry's " + why);
          continue;
        }
        out.clean.push_back(match.torsions);
        out.structures.push_back(s);
        out.matching.push_back({e.id, c, match.start_rmsd, match.rmsd, match.heavy_rmsd});
      }
      if (out.clean.empty()) out.note = "no matched conformer is physical (listed above)";
    } catch (const std::exception& ex) {
      out.note = ex.what();
      out.clean.clear();
      out.structures.clear();
      out.matching.clear();
    }
  });
  torsion_data d;
  for (std::size_t k = 0; k < mols.size(); ++k) {
    auto& s = slots[k];
    d.dropped.insert(d.dropped.end(), s.dropped.begin(), s.dropped.end());
    if (s.clean.empty()) {
      d.notes.push_back(mols[k].data.id + ": left out of torsion training: " + s.note);
      continue;
    }
    d.set.ids.push_back(mols[k].data.id);
    d.set.structures.push_back(s.structures.front());
    d.set.clean.push_back(std::move(s.clean));
    d.set.conformer_structures.push_back(std::move(s.structures));
    d.matching.insert(d.matching.end(), s.matching.begin(), s.matching.end());
  }
  return d;
}

}  // namespace confsgm::rdkit
