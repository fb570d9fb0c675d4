// confsgm/generate/model_choice.hpp: which of several trained models serves a
// molecule, by the size of the molecules each was trained on.
//
// A model file records its training domain (train::training_domain_header:
// `training_heavy_atoms_max`). The shipped QM9 models lose to ETKDG on
// drug-sized molecules (docs/results.md), so a run with a QM9 and a Drugs model
// gives each molecule the model trained on molecules like it.
#pragma once

#include "confsgm/error.hpp"
#include "confsgm/util/parse.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace confsgm::generate {

/// The largest molecule, in heavy atoms, a model was trained on (header entry `training_heavy_atoms_max`);
/// none for model files written before the entry existed. @p model_file names the file in errors.
inline std::optional<std::size_t> training_heavy_atoms_max(const std::map<std::string, std::string>& header,
                                                           const std::string& model_file) {
  const auto entry = header.find("training_heavy_atoms_max");
  if (entry == header.end()) return std::nullopt;
  const auto limit = parse_whole_number<std::size_t>(entry->second);
  if (!limit)
    throw io_error(model_file, std::nullopt, std::nullopt,
                   "entry 'training_heavy_atoms_max' is not a number ('" + entry->second + "')");
  return limit;
}

/// Which of the candidate models (their training domains; none = unknown, taken as unbounded) serves a molecule
/// of @p heavy_atoms: the smallest domain that holds it, a model trained on molecules like it; when none does,
/// the largest. Ties go to the earlier model.
inline std::size_t choose_model(const std::vector<std::optional<std::size_t>>& domains, std::size_t heavy_atoms) {
  if (domains.empty()) throw invalid_argument("generate::choose_model(): no model to choose from");
  const auto size_of = [](const std::optional<std::size_t>& d) { return d.value_or(SIZE_MAX); };
  std::size_t best = 0;
  for (std::size_t i = 1; i < domains.size(); ++i) {
    const bool holds_best = size_of(domains[best]) >= heavy_atoms, holds_i = size_of(domains[i]) >= heavy_atoms;
    if (holds_i != holds_best ? holds_i
                              : holds_i ? size_of(domains[i]) < size_of(domains[best])
                                        : size_of(domains[i]) > size_of(domains[best]))
      best = i;
  }
  return best;
}

/// Molecules a model serves that are larger than any it was trained on: it extrapolates there.
struct domain_excess {
  std::size_t larger = 0;           ///< how many of the molecules are outside the domain
  std::size_t served = 0;           ///< how many molecules the model serves
  std::size_t largest_index = 0;    ///< the largest of them (index into the caller's list)
  std::size_t largest_heavy_atoms = 0;
};

/// Counts the molecules (their heavy-atom counts @p heavy_atoms) above the training domain @p limit; none when
/// all fit or the domain is unknown.
inline std::optional<domain_excess> outside_training_domain(std::optional<std::size_t> limit,
                                                            const std::vector<std::size_t>& heavy_atoms) {
  if (!limit) return std::nullopt;
  domain_excess e;
  e.served = heavy_atoms.size();
  for (std::size_t i = 0; i < heavy_atoms.size(); ++i) {
    if (heavy_atoms[i] <= *limit) continue;
    ++e.larger;
    if (heavy_atoms[i] > e.largest_heavy_atoms) {
      e.largest_heavy_atoms = heavy_atoms[i];
      e.largest_index = i;
    }
  }
  if (e.larger == 0) return std::nullopt;
  return e;
}

}  // namespace confsgm::generate
