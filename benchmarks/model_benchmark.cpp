// Distance-space score model on the CPU: network forward and training-step
// throughput, seconds per sampled conformer at ConfGF's default sampler
// settings, and the GFLOP/s reached against Eigen's own GEMM at the layer
// shapes. Molecules are real: a QM9 molecule (from SMILES, ETKDG geometry)
// and a GEOM-Drugs molecule (tests/data). Results: docs/performance.md.
#include <benchmark/benchmark.h>

#include <confsgm/model/distance_score_network.hpp>
#include <confsgm/rdkit/etkdg.hpp>
#include <confsgm/rdkit/sdf.hpp>
#include <confsgm/sample/langevin.hpp>
#include <confsgm/train/trainer.hpp>

namespace {

using net_t = confsgm::model::distance_score_network<float>;

struct molecule_case {
  confsgm::distance_structure structure;
  std::vector<double> distances;
};

const molecule_case& qm9_case() {
  static const molecule_case c = [] {
    const auto m = confsgm::rdkit::from_smiles("CC(O)C(=O)NCC#N", "qm9-like");  // 9 heavy atoms, 18 atoms
    const auto e = confsgm::rdkit::generate_etkdg(m, 1);
    molecule_case mc{confsgm::distance_space::describe(m.graph), {}};
    mc.distances.resize(mc.structure.edges.size());
    confsgm::distance_space::distances(mc.structure, e.conformers.conformers[0], mc.distances.data());
    return mc;
  }();
  return c;
}

const molecule_case& drugs_case() {
  static const molecule_case c = [] {
    const auto r = confsgm::rdkit::read_sdf(CONFSGM_BENCH_DATA);
    const auto& e = r.molecules.front().data;  // 40 atoms, 27 heavy
    molecule_case mc{confsgm::distance_space::describe(e.graph), {}};
    mc.distances.resize(mc.structure.edges.size());
    confsgm::distance_space::distances(mc.structure, e.conformers[0], mc.distances.data());
    return mc;
  }();
  return c;
}

const molecule_case& pick(int which) { return which == 0 ? qm9_case() : drugs_case(); }

net_t make_net(std::size_t hidden) {
  confsgm::model::distance_network_config cfg;
  cfg.hidden = hidden;
  return net_t(cfg);
}

/// Forward pass of a batch of B copies of one molecule (one thread).
void BM_forward(benchmark::State& state) {
  const auto& mc = pick(static_cast<int>(state.range(0)));
  const auto hidden = static_cast<std::size_t>(state.range(1));
  const auto batch = static_cast<std::size_t>(state.range(2));
  const auto net = make_net(hidden);
  const auto p = net.initial_parameters(1);
  confsgm::model::graph_batch b;
  std::vector<float> d, sigma;
  for (std::size_t k = 0; k < batch; ++k) {
    b.add(mc.structure);
    d.insert(d.end(), mc.distances.begin(), mc.distances.end());
  }
  sigma.assign(d.size(), 0.5f);
  net_t::cache c;
  std::vector<float> out;
  for (auto _ : state) {
    net.forward(p, b, d, sigma, c, out);
    benchmark::DoNotOptimize(out.data());
  }
  const double flops = net.forward_flops(b.num_atoms(), b.num_edges());
  state.counters["conformers/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["edges"] = double(b.num_edges());
}
BENCHMARK(BM_forward)
    ->ArgNames({"mol", "hidden", "batch"})
    ->Args({0, 128, 32})
    ->Args({1, 128, 32})
    ->Args({0, 64, 32})
    ->Args({0, 256, 32})
    ->Unit(benchmark::kMillisecond);

/// One DSM training step (forward, loss, backward; no optimiser) of a batch of molecules.
void BM_train_step(benchmark::State& state) {
  const auto& mc = pick(static_cast<int>(state.range(0)));
  const auto threads = static_cast<unsigned>(state.range(1));
  confsgm::train::training_set<confsgm::distance_space> data;
  for (int m = 0; m < 32; ++m) {
    data.ids.push_back(std::to_string(m));
    data.structures.push_back(mc.structure);
    data.clean.push_back({mc.distances});
  }
  confsgm::train::trainer_options o;
  o.threads = threads;
  confsgm::train::dsm_trainer<net_t, confsgm::geometric_schedule, confsgm::input_perturbation> t(
      make_net(128), confsgm::geometric_schedule(), confsgm::input_perturbation(0.1), o);
  std::vector<std::size_t> mols(32);
  std::iota(mols.begin(), mols.end(), std::size_t{0});
  confsgm::model::parameter_vector<float> grad;
  std::uint64_t step = 0;
  for (auto _ : state) benchmark::DoNotOptimize(t.batch_gradient(data, mols, step++, grad));
  confsgm::model::graph_batch b;
  for (int m = 0; m < 32; ++m) b.add(mc.structure);
  // Backward costs two GEMMs per forward GEMM.
  const double flops = 3.0 * t.network().forward_flops(b.num_atoms(), b.num_edges());
  state.counters["molecules/s"] = benchmark::Counter(32.0, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_train_step)->ArgNames({"mol", "threads"})->Args({0, 1})->Args({0, 2})->Args({1, 2})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

/// Eigen's own float GEMM at the network's dominant shape (rows x 2H) * (2H x H)^T.
void BM_eigen_gemm(benchmark::State& state) {
  const auto rows = state.range(0), k = state.range(1), n = state.range(2);
  confsgm::model::row_matrix<float> a = confsgm::model::row_matrix<float>::Random(rows, k);
  confsgm::model::row_matrix<float> w = confsgm::model::row_matrix<float>::Random(n, k);
  confsgm::model::row_matrix<float> c(rows, n);
  for (auto _ : state) {
    c.noalias() = a * w.transpose();
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * double(rows * k * n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
// Rows = edges of 32 QM9 copies (set at run time would need a fixture; the
// QM9 molecule has 123 extended edges -> 3936 rows; 18 atoms -> 576 node rows).
BENCHMARK(BM_eigen_gemm)->ArgNames({"rows", "k", "n"})
    ->Args({3936, 256, 128})->Args({3936, 128, 128})->Args({576, 128, 128})->Args({3936, 2, 128})
    ->Unit(benchmark::kMicrosecond);

/// Seconds per conformer for annealed Langevin at ConfGF's defaults (50 levels x 100 steps).
void BM_sample(benchmark::State& state) {
  const auto& mc = pick(static_cast<int>(state.range(0)));
  const auto steps = static_cast<std::size_t>(state.range(1));
  const auto net = make_net(128);
  const auto p = net.initial_parameters(1);
  const confsgm::sample::network_pair_score<net_t> score(net, p);
  confsgm::sample::langevin_options o;
  o.steps_per_level = steps;
  o.threads = 1;
  o.chunk = 16;
  const std::size_t n = 16;
  for (auto _ : state) {
    const auto r = confsgm::sample::annealed_langevin<float>(score, confsgm::geometric_schedule(), mc.structure, n, o);
    benchmark::DoNotOptimize(r.conformers.data());
  }
  state.counters["s/conformer"] =
      benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_sample)->ArgNames({"mol", "steps_per_level"})->Args({0, 100})->Args({0, 20})
    ->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace
