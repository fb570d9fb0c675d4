// confsgm/data/ensemble_filter.hpp: the post-processing steps of a GEOM/CREST
// style conformer ensemble, independent of where the energies come from:
// an energy window above the lowest conformer, duplicate removal by energy
// and RMSD, and Boltzmann weights.
//
// Defaults are CREST's (Pracht, Bohle, Grimme, PCCP 2020; `crest --help`):
// energy window 6 kcal/mol (--ewin), duplicates when both |dE| < 0.05 kcal/mol
// (--ethr) and RMSD < 0.125 Å (--rthr), T = 298.15 K. CREST compares all-atom
// RMSDs after its own symmetry handling; the caller supplies the RMSD (confsgm
// uses the symmetry-aware heavy-atom RMSD, so methyl rotamers merge).
#pragma once

#include "confsgm/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <string>
#include <vector>

namespace confsgm::data {

inline constexpr double kcal_per_hartree = 627.509474;         ///< CODATA 2018
inline constexpr double boltzmann_kcal_per_mol_k = 0.0019872043; ///< R in kcal/(mol K)

struct ensemble_filter_options {
  double energy_window_kcal = 6.0;    ///< keep E - E_min <= window
  double duplicate_energy_kcal = 0.05;
  double duplicate_rmsd = 0.125;      ///< Å
  double temperature_k = 298.15;
};

/// Indices sorted by energy (stable: ties keep input order).
inline std::vector<std::size_t> energy_order(const std::vector<double>& energy_kcal) {
  std::vector<std::size_t> idx(energy_kcal.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return energy_kcal[a] < energy_kcal[b]; });
  return idx;
}

struct ensemble_selection {
  std::vector<std::size_t> kept;            ///< indices into the input, lowest energy first
  std::vector<double> relative_kcal;        ///< E - E_min of each kept conformer
  std::vector<double> boltzmann_weight;     ///< sums to 1
  std::size_t outside_window = 0;
  std::size_t duplicates = 0;
};

/// Boltzmann weights of energies given relative to any origin (kcal/mol).
inline std::vector<double> boltzmann_weights(const std::vector<double>& energy_kcal, double temperature_k = 298.15) {
  if (!(temperature_k > 0)) throw invalid_argument("boltzmann_weights(): temperature must be > 0 K");
  if (energy_kcal.empty()) return {};
  const double emin = *std::min_element(energy_kcal.begin(), energy_kcal.end());
  const double kt = boltzmann_kcal_per_mol_k * temperature_k;
  std::vector<double> w(energy_kcal.size());
  double z = 0;
  for (std::size_t i = 0; i < w.size(); ++i) z += w[i] = std::exp(-(energy_kcal[i] - emin) / kt);
  for (auto& x : w) x /= z;
  return w;
}

/// Applies the energy window and removes duplicates. @p rmsd(i, j) gives the
/// RMSD between input conformers i and j; it is called only for pairs within
/// the duplicate energy threshold, so its cost stays small.
template <class RmsdFn>
ensemble_selection select_ensemble(const std::vector<double>& energy_kcal, RmsdFn&& rmsd,
                                   const ensemble_filter_options& opts = {}) {
  for (std::size_t i = 0; i < energy_kcal.size(); ++i)
    if (!std::isfinite(energy_kcal[i]))
      throw invalid_argument("select_ensemble(): energy of conformer " + std::to_string(i) + " is not finite");
  ensemble_selection s;
  if (energy_kcal.empty()) return s;
  const auto order = energy_order(energy_kcal);
  const double emin = energy_kcal[order.front()];
  for (const auto i : order) {
    const double rel = energy_kcal[i] - emin;
    if (rel > opts.energy_window_kcal) {
      ++s.outside_window;
      continue;
    }
    bool duplicate = false;
    // Kept conformers are sorted by energy: scan back while within the energy threshold.
    for (std::size_t k = s.kept.size(); k-- > 0;) {
      if (rel - s.relative_kcal[k] >= opts.duplicate_energy_kcal) break;
      if (rmsd(s.kept[k], i) < opts.duplicate_rmsd) {
        duplicate = true;
        break;
      }
    }
    if (duplicate) {
      ++s.duplicates;
      continue;
    }
    s.kept.push_back(i);
    s.relative_kcal.push_back(rel);
  }
  s.boltzmann_weight = boltzmann_weights(s.relative_kcal, opts.temperature_k);
  return s;
}

}  // namespace confsgm::data
