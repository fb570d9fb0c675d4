// Symmetry-aware heavy-atom RMSD: confsgm against RDKit's C++
// MolAlign::getBestRMS on the same 2,080 real GEOM-Drugs conformer pairs (the
// golden pairs of tests/golden), single-threaded, plus the parallel matrix.
//
// Each iteration evaluates all 2,080 pairs. confsgm's time includes building
// the per-molecule symmetry (automorphisms) once per molecule per iteration,
// which is how an evaluator uses it; RDKit's getBestRMS redoes its
// substructure matching for every pair, which is how RDKit users call it.
#include <benchmark/benchmark.h>

#include <GraphMol/MolAlign/AlignMolecules.h>
#include <confsgm/confsgm.hpp>
#include <confsgm/rdkit/rdkit.hpp>

#include <fstream>
#include <map>
#include <sstream>

namespace {

struct pair_ref {
  std::size_t molecule, ref, prb;
};

struct fixture {
  confsgm::rdkit::sdf_read_result data;
  std::vector<pair_ref> pairs;
  // RDKit side: one hydrogen-free molecule per conformer.
  std::vector<std::vector<std::unique_ptr<RDKit::ROMol>>> heavy_mols;

  fixture() {
    data = confsgm::rdkit::read_sdf(CONFSGM_BENCH_DATA);
    std::map<std::string, std::size_t> mol_index;
    std::vector<std::map<std::string, std::size_t>> conf_index(data.molecules.size());
    heavy_mols.resize(data.molecules.size());
    for (std::size_t m = 0; m < data.molecules.size(); ++m) {
      const auto& sm = data.molecules[m];
      mol_index[sm.data.id] = m;
      for (std::size_t c = 0; c < sm.data.size(); ++c) {
        conf_index[m][*sm.data.info[c].property("conf_index")] = c;
        RDKit::RWMol with_h(*sm.mol);
        with_h.clearConformers();
        confsgm::rdkit::set_coordinates(with_h, sm.data.conformers[c]);
        heavy_mols[m].emplace_back(RDKit::MolOps::removeHs(static_cast<const RDKit::ROMol&>(with_h)));
      }
    }
    std::ifstream csv(CONFSGM_BENCH_PAIRS);
    std::string line;
    std::getline(csv, line);
    while (std::getline(csv, line)) {
      std::stringstream ss(line);
      std::string id, r, p;
      std::getline(ss, id, ',');
      std::getline(ss, r, ',');
      std::getline(ss, p, ',');
      const auto m = mol_index.at(id);
      pairs.push_back({m, conf_index[m].at(r), conf_index[m].at(p)});
    }
  }
};

const fixture& get_fixture() {
  static const fixture f;
  return f;
}

void BM_confsgm_best_rmsd_pairs(benchmark::State& state) {
  const auto& f = get_fixture();
  for (auto _ : state) {
    std::vector<std::unique_ptr<confsgm::symmetric_rmsd>> metrics;
    std::vector<std::vector<confsgm::prepared_conformer>> prepared;
    for (const auto& m : f.data.molecules) {
      metrics.push_back(std::make_unique<confsgm::symmetric_rmsd>(m.data.graph));
      prepared.push_back(confsgm::prepare_all(*metrics.back(), m.data.conformers));
    }
    double sum = 0;
    for (const auto& p : f.pairs) sum += (*metrics[p.molecule])(prepared[p.molecule][p.ref], prepared[p.molecule][p.prb]);
    benchmark::DoNotOptimize(sum);
  }
  state.counters["pairs_per_s"] =
      benchmark::Counter(static_cast<double>(f.pairs.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_confsgm_best_rmsd_pairs)->Unit(benchmark::kMillisecond);

void BM_rdkit_getBestRMS_pairs(benchmark::State& state) {
  auto& f = const_cast<fixture&>(get_fixture());
  for (auto _ : state) {
    double sum = 0;
    for (const auto& p : f.pairs)
      sum += RDKit::MolAlign::getBestRMS(*f.heavy_mols[p.molecule][p.prb], *f.heavy_mols[p.molecule][p.ref]);
    benchmark::DoNotOptimize(sum);
  }
  state.counters["pairs_per_s"] =
      benchmark::Counter(static_cast<double>(f.pairs.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_rdkit_getBestRMS_pairs)->Unit(benchmark::kMillisecond);

// The evaluator's workload: full ref x (2 x ref) matrices of all 10 molecules
// (GEOM x GEOM twice over, 2 x 502^2-ish pairs in total), on T threads.
void BM_confsgm_full_matrices(benchmark::State& state) {
  const auto& f = get_fixture();
  const auto threads = static_cast<unsigned>(state.range(0));
  std::size_t pairs = 0;
  for (const auto& m : f.data.molecules) pairs += 2 * m.data.size() * m.data.size();
  for (auto _ : state) {
    for (const auto& m : f.data.molecules) {
      const confsgm::symmetric_rmsd metric(m.data.graph);
      const auto prepared = confsgm::prepare_all(metric, m.data.conformers);
      std::vector<confsgm::prepared_conformer> gen = prepared;
      gen.insert(gen.end(), prepared.begin(), prepared.end());
      benchmark::DoNotOptimize(confsgm::rmsd_matrix(metric, prepared, gen, threads));
    }
  }
  state.counters["pairs_per_s"] =
      benchmark::Counter(static_cast<double>(pairs), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_confsgm_full_matrices)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
