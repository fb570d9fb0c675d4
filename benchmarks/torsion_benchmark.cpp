// Torsion-space model on the CPU, on the 10 real GEOM-Drugs molecules of
// tests/data: seconds per generated conformer (ETKDG local structure + the
// reference's 20 reverse-SDE steps), with one local structure per conformer
// and with one reused per molecule, against RDKit ETKDG's seconds per
// conformer for the same molecules on the same core; network forward and
// training-step throughput. Results: docs/performance.md.
#include <benchmark/benchmark.h>

#include <confsgm/model/torsion_score_network.hpp>
#include <confsgm/rdkit/etkdg.hpp>
#include <confsgm/rdkit/sdf.hpp>
#include <confsgm/sample/torus_sampler.hpp>
#include <confsgm/train/trainer.hpp>

namespace {

using net_t = confsgm::model::torsion_score_network<float>;

const std::vector<confsgm::rdkit::molecule>& drugs() {
  static const auto mols = [] {
    std::vector<confsgm::rdkit::molecule> out;
    for (const auto& m : confsgm::rdkit::read_sdf(CONFSGM_BENCH_DATA).molecules) {
      confsgm::rdkit::molecule x;
      x.id = m.data.id;
      x.mol = m.mol;
      x.graph = m.data.graph;
      out.push_back(std::move(x));
    }
    return out;
  }();
  return mols;
}

struct model_case {
  net_t net;
  confsgm::model::parameter_vector<float> p;
};
const model_case& model() {
  static const model_case m = [] {
    net_t net{confsgm::model::torsion_network_config{}};
    auto p = net.initial_parameters(1);
    // Untrained output layers are zero; give them values so the sampler really moves the torsions.
    for (const auto& blk : net.layout().blocks())
      if (blk.name == "pair_mlp.2.weight") confsgm::model::view(p, blk).setConstant(0.05f);
    return model_case{std::move(net), std::move(p)};
  }();
  return m;
}

std::vector<confsgm::torsion_structure> locals(const confsgm::rdkit::molecule& m, std::size_t n, std::uint32_t seed) {
  confsgm::rdkit::etkdg_options eo;
  eo.seed = seed;
  eo.threads = 1;
  const auto r = confsgm::rdkit::generate_etkdg(m, n, eo);
  std::vector<confsgm::torsion_structure> out;
  for (std::size_t k = 0; k < r.conformers.size(); ++k)
    out.push_back(confsgm::torsion_space::describe(m.graph, r.conformers.conformers[k]));
  return out;
}

constexpr std::size_t per_molecule = 16;

/// Conformers for all 10 molecules: ETKDG local structure(s) + 20 reverse-SDE steps, one thread.
void BM_torsional_generate(benchmark::State& state) {
  const bool reuse = state.range(0) != 0;
  const auto& m = model();
  const confsgm::sample::network_torsion_score<net_t> score(m.net, m.p);
  confsgm::sample::torus_sampler_options o;
  o.threads = 1;
  o.chunk = per_molecule;
  std::size_t produced = 0;
  std::uint32_t seed = 1;
  for (auto _ : state) {
    for (const auto& mol : drugs()) {
      const auto local = locals(mol, reuse ? 1 : per_molecule, seed++);
      std::vector<const confsgm::torsion_structure*> samples;
      for (std::size_t c = 0; c < per_molecule; ++c) samples.push_back(&local[c % local.size()]);
      const auto r = confsgm::sample::sample_torsions<float>(score, confsgm::log_uniform_schedule(), samples, o);
      for (std::size_t c = 0; c < per_molecule; ++c) {
        const auto x = confsgm::torsion_space::coordinates_of(*samples[c], r.torsions[c]);
        benchmark::DoNotOptimize(x.data());
      }
      produced += per_molecule;
    }
  }
  state.counters["s/conformer"] =
      benchmark::Counter(double(produced), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_torsional_generate)->ArgNames({"reuse_local"})->Arg(1)->Arg(0)->Unit(benchmark::kSecond)->Iterations(1);

/// RDKit ETKDGv3 alone for the same molecules and counts, one thread.
void BM_etkdg(benchmark::State& state) {
  std::size_t produced = 0;
  std::uint32_t seed = 1;
  for (auto _ : state) {
    for (const auto& mol : drugs()) {
      confsgm::rdkit::etkdg_options eo;
      eo.seed = seed++;
      eo.threads = 1;
      const auto r = confsgm::rdkit::generate_etkdg(mol, per_molecule, eo);
      benchmark::DoNotOptimize(r.conformers.conformers.data());
      produced += per_molecule;
    }
  }
  state.counters["s/conformer"] =
      benchmark::Counter(double(produced), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_etkdg)->Unit(benchmark::kSecond)->Iterations(1);

/// Network forward for a batch of B copies of the first Drugs molecule (one thread).
void BM_torsion_forward(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const auto& m = model();
  const auto local = locals(drugs().front(), 1, 7);
  confsgm::model::torsion_batch b;
  for (std::size_t k = 0; k < batch; ++k) b.add(local[0]);
  std::vector<float> theta(b.num_torsions()), sigma(b.num_torsions(), 0.5f);
  for (std::size_t k = 0; k < theta.size(); ++k) theta[k] = static_cast<float>(local[0].local_torsions[k % local[0].torsions.size()]);
  net_t::cache c;
  std::vector<float> out;
  for (auto _ : state) {
    m.net.forward(m.p, b, theta, sigma, c, out);
    benchmark::DoNotOptimize(out.data());
  }
  const double flops = m.net.forward_flops(b.num_atoms(), b.num_edges(), c.pair_i.size());
  state.counters["molecule-steps/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pairs"] = double(c.pair_i.size());
}
BENCHMARK(BM_torsion_forward)->ArgNames({"batch"})->Arg(1)->Arg(16)->Arg(64)->Unit(benchmark::kMillisecond);

/// One DSM training step (forward, loss, backward) over 32 Drugs molecules.
void BM_torsion_train_step(benchmark::State& state) {
  const auto threads = static_cast<unsigned>(state.range(0));
  confsgm::train::training_set<confsgm::torsion_space> data;
  for (std::size_t k = 0; k < 32; ++k) {
    const auto& mol = drugs()[k % drugs().size()];
    auto local = locals(mol, 1, static_cast<std::uint32_t>(k + 1));
    data.ids.push_back(mol.id);
    data.clean.push_back({local[0].local_torsions});
    data.structures.push_back(std::move(local[0]));
  }
  confsgm::train::trainer_options o;
  o.threads = threads;
  confsgm::train::dsm_trainer<net_t, confsgm::log_uniform_schedule, confsgm::input_perturbation> t(
      net_t{confsgm::model::torsion_network_config{}}, confsgm::log_uniform_schedule(), confsgm::input_perturbation(0.1), o);
  std::vector<std::size_t> mols(32);
  std::iota(mols.begin(), mols.end(), std::size_t{0});
  confsgm::model::parameter_vector<float> grad;
  std::uint64_t step = 0;
  for (auto _ : state) benchmark::DoNotOptimize(t.batch_gradient(data, mols, step++, grad));
  state.counters["molecules/s"] = benchmark::Counter(32.0, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_torsion_train_step)->ArgNames({"threads"})->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
