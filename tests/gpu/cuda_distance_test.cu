// GPU backend of the distance-space model against the CPU backend: network
// forward, one Langevin step, and a whole (short) annealed Langevin run with
// the same seed. Exit 77 (CTest: skipped) when no CUDA device is present.
// Tolerances follow fp32: relative error <= 1e-5 for one evaluation.
#include <confsgm/backend/cuda/distance_training.cuh>
#include <confsgm/backend/cuda/langevin.cuh>

#include <confsgm/eval/exposure_bias.hpp>
#include <confsgm/train/model_file.hpp>

#include "../unit/support.hpp"
#include "gpu_support.hpp"

#include <cstdio>

using namespace confsgm;

namespace {
using gpu_test::expect;
double max_abs(const std::vector<float>& a) {
  double m = 0;
  for (float v : a) m = std::max(m, double(std::abs(v)));
  return m;
}
}  // namespace

int main() {
  if (cuda::device_count() == 0) {
    std::printf("no CUDA device: GPU tests skipped\n");
    return 77;
  }
  cudaDeviceProp prop{};
  CONFSGM_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s\n", prop.name);
  try {
    model::distance_network_config cfg;  // the defaults: H = 128, 4 layers
    const model::distance_score_network<float> net(cfg);
    auto p = net.initial_parameters(7);
    for (const auto& blk : net.layout().blocks())  // a non-zero output layer, or the check passes on zeros
      if (blk.name == "edge_head.2.weight") {
        const random::stream j(3, random::purpose::user);
        for (std::size_t k = 0; k < blk.size(); ++k) p[blk.offset + k] = 0.3f * float(j.normal(std::uint32_t(k)));
      }
    const auto g = test_support::butanol_graph();
    const auto s = distance_space::describe(g);
    std::mt19937_64 rng(5);

    // 1. Forward: 5 conformers, per-edge sigmas across the schedule.
    model::graph_batch b;
    std::vector<float> d, sigma;
    for (int c = 0; c < 5; ++c) {
      b.add(s);
      const auto x = test_support::random_points(s.n_atoms, rng, 1.5);
      std::vector<double> dc(s.edges.size());
      distance_space::distances(s, x, dc.data());
      for (double v : dc) d.push_back(float(v));
      sigma.insert(sigma.end(), s.edges.size(), float(std::pow(10.0, -2 + c)));
    }
    model::distance_score_network<float>::cache cache;
    std::vector<float> cpu;
    net.forward(p, b, d, sigma, cache, cpu);
    cuda::distance_network_gpu gnet(net, p);
    const cuda::device_graph dg(b);
    cuda::device_buffer<float> dd(d), ds(sigma), out(d.size());
    gnet.forward(dg, dd.data(), ds.data(), out.data());
    const auto gpu = out.download();
    double err = 0;
    for (std::size_t k = 0; k < cpu.size(); ++k) err = std::max(err, double(std::abs(cpu[k] - gpu[k])));
    expect(err / max_abs(cpu) <= 1e-5, "forward: max |cpu - gpu| / max |cpu|", err / max_abs(cpu), 1e-5);

    // 2. One Langevin step from given coordinates (last level, with noise).
    const geometric_schedule sch;
    sample::langevin_options o;
    o.seed = 11;
    o.first_level = sch.size() - 1;
    o.steps_per_level = 1;
    conformer_batch<double> start(s.n_atoms);
    for (int c = 0; c < 6; ++c) start.push_back(test_support::random_points(s.n_atoms, rng, 1.5));
    const sample::network_pair_score<model::distance_score_network<float>> score(net, p);
    const auto rc = sample::annealed_langevin<float>(score, sch, s, 6, o, nullptr, &start);
    const auto rg = cuda::annealed_langevin_gpu(gnet, sch, s, 6, o, &start);
    double step_err = 0, moved = 0;
    for (std::size_t k = 0; k < 6 * 3 * s.n_atoms; ++k) {
      step_err = std::max(step_err, std::abs(rc.conformers.data()[k] - rg.conformers.data()[k]));
      moved = std::max(moved, std::abs(rc.conformers.data()[k] - start.data()[k]));
    }
    expect(step_err / moved <= 1e-5, "one Langevin step: max |dx| difference / max step", step_err / moved, 1e-5);

    // 3. A whole run, same seed, with the shipped trained model: 10 levels x 20 steps from the random initial
    //    state at ConfGF's step size (on the CPU, moving one start coordinate by 1e-6 A moves the result by ~1e-6 A).
    {
      const auto trained = train::load_model_file<model::distance_score_network<float>>(
          gpu_test::shipped_model("qm9-distance-ip.bin"));
      const sample::network_pair_score<model::distance_score_network<float>> tscore(trained.network, trained.parameters);
      cuda::distance_network_gpu tnet(trained.network, trained.parameters);
      const geometric_schedule short_sch(10.0, 0.01, 10);
      sample::langevin_options full;
      full.seed = 42;
      full.steps_per_level = 20;
      const auto fc = sample::annealed_langevin<float>(tscore, short_sch, s, 8, full);
      const auto fg = cuda::annealed_langevin_gpu(tnet, short_sch, s, 8, full);
      double run_err = 0;
      for (std::size_t k = 0; k < 8 * 3 * s.n_atoms; ++k)
        run_err = std::max(run_err, std::abs(fc.conformers.data()[k] - fg.conformers.data()[k]));
      expect(fc.diverged == 0 && fg.diverged == 0, "whole run: no conformer diverged (cpu + gpu)",
             double(fc.diverged + fg.diverged), 0);
      expect(run_err <= 1e-3, "whole run (200 steps): max |x_cpu - x_gpu| (Angstrom)", run_err, 1e-3);

      // 3b. Several molecules in one launch (generate --backend cuda): each equals its own CPU run with its noise
      //     streams. Butan-2-ol (5 conformers) and a butane skeleton (3), the second with streams from 1 << 16.
      const auto butane = distance_space::describe(test_support::carbon_graph(4, {{0, 1}, {1, 2}, {2, 3}}));
      const std::vector<cuda::langevin_job> jobs = {{&s, 5, 0, nullptr}, {&butane, 3, 1u << 16, nullptr}};
      const auto many = cuda::annealed_langevin_gpu(tnet, short_sch, jobs, full);
      double many_err = 0;
      std::size_t many_diverged = 0;
      for (std::size_t j = 0; j < jobs.size(); ++j) {
        auto oj = full;
        oj.stream_offset = jobs[j].stream_offset;
        const auto cj = sample::annealed_langevin<float>(tscore, short_sch, *jobs[j].structure, jobs[j].conformers, oj);
        many_diverged += cj.diverged + many[j].diverged;
        for (std::size_t k = 0; k < jobs[j].conformers * 3 * jobs[j].structure->n_atoms; ++k)
          many_err = std::max(many_err, std::abs(cj.conformers.data()[k] - many[j].conformers.data()[k]));
      }
      expect(many.size() == 2 && many_diverged == 0, "two molecules in one launch: results, none diverged",
             double(many_diverged), 0);
      expect(many_err <= 1e-3, "two molecules in one launch: max |x_cpu - x_gpu| (Angstrom)", many_err, 1e-3);
    }
    const geometric_schedule short_sch(10.0, 0.01, 10);

    // 4. The exposure-bias estimator, unchanged, with the device model (cuda::distance_model_gpu) as its model.
    {
      std::vector<eval::distance_sample> truth;
      for (std::size_t c = 0; c < 3; ++c) truth.push_back({&s, start[c]});
      eval::bias_options bo;
      bo.samples_per_level = 1;
      bo.seed = 5;
      sample::langevin_options bl;
      bl.steps_per_level = 5;
      bl.step_size = 2.4e-6 * 25;
      const eval::distance_bias_problem<decltype(score), geometric_schedule> pc(score, short_sch, bl);
      const cuda::distance_model_gpu device_model(net, p);
      const eval::distance_bias_problem<cuda::distance_model_gpu, geometric_schedule> pg(device_model, short_sch, bl);
      gpu_test::compare_bias(eval::estimate_exposure_bias(pc, truth, bo), eval::estimate_exposure_bias(pg, truth, bo),
                             1e-3);
    }

    // 5. Training on the GPU: gradients of a DSM batch, then three trainer steps, against the CPU.
    train::training_set<distance_space> data;
    for (int m = 0; m < 6; ++m) {
      std::vector<double> dc(s.edges.size());
      distance_space::distances(s, test_support::random_points(s.n_atoms, rng, 1.5), dc.data());
      data.ids.push_back("m" + std::to_string(m));
      data.structures.push_back(s);
      data.clean.push_back({dc});
    }
    const train::trainer_options to{.batch_molecules = 6, .micro_batch = 3, .epochs = 3, .threads = 1};
    const model::distance_network_config small{.hidden = 32, .layers = 2};
    train::dsm_trainer<model::distance_score_network<float>, geometric_schedule, input_perturbation> tc(
        model::distance_score_network<float>(small), geometric_schedule(), input_perturbation(0.1), to);
    train::dsm_trainer<cuda::distance_network_trainable, geometric_schedule, input_perturbation> tg(
        cuda::distance_network_trainable(small), geometric_schedule(), input_perturbation(0.1), to);
    gpu_test::set_output_layer(tc, tg, "edge_head.2.weight");
    gpu_test::compare_training(tc, tg, data, {0, 1, 2, 3, 4, 5});
    gpu_test::check_resident_training<cuda::distance_network_trainable, geometric_schedule>(to, small, data,
                                      "edge_head.2.weight");
  } catch (const std::exception& e) {
    std::printf("FAIL exception: %s\n", e.what());
    return 1;
  }
  return gpu_test::failures ? 1 : 0;
}
