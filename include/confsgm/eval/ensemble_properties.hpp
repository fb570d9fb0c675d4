// confsgm/eval/ensemble_properties.hpp: ensemble property prediction (the
// paper's Table V; GeoDiff/ConfGF `eval_prop`): per molecule, from the
// conformers' energies E and HOMO-LUMO gaps, the mean energy, lowest energy,
// mean gap, smallest and largest gap; then the mean absolute error over
// molecules between generated and reference ensembles, in eV.
//
// The references' `get_ensemble_energy` takes plain means over up to 50
// conformers drawn with a seed; that is the default here. Boltzmann-weighted
// means (GEOM's ensemble averages) are an option.
#pragma once

#include "confsgm/data/ensemble_filter.hpp"
#include "confsgm/error.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

namespace confsgm {

enum class ensemble_average { mean, boltzmann };

struct ensemble_property_summary {
  double mean_energy = 0, min_energy = 0;       ///< eV
  double mean_gap = 0, min_gap = 0, max_gap = 0;  ///< eV
  std::size_t conformers = 0;
};

/// Summary of one ensemble from per-conformer energies and gaps (both eV).
inline ensemble_property_summary summarize_properties(const std::vector<double>& energy_ev,
                                                      const std::vector<double>& gap_ev,
                                                      ensemble_average avg = ensemble_average::mean,
                                                      double temperature_k = 298.15) {
  if (energy_ev.size() != gap_ev.size())
    throw shape_mismatch("summarize_properties(): " + std::to_string(energy_ev.size()) + " energies but " +
                         std::to_string(gap_ev.size()) + " gaps");
  if (energy_ev.empty()) throw invalid_argument("summarize_properties(): no conformers");
  ensemble_property_summary s;
  s.conformers = energy_ev.size();
  std::vector<double> w(energy_ev.size(), 1.0 / static_cast<double>(energy_ev.size()));
  if (avg == ensemble_average::boltzmann) {
    std::vector<double> kcal(energy_ev.size());
    for (std::size_t i = 0; i < kcal.size(); ++i) kcal[i] = energy_ev[i] * (data::kcal_per_hartree / 27.211386245988);
    w = data::boltzmann_weights(kcal, temperature_k);
  }
  for (std::size_t i = 0; i < w.size(); ++i) {
    s.mean_energy += w[i] * energy_ev[i];
    s.mean_gap += w[i] * gap_ev[i];
  }
  s.min_energy = *std::min_element(energy_ev.begin(), energy_ev.end());
  s.min_gap = *std::min_element(gap_ev.begin(), gap_ev.end());
  s.max_gap = *std::max_element(gap_ev.begin(), gap_ev.end());
  return s;
}

/// Mean absolute errors over molecules (Table V columns), eV.
struct property_errors {
  double energy = 0, min_energy = 0, gap = 0, min_gap = 0, max_gap = 0;
  std::size_t molecules = 0;
};

inline property_errors property_mae(const std::vector<ensemble_property_summary>& ref,
                                    const std::vector<ensemble_property_summary>& gen) {
  if (ref.size() != gen.size())
    throw shape_mismatch("property_mae(): " + std::to_string(ref.size()) + " reference and " +
                         std::to_string(gen.size()) + " generated summaries");
  property_errors e;
  e.molecules = ref.size();
  if (ref.empty()) return e;
  for (std::size_t m = 0; m < ref.size(); ++m) {
    e.energy += std::abs(gen[m].mean_energy - ref[m].mean_energy);
    e.min_energy += std::abs(gen[m].min_energy - ref[m].min_energy);
    e.gap += std::abs(gen[m].mean_gap - ref[m].mean_gap);
    e.min_gap += std::abs(gen[m].min_gap - ref[m].min_gap);
    e.max_gap += std::abs(gen[m].max_gap - ref[m].max_gap);
  }
  const double n = static_cast<double>(ref.size());
  e.energy /= n, e.min_energy /= n, e.gap /= n, e.min_gap /= n, e.max_gap /= n;
  return e;
}

}  // namespace confsgm
