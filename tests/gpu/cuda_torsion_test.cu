// GPU backend of the torsion-space model against the CPU backend: network
// forward, one reverse-SDE step, whole 20-step runs of the three samplers with
// the same seed, the exposure-bias estimator with the device model, training. Exit 77 (CTest: skipped) when no CUDA device is present.
#include <confsgm/backend/cuda/torsion_sampler.cuh>
#include <confsgm/backend/cuda/torsion_training.cuh>
#include <confsgm/eval/exposure_bias.hpp>
#include <confsgm/train/model_file.hpp>

#include "../unit/support.hpp"
#include "gpu_support.hpp"

#include <cstdio>

using namespace confsgm;

namespace {
using gpu_test::expect;
double max_wrapped_diff(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  double m = 0;
  for (std::size_t c = 0; c < a.size(); ++c)
    for (std::size_t t = 0; t < a[c].size(); ++t) m = std::max(m, std::abs(torus::wrap(a[c][t] - b[c][t])));
  return m;
}
}  // namespace

int main() {
  if (cuda::device_count() == 0) {
    std::printf("no CUDA device: GPU tests skipped\n");
    return 77;
  }
  try {
    const model::torsion_score_network<float> net{model::torsion_network_config{}};
    auto p = net.initial_parameters(7);
    for (const auto& blk : net.layout().blocks())
      if (blk.name == "pair_mlp.2.weight") {
        const random::stream j(3, random::purpose::user);
        for (std::size_t k = 0; k < blk.size(); ++k) p[blk.offset + k] = 0.3f * float(j.normal(std::uint32_t(k)));
      }
    const auto g = test_support::butanol_graph();
    std::vector<torsion_structure> structs;
    for (std::uint32_t key : {4u, 9u, 13u}) {
      std::mt19937_64 rng(key);
      structs.push_back(torsion_space::describe(g, test_support::random_points(g.num_atoms(), rng, 1.6)));
    }
    std::vector<const torsion_structure*> samples;
    for (int c = 0; c < 6; ++c) samples.push_back(&structs[c % 3]);

    // 1. Forward at one sigma per sample.
    model::torsion_batch b;
    std::vector<float> theta, sigma;
    std::vector<float> sample_sigma;
    for (std::size_t c = 0; c < samples.size(); ++c) {
      b.add(*samples[c]);
      sample_sigma.push_back(float(0.05 * std::pow(2.0, double(c))));
      for (std::size_t t = 0; t < samples[c]->torsions.size(); ++t) {
        theta.push_back(float(-3.0 + 0.37 * double(theta.size())));
        sigma.push_back(sample_sigma.back());
      }
    }
    model::torsion_score_network<float>::cache cache;
    std::vector<float> cpu;
    net.forward(p, b, theta, sigma, cache, cpu);
    cuda::torsion_network_gpu gnet(net, p);
    cuda::device_torsion_batch db(samples);
    cuda::device_buffer<double> dth(std::vector<double>(theta.begin(), theta.end()));
    cuda::device_buffer<float> out(cpu.size());
    gnet.forward(db, dth.data(), sample_sigma, out.data());
    const auto gpu = out.download();
    double err = 0, big = 0;
    for (std::size_t k = 0; k < cpu.size(); ++k) {
      err = std::max(err, double(std::abs(cpu[k] - gpu[k])));
      big = std::max(big, double(std::abs(cpu[k])));
    }
    expect(big > 0 && err / big <= 1e-5, "forward: max |cpu - gpu| / max |cpu|", err / big, 1e-5);

    // 2. One reverse-SDE step from given dihedrals at the last level.
    const log_uniform_schedule sch;
    sample::torus_sampler_options o;
    o.seed = 11;
    o.first_level = sch.size() - 1;
    std::vector<std::vector<double>> start;
    for (std::size_t c = 0; c < samples.size(); ++c) start.push_back({0.1 * c, -1.0, 2.0, 3.0 - 0.2 * c});
    const sample::network_torsion_score<model::torsion_score_network<float>> score(net, p);
    const auto rc = sample::sample_torsions<float>(score, sch, samples, o, nullptr, &start);
    const auto rg = cuda::sample_torsions_gpu(gnet, sch, samples, o, &start);
    expect(max_wrapped_diff(rc.torsions, rg.torsions) <= 1e-5, "one SDE step: max |dtheta| difference (rad)",
           max_wrapped_diff(rc.torsions, rg.torsions), 1e-5);

    // 3. Whole runs from the uniform prior, same seed, with the shipped trained model (on the CPU, moving one start
    //    angle by 1e-6 rad moves the result by ~1e-5 rad at most).
    const auto trained =
        train::load_model_file<model::torsion_score_network<float>>(gpu_test::shipped_model("qm9-torsion-ip.bin"));
    const sample::network_torsion_score<model::torsion_score_network<float>> tscore(trained.network, trained.parameters);
    cuda::torsion_network_gpu tnet(trained.network, trained.parameters);
    for (const auto method : {sample::torus_method::reverse_sde, sample::torus_method::probability_flow_ode,
                              sample::torus_method::annealed_langevin}) {
      sample::torus_sampler_options f;
      f.method = method;
      f.seed = 42;
      f.steps_per_level = 3;
      const auto fc = sample::sample_torsions<float>(tscore, sch, samples, f);
      const auto fg = cuda::sample_torsions_gpu(tnet, sch, samples, f);
      const auto what = "whole run (" + sample::to_string(method) + "): max |dtheta| (rad)";
      expect(fc.diverged == 0 && fg.diverged == 0, "whole run: no sample diverged (cpu + gpu)",
             double(fc.diverged + fg.diverged), 0);
      expect(max_wrapped_diff(fc.torsions, fg.torsions) <= 1e-3, what.c_str(), max_wrapped_diff(fc.torsions, fg.torsions),
             1e-3);
    }

    // 3a. sigma-shift (window 4, as the Drugs models recommend): the network levels follow the pooled noise
    //     estimate as on the CPU (samples c and c + 3 share a structure, so they pool).
    {
      sample::torus_sampler_options f;
      f.seed = 42;
      f.shift = {4, 0.0};
      const auto fc = sample::sample_torsions<float>(tscore, sch, samples, f);
      const auto fg = cuda::sample_torsions_gpu(tnet, sch, samples, f);
      expect(fc.shifted_evaluations > 0, "sigma-shift: the CPU run shifts some evaluations", fc.shifted_evaluations, 1);
      expect(std::abs(fc.shifted_evaluations - fg.shifted_evaluations) <= 0.05 * fc.shifted_evaluations,
             "sigma-shift: shifted evaluations, |cpu - gpu|", std::abs(fc.shifted_evaluations - fg.shifted_evaluations),
             0.05 * fc.shifted_evaluations);
      expect(max_wrapped_diff(fc.torsions, fg.torsions) <= 1e-3, "sigma-shift whole run: max |dtheta| (rad)",
             max_wrapped_diff(fc.torsions, fg.torsions), 1e-3);
    }

    // 3b. Two molecules in one launch (generate --backend cuda): per-sample start states and noise keys make each
    //     molecule's share equal its own CPU run with its stream offset, with and without sigma-shift (pooled
    //     per molecule as on the CPU).
    for (const std::size_t window : {std::size_t{0}, std::size_t{4}}) {
      const std::vector<std::vector<const torsion_structure*>> molecules = {{&structs[0], &structs[0]},
                                                                             {&structs[1], &structs[2], &structs[1]}};
      const std::uint32_t offsets[] = {0, 1u << 16};
      sample::torus_sampler_options f;
      f.seed = 42;
      f.shift = {window, 0.0};
      std::vector<const torsion_structure*> all;
      std::vector<std::vector<double>> start_all;
      std::vector<std::uint32_t> keys;
      for (std::size_t m = 0; m < molecules.size(); ++m) {
        auto st = sample::initial_torsions(molecules[m], nullptr, f.seed, offsets[m], "test");
        for (std::size_t c = 0; c < molecules[m].size(); ++c) {
          all.push_back(molecules[m][c]);
          start_all.push_back(st[c]);
          keys.push_back(offsets[m] + static_cast<std::uint32_t>(c));
        }
      }
      const auto fg = cuda::sample_torsions_gpu(tnet, sch, all, f, &start_all, &keys);
      double err = 0;
      std::size_t first = 0, diverged = fg.diverged;
      for (std::size_t m = 0; m < molecules.size(); ++m) {
        auto om = f;
        om.stream_offset = offsets[m];
        const auto fc = sample::sample_torsions<float>(tscore, sch, molecules[m], om);
        diverged += fc.diverged;
        const std::vector<std::vector<double>> mine(fg.torsions.begin() + std::ptrdiff_t(first),
                                                    fg.torsions.begin() + std::ptrdiff_t(first + molecules[m].size()));
        err = std::max(err, max_wrapped_diff(fc.torsions, mine));
        first += molecules[m].size();
      }
      const std::string what = "two molecules in one launch, sigma-shift window " + std::to_string(window);
      expect(diverged == 0, (what + ": none diverged (cpu + gpu)").c_str(), double(diverged), 0);
      expect(err <= 1e-3, (what + ": max |dtheta| (rad)").c_str(), err, 1e-3);
    }

    // 4. The exposure-bias estimator, unchanged, with the device model (cuda::torsion_model_gpu) as its model.
    {
      std::vector<eval::torsion_sample> truth;
      for (std::size_t c = 0; c < structs.size(); ++c) truth.push_back({&structs[c], {0.4, -1.2, 2.5, -2.9 + 0.3 * c}});
      eval::bias_options bo;
      bo.samples_per_level = 2;
      bo.seed = 5;
      const eval::torsion_bias_problem<decltype(tscore), log_uniform_schedule> pc(tscore, sch);
      const cuda::torsion_model_gpu device_model(trained.network, trained.parameters);
      const eval::torsion_bias_problem<cuda::torsion_model_gpu, log_uniform_schedule> pg(device_model, sch);
      gpu_test::compare_bias(eval::estimate_exposure_bias(pc, truth, bo), eval::estimate_exposure_bias(pg, truth, bo),
                             1e-3);
    }

    // 5. Training on the GPU: batch gradients and three Adam steps against the CPU.
    train::training_set<torsion_space> data;
    for (std::size_t m = 0; m < 6; ++m) {
      data.ids.push_back("m" + std::to_string(m));
      data.structures.push_back(structs[m % 3]);
      data.clean.push_back({{1.0, -2.5, 3.0, 0.0}, {0.5 - 0.1 * double(m), 2.0, -1.0, 0.7}});
    }
    const train::trainer_options to{.batch_molecules = 6, .micro_batch = 3, .epochs = 3, .threads = 1};
    const model::torsion_network_config small{.hidden = 16, .layers = 2};
    train::dsm_trainer<model::torsion_score_network<float>, log_uniform_schedule, input_perturbation> tc(
        model::torsion_score_network<float>(small), log_uniform_schedule(), input_perturbation(0.1), to);
    train::dsm_trainer<cuda::torsion_network_trainable, log_uniform_schedule, input_perturbation> tg(
        cuda::torsion_network_trainable(small), log_uniform_schedule(), input_perturbation(0.1), to);
    gpu_test::set_output_layer(tc, tg, "pair_mlp.2.weight");
    gpu_test::compare_training(tc, tg, data, {0, 1, 2, 3, 4, 5});
    gpu_test::check_resident_training<cuda::torsion_network_trainable, log_uniform_schedule>(to, small, data,
                                      "pair_mlp.2.weight");
  } catch (const std::exception& e) {
    std::printf("FAIL exception: %s\n", e.what());
    return 1;
  }
  return gpu_test::failures ? 1 : 0;
}
