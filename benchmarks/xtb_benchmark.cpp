// GFN2-xTB single points: seconds per conformer through libxtb (one process,
// its OpenMP threads) and through the xtb program (one process per call),
// for a QM9-size and a Drugs-size molecule. Results: docs/performance.md.
#include <benchmark/benchmark.h>

#include <confsgm/rdkit/etkdg.hpp>
#include <confsgm/rdkit/sdf.hpp>
#include <confsgm/xtb/library.hpp>
#include <confsgm/xtb/program.hpp>

namespace {

const confsgm::ensemble<double>& molecule(int which) {
  static const auto qm9 = [] {
    const auto m = confsgm::rdkit::from_smiles("CC(O)C(=O)NCC#N", "qm9-like");  // 18 atoms
    return confsgm::rdkit::generate_etkdg(m, 4).conformers;
  }();
  static const auto drugs = [] {
    auto r = confsgm::rdkit::read_sdf(CONFSGM_BENCH_DATA);
    return r.molecules.front().data;  // 40 atoms
  }();
  return which == 0 ? qm9 : drugs;
}

void BM_libxtb_singlepoint(benchmark::State& state) {
  const auto& e = molecule(static_cast<int>(state.range(0)));
  confsgm::xtb::gfn2_calculator calc(e.graph, e.graph.net_charge());
  std::size_t c = 0;
  for (auto _ : state) {
    const auto r = calc.singlepoint(e.conformers[c++ % e.size()]);
    if (!r.ok) state.SkipWithError(r.message.c_str());
  }
  state.counters["atoms"] = double(e.graph.num_atoms());
  state.counters["s/conformer"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_libxtb_singlepoint)->ArgName("mol")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_program_singlepoint(benchmark::State& state) {
  const auto& e = molecule(static_cast<int>(state.range(0)));
  std::size_t c = 0;
  for (auto _ : state) {
    const auto r = confsgm::xtb::singlepoint(e.graph, e.conformers[c++ % e.size()], e.graph.net_charge());
    if (!r.ok) state.SkipWithError(r.message.c_str());
  }
  state.counters["s/conformer"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_program_singlepoint)->ArgName("mol")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
