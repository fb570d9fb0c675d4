// GPU benchmark of the distance-space model: network forward and whole
// Langevin steps per molecule-step at growing batch sizes (QM9-size and
// Drugs-size molecules), GFLOP/s against a plain cuBLAS SGEMM at the network's
// dominant shape, FP32 and TF32, the update kernel's bandwidth, and the CPU
// backend on the same machine for the same table. Plain main (no Google
// Benchmark): the GPU machine has only CUDA. Run by benchmarks/gpu/run.sh.
#include <confsgm/backend/cuda/distance_training.cuh>
#include <confsgm/backend/cuda/langevin.cuh>

#include "../../tests/unit/support.hpp"
#include "bench_support.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <numeric>

using namespace confsgm;

namespace {

struct timer {
  cudaEvent_t a, b;
  timer() { cudaEventCreate(&a); cudaEventCreate(&b); }
  void start() { cudaEventRecord(a); }
  double stop_ms() { cudaEventRecord(b); cudaEventSynchronize(b); float ms = 0; cudaEventElapsedTime(&ms, a, b); return ms; }
};

}  // namespace

int main(int argc, char** argv) {
  if (cuda::device_count() == 0) {
    std::printf("no CUDA device: benchmark skipped\n");
    return 77;
  }
  cudaDeviceProp prop{};
  CONFSGM_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s\n\n", prop.name);
  // --probe B: only B copies of the QM9-size molecule through 5 forward passes, to run under a profiler
  // (ncu --print-summary per-kernel bench_distance_gpu --probe 1).
  if (argc > 2 && std::string(argv[1]) == "--probe") {
    const model::distance_score_network<float> pnet{model::distance_network_config{}};
    const auto pp = pnet.initial_parameters(1);
    const auto s = distance_space::describe(test_support::butanol_graph());
    model::graph_batch b;
    for (int c = 0; c < std::atoi(argv[2]); ++c) b.add(s);
    const cuda::device_graph g(b);
    cuda::distance_network_gpu gnet(pnet, pp);
    cuda::device_buffer<float> dd(std::vector<float>(b.num_edges(), 1.5f)), ds(std::vector<float>(b.num_edges(), 0.5f)),
        o(b.num_edges());
    for (int r = 0; r < 5; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      gnet.forward(g, dd.data(), ds.data(), o.data());
      CONFSGM_CUDA_CHECK(cudaDeviceSynchronize());
      std::printf("probe forward %d: %.1f us\n", r,
                  std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    return 0;
  }
  gpu_bench::table out(argc > 1 ? argv[1] : "bench_distance_gpu.csv");
  const auto row = [&](auto&&... a) { out.row(a...); };
  const model::distance_score_network<float> net{model::distance_network_config{}};  // H = 128, 4 layers
  auto p = net.initial_parameters(1);
  for (const auto& blk : net.layout().blocks())
    if (blk.name == "edge_head.2.weight") model::view(p, blk).setConstant(0.01f);
  const std::pair<std::string, molecule_graph> mols[] = {{"QM9-size", test_support::butanol_graph()},
                                                         {"Drugs-size", gpu_bench::alkane(12)}};
  for (const auto& [name, graph] : mols) {
    const auto s = distance_space::describe(graph);
    for (const bool tf32 : {false, true}) {
      cuda::distance_network_gpu gnet(net, p, tf32);
      for (const int B : {1, 64, 1024, 4096}) {
        if (tf32 && B != 4096) continue;
        model::graph_batch b;
        for (int c = 0; c < B; ++c) b.add(s);
        const cuda::device_graph g(b);
        std::vector<float> d(b.num_edges(), 1.5f), sg(b.num_edges(), 0.5f);
        cuda::device_buffer<float> dd(d), ds(sg), o(d.size());
        gnet.forward(g, dd.data(), ds.data(), o.data());  // warm-up
        timer t;
        const int reps = B >= 1024 ? 20 : 200;
        t.start();
        for (int r = 0; r < reps; ++r) gnet.forward(g, dd.data(), ds.data(), o.data());
        const double ms = t.stop_ms() / reps;
        const double gflops = gnet.forward_flops(g.atoms, g.edges) / (ms * 1e-3) * 1e-9;
        row(std::string("forward") + (tf32 ? " TF32" : " FP32"), name, B, 1e3 * ms / B, gflops, "GFLOP/s");
        // Whole Langevin steps (distances + network + chain rule, clip, update): 1 level x 50 steps.
        sample::langevin_options lo;
        lo.steps_per_level = 50;
        const custom_schedule one({0.1});
        cuda::annealed_langevin_gpu(gnet, one, s, std::size_t(B), lo);  // warm-up
        const auto r = cuda::annealed_langevin_gpu(gnet, one, s, std::size_t(B), lo);
        row(std::string("Langevin step") + (tf32 ? " TF32" : " FP32"), name, B, 1e6 * r.seconds / (50.0 * B),
            5000.0 * r.seconds / 50.0 / B * 1e3, "ms per 5000-step conformer");
      }
    }
    // The update kernels alone: bytes they must move per step against the card's bandwidth.
    {
      const int B = 4096, N = int(s.n_atoms);
      model::graph_batch b;
      for (int c = 0; c < B; ++c) b.add(s);
      const cuda::device_graph g(b);
      std::vector<int> conformer_of, offsets{0};
      std::vector<std::uint32_t> key;
      for (int c = 0; c < B; ++c) {
        conformer_of.insert(conformer_of.end(), std::size_t(N), c);
        offsets.push_back(offsets.back() + N);
        key.push_back(std::uint32_t(c));
      }
      cuda::device_buffer<double> x(std::vector<double>(std::size_t(3) * N * B, 0.5)), sxyz(std::size_t(3) * N * B);
      cuda::device_buffer<float> sc(std::vector<float>(b.num_edges(), 0.1f));
      cuda::device_buffer<int> dead(std::vector<int>(B, 0)), cof(conformer_of), off(offsets);
      cuda::device_buffer<std::uint32_t> keys(key);
      timer t;
      t.start();
      const int reps = 50;
      for (int r = 0; r < reps; ++r) {
        cuda::kernels::coordinate_score<<<cuda::kernels::blocks_for(std::size_t(N) * B), cuda::kernels::threads>>>(
            sxyz.data(), x.data(), sc.data(), g.inc_offset.data(), g.inc_edge.data(), g.inc_other.data(), N * B, 1000.0);
        cuda::kernels::langevin_update<<<cuda::kernels::blocks_for(std::size_t(N) * B), cuda::kernels::threads>>>(
            x.data(), sxyz.data(), cof.data(), off.data(), keys.data(), N * B, 1e-6, 1e-3, 1, 0, std::uint32_t(r),
            dead.data());
      }
      const double ms = t.stop_ms() / reps;
      // Bytes the two passes must move: per atom x (read twice, written once), S (written, read), its conformer
      // index, and the incidence offset; per incidence its edge, neighbour and edge score and the neighbour's
      // coordinates; per conformer its atom offsets, noise key and dead flag.
      const double incidences = 2.0 * double(b.num_edges());
      const double bytes = double(N) * B * (3 * 24 + 2 * 24 + 4 + 4) + incidences * (4 + 4 + 4 + 24) + double(B) * 16;
      row("chain rule + update kernels", name, B, 1e3 * ms / B, bytes / (ms * 1e-3) * 1e-9, "GB/s (counted bytes)");
    }
    // Many molecules in one launch (as generate --backend cuda runs them): 64 molecules x 16 conformers, 1 level x
    // 50 steps, against the same 1,024 conformers as one molecule.
    {
      std::vector<cuda::langevin_job> jobs;
      for (int m = 0; m < 64; ++m) jobs.push_back({&s, 16, std::uint32_t(m) << 16, nullptr});
      sample::langevin_options lo;
      lo.steps_per_level = 50;
      const custom_schedule one({0.1});
      cuda::distance_network_gpu gnet(net, p);
      cuda::annealed_langevin_gpu(gnet, one, jobs, lo);  // warm-up
      const auto r = cuda::annealed_langevin_gpu(gnet, one, jobs, lo);
      row("Langevin step, 64 molecules x 16", name, 1024, 1e6 * r.front().seconds / (50.0 * 1024),
          5000.0 * r.front().seconds / 50.0 / 1024 * 1e3, "ms per 5000-step conformer");
    }
    // A plain SGEMM at the head's first layer shape: the ceiling the forward pass is compared with.
    {
      const int rows = int(s.edges.size()) * 4096, k = 256, n = 128;
      cuda::device_buffer<float> a(std::size_t(rows) * k), w(std::size_t(n) * k), c(std::size_t(rows) * n);
      a.zero();
      w.zero();
      cuda::blas_handle h(false);
      const float one = 1, zero = 0;
      timer t;
      t.start();
      for (int r = 0; r < 20; ++r)
        CONFSGM_CUDA_CHECK(cublasSgemm(h.get(), CUBLAS_OP_T, CUBLAS_OP_N, n, rows, k, &one, w.data(), k, a.data(), k,
                                       &zero, c.data(), n));
      const double ms = t.stop_ms() / 20;
      row("cuBLAS SGEMM " + std::to_string(rows) + "x256x128", name, 4096, 0, 2.0 * rows * k * n / (ms * 1e-3) * 1e-9,
          "GFLOP/s");
    }
    // DSM training steps through the trainer: batch_gradient (forward, loss, backward; the gradient to the host).
    for (const int B : {32, 256}) {
      train::training_set<distance_space> data;
      std::vector<double> dc(s.edges.size(), 1.5);
      for (int m = 0; m < B; ++m) {
        data.ids.push_back(std::to_string(m));
        data.structures.push_back(s);
        data.clean.push_back({dc});
      }
      const train::trainer_options to{.batch_molecules = std::size_t(B), .micro_batch = std::size_t(B), .threads = 1};
      train::dsm_trainer<cuda::distance_network_trainable, geometric_schedule, input_perturbation> t(
          cuda::distance_network_trainable{}, geometric_schedule(), input_perturbation(0.1), to);
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
      train::dsm_trainer<cuda::distance_network_trainable, geometric_schedule, input_perturbation> f(
          cuda::distance_network_trainable{}, geometric_schedule(), input_perturbation(0.1), fo);
      const double fsec = gpu_bench::fit_seconds_per_step(f, data);
      row("training step, fit(), micro-batch 8 (GPU)", name, B, 1e6 * fsec / B, B / fsec, "molecules/s");
    }
    // The CPU backend on this machine's CPU, one thread, batch 32.
    {
      model::graph_batch b;
      for (int c = 0; c < 32; ++c) b.add(s);
      std::vector<float> d(b.num_edges(), 1.5f), sg(b.num_edges(), 0.5f), o;
      model::distance_score_network<float>::cache cache;
      net.forward(p, b, d, sg, cache, o);
      const auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < 20; ++r) net.forward(p, b, d, sg, cache, o);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 20;
      row("CPU backend forward (1 thread)", name, 32, 1e3 * ms / 32, net.forward_flops(b.num_atoms(), b.num_edges()) /
                                                                        (ms * 1e-3) * 1e-9, "GFLOP/s");
    }
  }
  return 0;
}
