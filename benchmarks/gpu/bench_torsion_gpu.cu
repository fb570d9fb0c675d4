// GPU benchmark of the torsion-space model: network forward and whole
// reverse-SDE steps per molecule-step for one molecule and for large batches
// (QM9-size butan-2-ol, Drugs-size dodecane), FP32 and TF32, and the CPU
// backend on the same machine. Plain main; run by benchmarks/gpu/run.sh.
#include <confsgm/backend/cuda/torsion_sampler.cuh>
#include <confsgm/backend/cuda/torsion_training.cuh>

#include "../../tests/unit/support.hpp"
#include "bench_support.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <numeric>

using namespace confsgm;

int main(int argc, char** argv) {
  if (cuda::device_count() == 0) {
    std::printf("no CUDA device: benchmark skipped\n");
    return 77;
  }
  gpu_bench::table out(argc > 1 ? argv[1] : "bench_torsion_gpu.csv");
  const auto row = [&](auto&&... a) { out.row(a...); };
  const model::torsion_score_network<float> net{model::torsion_network_config{}};
  auto p = net.initial_parameters(1);
  for (const auto& blk : net.layout().blocks())
    if (blk.name == "pair_mlp.2.weight") model::view(p, blk).setConstant(0.01f);
  std::mt19937_64 rng(3);
  const auto qm9g = test_support::butanol_graph();
  const auto drg = gpu_bench::alkane(12);
  const std::pair<std::string, torsion_structure> mols[] = {
      {"QM9-size", torsion_space::describe(qm9g, test_support::random_points(qm9g.num_atoms(), rng, 1.8))},
      {"Drugs-size", torsion_space::describe(drg, test_support::random_points(drg.num_atoms(), rng, 3.0))}};
  for (const auto& [name, s] : mols) {
    for (const bool tf32 : {false, true}) {
      cuda::torsion_network_gpu gnet(net, p, tf32);
      for (const int B : {1, 64, 1024, 4096}) {
        if (tf32 && B != 4096) continue;
        std::vector<const torsion_structure*> samples(std::size_t(B), &s);
        // Whole reverse-SDE runs: 20 levels, all state on the device (warm-up first).
        sample::torus_sampler_options o;
        cuda::sample_torsions_gpu(gnet, log_uniform_schedule(), samples, o);
        const auto r = cuda::sample_torsions_gpu(gnet, log_uniform_schedule(), samples, o);
        row(std::string("SDE step") + (tf32 ? " TF32" : " FP32"), name, B, 1e6 * r.seconds / (20.0 * B),
            1e3 * r.seconds / B, "ms per 20-step conformer");
        // Forward alone.
        cuda::device_torsion_batch db(samples);
        cuda::device_buffer<double> th(std::vector<double>(std::size_t(db.torsions), 0.5));
        cuda::device_buffer<float> out(std::size_t(db.torsions));
        const std::vector<float> sig(std::size_t(B), 0.5f);
        gnet.forward(db, th.data(), sig, out.data());
        CONFSGM_CUDA_CHECK(cudaDeviceSynchronize());
        const int reps = B >= 1024 ? 20 : 100;
        const auto t0 = std::chrono::steady_clock::now();
        for (int k = 0; k < reps; ++k) gnet.forward(db, th.data(), sig, out.data());
        CONFSGM_CUDA_CHECK(cudaDeviceSynchronize());
        const double s_per = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
        row(std::string("forward") + (tf32 ? " TF32" : " FP32"), name, B, 1e6 * s_per / B,
            gnet.forward_flops(db.atoms, db.graph.edges, db.pairs) / s_per * 1e-9, "GFLOP/s");
      }
    }
    // DSM training steps through the trainer: batch_gradient (forward, loss, backward; the gradient to the host).
    for (const int B : {32, 256}) {
      train::training_set<torsion_space> data;
      for (int m = 0; m < B; ++m) {
        data.ids.push_back(std::to_string(m));
        data.structures.push_back(s);
        data.clean.push_back({s.local_torsions});
      }
      const train::trainer_options to{.batch_molecules = std::size_t(B), .micro_batch = std::size_t(B), .threads = 1};
      train::dsm_trainer<cuda::torsion_network_trainable, log_uniform_schedule, input_perturbation> t(
          cuda::torsion_network_trainable{}, log_uniform_schedule(), input_perturbation(0.1), to);
      std::vector<std::size_t> mols(static_cast<std::size_t>(B));
      std::iota(mols.begin(), mols.end(), std::size_t{0});
      model::parameter_vector<float> grad;
      t.batch_gradient(data, mols, 0, grad);
      const auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < 10; ++r) t.batch_gradient(data, mols, std::uint64_t(r + 1), grad);
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 10;
      row("training step (GPU)", name, B, 1e6 * sec / B, B / sec, "molecules/s");
      // Whole steps as fit() runs them, the state resident on the device, micro-batches of 8 (the application's
      // default), one host thread.
      auto fo = to;
      fo.micro_batch = 8;
      fo.epochs = 11;
      train::dsm_trainer<cuda::torsion_network_trainable, log_uniform_schedule, input_perturbation> f(
          cuda::torsion_network_trainable{}, log_uniform_schedule(), input_perturbation(0.1), fo);
      const double fsec = gpu_bench::fit_seconds_per_step(f, data);
      row("training step, fit(), micro-batch 8 (GPU)", name, B, 1e6 * fsec / B, B / fsec, "molecules/s");
    }
    // The CPU backend on this machine, one thread, 16 samples, 20 steps.
    {
      const sample::network_torsion_score<model::torsion_score_network<float>> score(net, p);
      std::vector<const torsion_structure*> samples(16, &s);
      sample::torus_sampler_options o;
      o.threads = 1;
      const auto r = sample::sample_torsions<float>(score, log_uniform_schedule(), samples, o);
      row("CPU backend SDE step (1 thread)", name, 16, 1e6 * r.seconds / (20.0 * 16), 1e3 * r.seconds / 16,
          "ms per 20-step conformer");
    }
  }
  return 0;
}
