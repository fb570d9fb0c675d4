// Shared pieces of the GPU benchmark programs: molecules built without RDKit
// (the GPU machine has none) and the result table.
#pragma once

#include <confsgm/core/molecule.hpp>
#include <confsgm/train/trainer.hpp>

#include <cstdio>
#include <fstream>
#include <string>

namespace gpu_bench {

/// Straight-chain alkane C_n H_(2n+2) with explicit hydrogens.
inline confsgm::molecule_graph alkane(int n) {
  confsgm::molecule_graph g("C" + std::to_string(n) + "-alkane");
  for (int i = 0; i < n; ++i) g.add_atom({.atomic_number = 6});
  for (int i = 0; i + 1 < n; ++i) g.add_bond({.begin = std::uint32_t(i), .end = std::uint32_t(i + 1)});
  for (int i = 0; i < n; ++i)
    for (int h = 0; h < ((i == 0 || i == n - 1) ? 3 : 2); ++h) {
      g.add_atom({.atomic_number = 1});
      g.add_bond({.begin = std::uint32_t(i), .end = std::uint32_t(g.num_atoms() - 1)});
    }
  return g;
}

/// Seconds per step of @p t.fit(data) over one-step epochs (the trainer's batch = the whole set), the first step
/// left out as warm-up: whole steps as training runs them, Adam included.
template <class Trainer, class Data>
double fit_seconds_per_step(Trainer& t, const Data& data) {
  struct step_clock : confsgm::train::training_observer {
    double first = 0, last = 0;
    std::uint64_t steps = 0;
    void on_step(const confsgm::train::step_report& r) override {
      (r.step == 1 ? first : last) = r.seconds;
      steps = r.step;
    }
  } clock;
  t.fit(data, nullptr, &clock);
  return clock.steps > 1 ? (clock.last - clock.first) / double(clock.steps - 1) : 0.0;
}

/// One markdown row on stdout and one CSV row in the results file.
class table {
 public:
  explicit table(const std::string& csv_path) : csv_(csv_path) {
    csv_ << "benchmark,molecule,batch,us_per_molecule_step,value,unit\n";
    std::printf("| benchmark | molecule | batch | us/mol-step | value |\n|---|---|---|---|---|\n");
  }
  void row(const std::string& what, const std::string& mol, int batch, double us, double value, const std::string& unit) {
    std::printf("| %-34s | %-10s | %6d | %10.3f | %10.2f %s |\n", what.c_str(), mol.c_str(), batch, us, value,
                unit.c_str());
    csv_ << what << "," << mol << "," << batch << "," << us << "," << value << "," << unit << "\n";
  }

 private:
  std::ofstream csv_;
};

}  // namespace gpu_bench
