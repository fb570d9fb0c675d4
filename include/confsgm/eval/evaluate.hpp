// confsgm/eval/evaluate.hpp: the evaluation protocol of the paper's Tables
// II-IV, end to end on in-memory ensembles: match generated molecules to
// reference molecules by id, map atoms (the generated file may order them
// differently), build the symmetry-aware heavy-atom RMSD matrix and compute
// COV/MAT per molecule and over the set.
#pragma once

#include <Eigen/Core>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "confsgm/core/conformer.hpp"
#include "confsgm/eval/coverage.hpp"
#include "confsgm/eval/rmsd_matrix.hpp"
#include "confsgm/geometry/symmetric_rmsd.hpp"

namespace confsgm {

struct evaluation_options {
  coverage_options coverage;
  symmetric_rmsd_options rmsd;
  unsigned threads = 0;  ///< 0 = all cores; results do not depend on it
  bool keep_matrices = false;
};

struct molecule_evaluation {
  molecule_coverage coverage;
  std::size_t n_automorphisms = 0;
  bool automorphisms_truncated = false;
  /// Why the generated conformers could not be used (empty when they were).
  std::string problem;
  Eigen::MatrixXd rmsd;  ///< filled when evaluation_options::keep_matrices
};

struct evaluation_report {
  evaluation_options options;
  std::vector<molecule_evaluation> molecules;  ///< reference order
  coverage_summary summary;
  std::vector<std::string> generated_without_reference;  ///< ids present only in the generated set
};

/// One reference molecule against its generated conformers (@p generated: nullptr when there are none): the
/// symmetry-aware RMSD matrix and its coverage numbers. Molecules are independent: a caller may evaluate them in
/// any order, on any thread or process, and summarise them afterwards (summarize_evaluations).
template <class Scalar>
molecule_evaluation evaluate_molecule(const ensemble<Scalar>& ref, const ensemble<Scalar>* generated,
                                      const evaluation_options& opts) {
  molecule_evaluation m;
  const symmetric_rmsd metric(ref.graph, opts.rmsd);
  m.n_automorphisms = metric.num_automorphisms();
  m.automorphisms_truncated = metric.truncated();
  const auto ref_prepared = prepare_all(metric, ref.conformers);
  Eigen::MatrixXd r(static_cast<Eigen::Index>(ref.size()), 0);
  if (!generated) {
    m.problem = "no generated conformers";
  } else {
    const auto& gen = *generated;
    std::vector<prepared_conformer> gen_prepared;
    try {
      if (same_constitution(ref.graph, gen.graph)) {
        gen_prepared = prepare_all(metric, gen.conformers);
      } else {
        const auto map = metric.atom_map_from(gen.graph);
        gen_prepared = prepare_all(metric, gen.conformers, &map);
      }
      r = rmsd_matrix(metric, ref_prepared, gen_prepared, opts.threads);
    } catch (const chemistry_error& e) {
      m.problem = e.what();
    }
  }
  m.coverage = coverage_of(r, opts.coverage, ref.id);
  if (opts.keep_matrices) m.rmsd = std::move(r);
  return m;
}

/// The generated ensemble of each reference (nullptr where none has its id), and the ids of generated ensembles
/// without a reference.
template <class Scalar>
std::pair<std::vector<const ensemble<Scalar>*>, std::vector<std::string>> pair_by_id(
    const std::vector<ensemble<Scalar>>& references, const std::vector<ensemble<Scalar>>& generated) {
  std::map<std::string, const ensemble<Scalar>*> gen_by_id;
  for (const auto& g : generated) gen_by_id.emplace(g.id, &g);
  std::map<std::string, bool> ref_ids;
  for (const auto& r : references) ref_ids[r.id] = true;
  std::vector<std::string> unpaired;
  for (const auto& g : generated)
    if (!ref_ids.count(g.id)) unpaired.push_back(g.id);
  std::vector<const ensemble<Scalar>*> paired;
  for (const auto& r : references) {
    const auto it = gen_by_id.find(r.id);
    paired.push_back(it == gen_by_id.end() ? nullptr : it->second);
  }
  return {std::move(paired), std::move(unpaired)};
}

/// The COV/MAT summary of molecules evaluated one by one (reference order).
inline coverage_summary summarize_evaluations(const std::vector<molecule_evaluation>& molecules,
                                              const evaluation_options& opts) {
  std::vector<molecule_coverage> covs;
  for (const auto& m : molecules) covs.push_back(m.coverage);
  return summarize(covs, opts.coverage);
}

/// Evaluates @p generated against @p references. @p on_molecule (optional) is
/// called after each molecule with (index, count, result): the hook for
/// progress reporting.
template <class Scalar>
evaluation_report evaluate_ensembles(
    const std::vector<ensemble<Scalar>>& references, const std::vector<ensemble<Scalar>>& generated,
    const evaluation_options& opts,
    const std::function<void(std::size_t, std::size_t, const molecule_evaluation&)>& on_molecule = {}) {
  evaluation_report report;
  report.options = opts;
  auto [paired, unpaired] = pair_by_id(references, generated);
  report.generated_without_reference = std::move(unpaired);
  for (std::size_t index = 0; index < references.size(); ++index) {
    report.molecules.push_back(evaluate_molecule(references[index], paired[index], opts));
    if (on_molecule) on_molecule(index, references.size(), report.molecules.back());
  }
  report.summary = summarize_evaluations(report.molecules, opts);
  return report;
}

}  // namespace confsgm
