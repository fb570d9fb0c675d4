// confsgm/generate/shared_batches.hpp: many molecules' samples in one sampler call per model.
//
// A device sampler takes thousands of samples per launch, far more than one molecule asks for, so a run gathers
// the samples of every molecule a model serves into one call, and splits the result back. Each sample keeps its
// molecule's noise streams (generate/noise_streams.hpp) and start state, so a molecule's share of a shared call
// equals its own generate() call: the plan is the same whichever backend runs it (`confsgm generate --backend
// cuda` runs it on the GPU samplers, which take per-sample keys and start states).
#pragma once

#include "confsgm/generate/generators.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace confsgm::generate {

/// Molecule @p molecule's samples inside a shared call: [first, first + count).
struct molecule_span {
  std::size_t molecule = 0;
  std::size_t first = 0;
  std::size_t count = 0;
};

/// Whether a run samples @p wanted conformers of a molecule at all (the per-molecule path reports why not).
inline bool samplable(std::size_t wanted) { return wanted > 0 && wanted <= max_conformers_per_molecule; }

/// The samples of every molecule one torsion model serves, for one shared sampler call.
struct torsion_batch {
  std::size_t model = 0;
  std::vector<const torsion_structure*> samples;  ///< into the local structures the batch was planned on
  std::vector<std::vector<double>> start;         ///< each sample's initial dihedrals (its molecule's prior draw)
  std::vector<std::uint32_t> keys;                ///< each sample's noise stream
  std::vector<molecule_span> spans;               ///< in input order

  /// Every span's share of @p all (the shared call's result), in span order, as each molecule's own sampler run
  /// reports it; the dihedrals are moved out, not copied.
  std::vector<sample::torus_result> split(sample::torus_result&& all) const {
    check_size(all);
    std::vector<sample::torus_result> parts(spans.size());
    for (std::size_t s = 0; s < spans.size(); ++s)
      for (std::size_t c = spans[s].first; c < spans[s].first + spans[s].count; ++c) {
        parts[s].torsions.push_back(std::move(all.torsions[c]));
        parts[s].status.push_back(all.status[c]);
        parts[s].diverged += !all.status[c].ok();
      }
    all = {};
    return parts;
  }

 private:
  void check_size(const sample::torus_result& all) const {
    if (all.torsions.size() != samples.size() || all.status.size() != samples.size())
      throw invalid_argument("torsion_batch: a result of " + std::to_string(all.torsions.size()) +
                             " samples for a batch of " + std::to_string(samples.size()));
  }
};

/// One shared call per model of @p g that serves any molecule (in model order): molecule k of the run (input
/// order) with @p wanted[k] samples on its ETKDG local structures @p local[k] (empty: not sampled, say because
/// ETKDG embedded none), exactly as g.generate(mols[k], k, wanted[k], ...) would sample them. The batches point
/// into @p local, which must outlive them.
template <class Network>
std::vector<torsion_batch> torsion_batches(const torsion_generator<Network>& g, const std::vector<rdkit::molecule>& mols,
                                           const std::vector<std::vector<torsion_structure>>& local,
                                           const std::vector<std::size_t>& wanted) {
  if (local.size() != mols.size() || wanted.size() != mols.size())
    throw invalid_argument("torsion_batches(): " + std::to_string(mols.size()) + " molecules, " +
                           std::to_string(local.size()) + " local-structure lists and " +
                           std::to_string(wanted.size()) + " conformer counts");
  std::vector<torsion_batch> batches;
  for (std::size_t i = 0; i < g.models().size(); ++i) {
    torsion_batch b;
    b.model = i;
    for (std::size_t k = 0; k < mols.size(); ++k) {
      if (local[k].empty() || !samplable(wanted[k]) || g.models().choose(mols[k]) != i) continue;
      const auto mine = torsion_generator<Network>::samples_on(local[k], wanted[k]);
      auto start = sample::initial_torsions(mine, nullptr, g.options().seed, stream_offset(k), "generate");
      b.spans.push_back({k, b.samples.size(), wanted[k]});
      for (std::size_t c = 0; c < wanted[k]; ++c) {
        b.samples.push_back(mine[c]);
        b.start.push_back(std::move(start[c]));
        b.keys.push_back(stream_key(k, c));
      }
    }
    if (!b.samples.empty()) batches.push_back(std::move(b));
  }
  return batches;
}

/// One molecule of a shared distance-space call: its structure, conformer count and first noise stream (the
/// samplers' own job type, so a batch goes to the GPU sampler as it is; `start` stays null: the sampler draws the
/// initial state from the job's streams, as generate() does).
using distance_job = sample::langevin_job;

/// The molecules one distance model serves, for one shared sampler call.
struct distance_batch {
  std::size_t model = 0;
  std::vector<distance_job> jobs;
  std::vector<std::size_t> molecules;  ///< job j samples molecule molecules[j] of the run (input order)
};

/// One shared call per model of @p g that serves any molecule (in model order): molecule k with @p wanted[k]
/// conformers on @p structures[k] (empty: not sampled, say because it has no distance structure), with the noise
/// streams g.generate(mols[k], k, ...) would use. The batches point into @p structures.
template <class Network>
std::vector<distance_batch> distance_batches(const distance_generator<Network>& g, const std::vector<rdkit::molecule>& mols,
                                             const std::vector<std::optional<distance_structure>>& structures,
                                             const std::vector<std::size_t>& wanted) {
  if (structures.size() != mols.size() || wanted.size() != mols.size())
    throw invalid_argument("distance_batches(): " + std::to_string(mols.size()) + " molecules, " +
                           std::to_string(structures.size()) + " structures and " + std::to_string(wanted.size()) +
                           " conformer counts");
  std::vector<distance_batch> batches;
  for (std::size_t i = 0; i < g.models().size(); ++i) {
    distance_batch b;
    b.model = i;
    for (std::size_t k = 0; k < mols.size(); ++k) {
      if (!structures[k] || !samplable(wanted[k]) || g.models().choose(mols[k]) != i) continue;
      b.jobs.push_back({&*structures[k], wanted[k], stream_offset(k), nullptr});
      b.molecules.push_back(k);
    }
    if (!b.jobs.empty()) batches.push_back(std::move(b));
  }
  return batches;
}

}  // namespace confsgm::generate
