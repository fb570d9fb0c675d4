// Shared pieces of the GPU test programs (plain mains: exit 77 = skipped).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace gpu_test {

inline int failures = 0;

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

}  // namespace gpu_test
