// Refinement after generation (confsgm/generate/refine.hpp): wall seconds per conformer of each refiner, MMFF94
// (RDKit, in process) and GFN-FF / GFN2-xTB (the xtb program, one process per conformer, 1 thread), each from
// the same ETKDG start, for a QM9-size and a Drugs-size molecule. Results: docs/performance.md.
#include <benchmark/benchmark.h>

#include <confsgm/generate/refine.hpp>
#include <confsgm/rdkit/sdf.hpp>

namespace {

struct case_molecule {
  confsgm::rdkit::molecule mol;
  confsgm::coordinates<double> start;
};

const case_molecule& molecule(int which) {
  static const auto cases = [] {
    std::vector<case_molecule> out;
    auto qm9 = confsgm::rdkit::from_smiles("CC(O)C(=O)NCC#N", "qm9-like");  // 18 atoms
    auto drug_sdf = confsgm::rdkit::read_sdf(CONFSGM_BENCH_DATA).molecules.front();  // 40 atoms
    confsgm::rdkit::molecule drug{drug_sdf.data.id, "", drug_sdf.mol, drug_sdf.data.graph, std::nullopt};
    for (auto* m : {&qm9, &drug}) {
      const auto g = confsgm::rdkit::generate_etkdg(*m, 1, {.seed = 3});
      out.push_back({*m, g.conformers.conformers[0]});
    }
    return out;
  }();
  return cases.at(static_cast<std::size_t>(which));
}

template <class Refiner>
void relax_loop(benchmark::State& state, const Refiner& refiner) {
  const auto& c = molecule(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(refiner.relax(c.mol, c.start));
  state.counters["atoms"] = double(c.mol.graph.num_atoms());
  state.counters["s/conformer"] =
      benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_refine_mmff94(benchmark::State& state) { relax_loop(state, confsgm::generate::mmff_refiner{}); }
BENCHMARK(BM_refine_mmff94)->ArgName("mol")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_refine_gfnff(benchmark::State& state) {
  confsgm::xtb::program_options o;
  o.method = confsgm::xtb::hamiltonian::gfnff;
  relax_loop(state, confsgm::generate::xtb_refiner(o));
}
BENCHMARK(BM_refine_gfnff)->ArgName("mol")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

void BM_refine_gfn2(benchmark::State& state) { relax_loop(state, confsgm::generate::xtb_refiner{}); }
BENCHMARK(BM_refine_gfn2)->ArgName("mol")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
