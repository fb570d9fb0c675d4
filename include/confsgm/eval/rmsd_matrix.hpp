// confsgm/eval/rmsd_matrix.hpp: the reference x generated matrix of
// symmetry-aware heavy-atom RMSDs, computed in parallel. Every entry is
// independent, so the result is the same for any thread count.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <vector>

#include "confsgm/core/conformer.hpp"
#include "confsgm/geometry/symmetric_rmsd.hpp"
#include "confsgm/util/parallel.hpp"

namespace confsgm {

/// R(i, j) = best RMSD between prepared reference i and generated j (NaN where
/// either conformer has non-finite coordinates).
inline Eigen::MatrixXd rmsd_matrix(const symmetric_rmsd& metric,
                                   const std::vector<prepared_conformer>& refs,
                                   const std::vector<prepared_conformer>& gens, unsigned threads = 0) {
  Eigen::MatrixXd r(static_cast<Eigen::Index>(refs.size()), static_cast<Eigen::Index>(gens.size()));
  parallel_for(refs.size(), threads, [&](std::size_t i) {
    for (std::size_t j = 0; j < gens.size(); ++j)
      r(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = metric(refs[i], gens[j]);
  });
  return r;
}

/// Prepares every conformer of @p batch (atom order of the metric's molecule,
/// or of another molecule when @p atom_map from symmetric_rmsd::atom_map_from is given).
template <class Scalar>
std::vector<prepared_conformer> prepare_all(const symmetric_rmsd& metric,
                                            const conformer_batch<Scalar>& batch,
                                            const std::vector<std::uint32_t>* atom_map = nullptr) {
  std::vector<prepared_conformer> out;
  out.reserve(batch.size());
  for (std::size_t c = 0; c < batch.size(); ++c)
    out.push_back(atom_map ? metric.prepare_mapped(batch[c], *atom_map) : metric.prepare(batch[c]));
  return out;
}

/// Convenience: the full matrix between two batches of the same molecule.
template <class Scalar>
Eigen::MatrixXd rmsd_matrix(const symmetric_rmsd& metric, const conformer_batch<Scalar>& refs,
                            const conformer_batch<Scalar>& gens, unsigned threads = 0) {
  return rmsd_matrix(metric, prepare_all(metric, refs), prepare_all(metric, gens), threads);
}

}  // namespace confsgm
