// Shared pieces of the GPU test programs (plain mains: exit 77 = skipped).
#pragma once

#include <confsgm/perturbation/perturbation.hpp>
#include <confsgm/train/trainer.hpp>

#include "../unit/support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace gpu_test {

inline int failures = 0;

/// Path of the shipped model file @p name (models/ of the repository): from $CONFSGM_MODEL_DIR, else models/ under
/// the working directory (benchmarks/gpu/run.sh runs from the repository root), else the source tree's.
/// Whole sampler runs are compared with trained models: an untrained network with large random weights makes the
/// dynamics chaotic, so that a 1e-6 change of the start moves the CPU's own result by radians.
inline std::string shipped_model(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("CONFSGM_MODEL_DIR")) dirs.emplace_back(env);
  dirs.emplace_back("models");
#ifdef CONFSGM_SOURCE_DIR
  dirs.emplace_back(std::string(CONFSGM_SOURCE_DIR) + "/models");
#endif
  for (const auto& d : dirs)
    if (std::filesystem::exists(d + "/" + name)) return d + "/" + name;
  throw std::runtime_error("shipped model " + name + " not found in $CONFSGM_MODEL_DIR, ./models or the source tree");
}

inline void expect(bool ok, const char* what, double value, double limit) {
  std::printf("%s %-58s %.3e (limit %.1e)\n", ok ? "ok  " : "FAIL", what, value, limit);
  failures += !ok;
}

/// ||a - b|| / ||a|| over two equally long vectors.
template <class A, class B>
double relative_l2(const A& a, const B& b) {
  double num = 0, den = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const double d = double(a[k]) - double(b[k]);
    num += d * d;
    den += double(a[k]) * double(a[k]);
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

/// Gives both trainers the same non-zero output layer @p block. An untrained network's output layer is zero, which
/// would hide every error in the layers before it.
template <class CpuTrainer, class GpuTrainer>
void set_output_layer(CpuTrainer& tc, GpuTrainer& tg, const std::string& block) {
  for (auto* t : {&tc.parameters(), &tg.parameters()})
    for (const auto& blk : tc.network().layout().blocks())
      if (blk.name == block)
        for (std::size_t k = 0; k < blk.size(); ++k) (*t)[blk.offset + k] = 0.05f * float(k % 7) - 0.15f;
}

/// The exposure-bias estimator run twice, with the CPU model and with the device model: per-level means within
/// @p limit (relative), the same failures, NaN on the same levels.
template <class BiasResult>
void compare_bias(const BiasResult& cpu, const BiasResult& gpu, double limit) {
  double worst = 0;
  bool same_failures = cpu.levels.size() == gpu.levels.size();
  for (std::size_t t = 0; same_failures && t < cpu.levels.size(); ++t) {
    same_failures &= cpu.levels[t].failed == gpu.levels[t].failed;
    for (std::size_t m = 0; m < cpu.levels[t].mean.size(); ++m) {
      const double a = cpu.levels[t].mean[m], b = gpu.levels[t].mean[m];
      if (std::isnan(a) || std::isnan(b)) {
        same_failures &= std::isnan(a) && std::isnan(b);
        continue;
      }
      worst = std::max(worst, std::abs(a - b) / std::max(1e-3, std::abs(a)));
    }
  }
  expect(same_failures, "bias estimator: same diverged samples and empty levels", same_failures ? 0.0 : 1.0, 0);
  expect(worst <= limit, "bias estimator: per-level mean error, max relative difference", worst, limit);
}

/// The trainer check both spaces share: one batch's loss and gradient, then the weights after fit().
template <class CpuTrainer, class GpuTrainer, class Data>
void compare_training(CpuTrainer& tc, GpuTrainer& tg, const Data& data, const std::vector<std::size_t>& mols) {
  typename std::decay_t<decltype(tc.parameters())> gc, gg;
  const double lc = tc.batch_gradient(data, mols, 0, gc), lg = tg.batch_gradient(data, mols, 0, gg);
  expect(std::abs(lc - lg) <= 1e-5 * std::abs(lc), "training: batch loss relative difference",
         std::abs(lc - lg) / std::abs(lc), 1e-5);
  expect(relative_l2(gc, gg) <= 1e-4, "training: gradient relative L2 difference", relative_l2(gc, gg), 1e-4);
  tc.fit(data);
  tg.fit(data);
  // Adam normalises each step: a parameter whose gradient is ~0 can step by ~lr on one side only, so the
  // weights agree less tightly than the gradients.
  const double w = relative_l2(tc.parameters(), tg.parameters());
  expect(w <= 1e-3, "training: weights after 3 Adam steps, relative L2", w, 1e-3);
}

/// The trainer's state on the device (train::adam_state<float, cuda_device>): runs are deterministic bit for bit
/// with one or two host threads sharing the card, and a run cut at an epoch's end and resumed from its checkpoint
/// ends with the uninterrupted run's weights and moments, and two ranks sharing each batch (data_parallel over
/// threads, both on this device: their micro-batch gradients travel through the host) end with the one-process
/// weights. Trainers of @p Network (built from @p config) with
/// @p Schedule and IP, options @p base; the output layer @p block is set (see set_output_layer) so that every layer
/// trains.
template <class Network, class Schedule, class Config, class Data>
void check_resident_training(const confsgm::train::trainer_options& base, const Config& config, const Data& data,
                             const std::string& block) {
  const auto make = [&](unsigned threads, std::size_t epochs, const std::string& checkpoint,
                        confsgm::train::data_parallel sharing = {}) {
    auto o = base;
    o.threads = threads;
    o.epochs = epochs;
    o.checkpoint_path = checkpoint;
    o.sharing = std::move(sharing);
    return confsgm::train::dsm_trainer<Network, Schedule, confsgm::input_perturbation>(
        Network(config), Schedule(), confsgm::input_perturbation(0.1), o);
  };
  const std::string dir = std::filesystem::temp_directory_path().string();
  const auto prepare = [&](auto& t) {
    for (const auto& blk : t.network().layout().blocks())
      if (blk.name == block)
        for (std::size_t k = 0; k < blk.size(); ++k) t.parameters()[blk.offset + k] = 0.05f * float(k % 7) - 0.15f;
  };
  auto one = make(1, 3, std::string());
  prepare(one);
  one.fit(data);
  auto two = make(2, 3, std::string());
  prepare(two);
  two.fit(data);
  const bool same_threads = one.parameters() == two.parameters();
  expect(same_threads, "resident training: 1 and 2 host threads, weights bit for bit", same_threads ? 0.0 : 1.0, 0);
  const std::string ckpt = dir + "/confsgm_resident_" + block + ".ckpt";  // one per test program: ctest -j
  {
    auto cut = make(1, 1, ckpt);
    prepare(cut);
    cut.fit(data);  // one epoch, checkpoint written at its end
  }
  auto resumed = make(1, 3, ckpt);
  resumed.resume(ckpt);
  resumed.fit(data);
  const bool same_resume = resumed.parameters() == one.parameters();
  expect(same_resume, "resident training: resumed after epoch 1 = uninterrupted, weights", same_resume ? 0.0 : 1.0, 0);
  std::decay_t<decltype(one.parameters())> m1, v1, m2, v2;
  one.state().moments(m1, v1);
  resumed.state().moments(m2, v2);
  const bool same_moments = m1 == m2 && v1 == v2;
  expect(same_moments, "resident training: resumed = uninterrupted, Adam moments", same_moments ? 0.0 : 1.0, 0);
  expect(one.step() == resumed.step(), "resident training: resumed = uninterrupted, step count",
         double(one.step()) - double(resumed.step()), 0);
  std::filesystem::remove(ckpt);
  test_support::thread_group::shared shared(2);
  std::vector<std::decay_t<decltype(one.parameters())>> weights(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.emplace_back([&, r] {
      try {
        const test_support::thread_group group{&shared, r, 2};
        auto t = make(1, 3, std::string(), confsgm::train::data_parallel::over(group));
        prepare(t);
        t.fit(data);
        weights[std::size_t(r)] = t.parameters();
      } catch (const std::exception& e) {
        errors[std::size_t(r)] = e.what();
      }
    });
  for (auto& t : ranks) t.join();
  for (int r = 0; r < 2; ++r) {
    if (!errors[std::size_t(r)].empty()) std::printf("rank %d: %s\n", r, errors[std::size_t(r)].c_str());
    const bool same = errors[std::size_t(r)].empty() && weights[std::size_t(r)] == one.parameters();
    expect(same, r == 0 ? "resident training: 2 ranks, rank 0 = one process, weights bit for bit"
                        : "resident training: 2 ranks, rank 1 = one process, weights bit for bit",
           same ? 0.0 : 1.0, 0);
  }
}

}  // namespace gpu_test
