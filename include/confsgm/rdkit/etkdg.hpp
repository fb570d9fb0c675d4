// confsgm/rdkit/etkdg.hpp: the RDKit ETKDGv3 baseline, seeded and threaded,
// with optional MMFF94 relaxation and a stereo check on every conformer.
//
// Determinism: RDKit seeds conformer i with seed * (i + 1), so the same seed
// gives the same conformers for any thread count; seed 0 would give identical
// conformers and is refused.
#pragma once

#include "confsgm/rdkit/smiles.hpp"
#include "confsgm/rdkit/stereo.hpp"
#include "confsgm/sample/status.hpp"
#include "confsgm/util/parallel.hpp"

#include <ForceField/ForceField.h>
#include <GraphMol/DistGeomHelpers/Embedder.h>
#include <GraphMol/ForceFieldHelpers/MMFF/AtomTyper.h>
#include <GraphMol/ForceFieldHelpers/MMFF/Builder.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace confsgm::rdkit {

struct etkdg_options {
  std::uint32_t seed = 42;             ///< must be > 0 (see file comment)
  unsigned threads = 1;                ///< 0 = all cores
  bool mmff = false;                   ///< relax every conformer with MMFF94
  unsigned mmff_max_iterations = 2000;
  double prune_rms = -1.0;             ///< heavy-atom RMSD pruning threshold, < 0 = off
  bool use_random_coords = false;      ///< RDKit's advice for large or awkward molecules
  unsigned max_embed_iterations = 0;   ///< 0 = RDKit default
  bool check_stereo = true;
};

/// A sample the generator did not turn into a conformer, and why (sampler outcome with its level and step).
struct dropped_conformer {
  std::size_t index = 0;  ///< the sample's index among the requested conformers
  sample::sample_status status;
};

/// The conformers any generator (ETKDG, a score-model sampler) produced for one molecule.
struct generated_conformers {
  ensemble<double> conformers;          ///< info[k].status is "ok" or the stereo problem
  std::shared_ptr<const RDKit::ROMol> mol;
  std::size_t requested = 0;
  std::size_t embedded = 0;             ///< conformers produced (= conformers.size())
  std::size_t stereo_mismatches = 0;
  std::size_t reflected = 0;            ///< samples written as their mirror image (rdkit/sampled_conformers.hpp)
  std::vector<dropped_conformer> dropped;  ///< samples that did not finish, not in `conformers`
  std::string energy_unit;              ///< of info[k].energy where set, e.g. "kcal/mol (MMFF94)"
  bool mmff_parameters_missing = false;
};
using etkdg_result = generated_conformers;

/// The conformers as an RDKit molecule with one conformer each (ids 0, 1, ... in order), for programs that go on
/// in RDKit: write SD files, compute descriptors, dock.
inline RDKit::RWMol as_rdkit(const generated_conformers& g) {
  if (!g.mol) throw invalid_argument("rdkit::as_rdkit(): the generated conformers carry no molecule");
  RDKit::RWMol out(*g.mol);
  out.clearConformers();
  for (std::size_t c = 0; c < g.conformers.size(); ++c) {
    auto* conf = new RDKit::Conformer(out.getNumAtoms());
    conf->set3D(true);
    const auto& xyz = g.conformers.conformers[c];
    for (unsigned i = 0; i < out.getNumAtoms(); ++i) conf->setAtomPos(i, RDGeom::Point3D(xyz(i, 0), xyz(i, 1), xyz(i, 2)));
    conf->setId(static_cast<unsigned>(c));
    out.addConformer(conf, false);
  }
  return out;
}

/// Generates up to @p n conformers of @p m with ETKDGv3.
inline etkdg_result generate_etkdg(const molecule& m, std::size_t n, const etkdg_options& opts = {}) {
  if (opts.seed == 0)
    throw invalid_argument("generate_etkdg(): seed 0 makes RDKit embed every conformer from the same "
                           "seed (identical conformers); use a seed > 0");
  if (n == 0) throw invalid_argument("generate_etkdg(): asked for 0 conformers of '" + m.id + "'");
  auto work = std::make_shared<RDKit::RWMol>(*m.mol);
  auto params = RDKit::DGeomHelpers::ETKDGv3;
  params.randomSeed = static_cast<int>(opts.seed);
  params.numThreads = static_cast<int>(opts.threads);
  params.pruneRmsThresh = opts.prune_rms;
  params.useRandomCoords = opts.use_random_coords;
  if (opts.max_embed_iterations) params.maxIterations = opts.max_embed_iterations;
  std::vector<int> ids;
  RDKit::DGeomHelpers::EmbedMultipleConfs(*work, ids, static_cast<unsigned>(n), params);

  etkdg_result r;
  r.requested = n;
  r.embedded = ids.size();
  std::vector<std::optional<double>> energy(ids.size());
  std::vector<bool> converged(ids.size(), true);
  if (opts.mmff && !ids.empty()) {
    RDKit::MMFF::MMFFMolProperties props(*work);
    if (!props.isValid()) {
      r.mmff_parameters_missing = true;
    } else {
      // One force field per conformer on a private copy of the molecule, so
      // threads share nothing; results land in per-conformer slots.
      std::vector<RDKit::RWMol> copies(resolve_threads(opts.threads), *work);
      const unsigned nt = static_cast<unsigned>(copies.size());
      std::vector<std::vector<RDGeom::Point3D>> relaxed(ids.size());
      parallel_for(nt, nt, [&](std::size_t t) {
        RDKit::MMFF::MMFFMolProperties local_props(copies[t]);
        for (std::size_t k = t; k < ids.size(); k += nt) {
          std::unique_ptr<ForceFields::ForceField> ff(
              RDKit::MMFF::constructForceField(copies[t], &local_props, 100.0, ids[k], true));
          ff->initialize();
          converged[k] = ff->minimize(opts.mmff_max_iterations) == 0;
          energy[k] = ff->calcEnergy();
          relaxed[k] = copies[t].getConformer(ids[k]).getPositions();
        }
      });
      for (std::size_t k = 0; k < ids.size(); ++k) {
        auto& conf = work->getConformer(ids[k]);
        for (unsigned i = 0; i < work->getNumAtoms(); ++i) conf.setAtomPos(i, relaxed[k][i]);
      }
    }
  }
  const auto expected = specified_stereo(m.graph);
  r.conformers = ensemble<double>(m.id, m.graph);
  for (std::size_t k = 0; k < ids.size(); ++k) {
    conformer_info info;
    info.title = m.id + "_conf" + std::to_string(k);
    info.energy = energy[k];
    if (opts.check_stereo) {
      const auto problem = stereo_mismatch(expected, stereo_from_3d(*work, ids[k]), m.graph);
      if (!problem.empty()) {
        info.status = "stereo mismatch: " + problem;
        ++r.stereo_mismatches;
      }
    }
    if (opts.mmff && !r.mmff_parameters_missing && !converged[k] && info.status == "ok")
      info.status = "ok (MMFF not converged in " + std::to_string(opts.mmff_max_iterations) + " steps)";
    r.conformers.add(to_coordinates(*work, ids[k]), std::move(info));
  }
  if (opts.mmff && !r.mmff_parameters_missing) r.energy_unit = "kcal/mol (MMFF94)";
  work->clearConformers();
  r.mol = std::move(work);
  return r;
}

}  // namespace confsgm::rdkit
