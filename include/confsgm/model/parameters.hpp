// confsgm/model/parameters.hpp: every trainable number of a model in one flat
// buffer, with named row-major blocks. One buffer makes the optimiser, the
// gradient reduction across threads and the checkpoint file each one loop.
#pragma once

#include "confsgm/error.hpp"
#include "confsgm/random/philox.hpp"

#include <Eigen/Core>
#include <Eigen/StdVector>

#include <cmath>
#include <string>
#include <vector>

namespace confsgm::model {

struct parameter_block {
  std::string name;
  std::size_t offset = 0, rows = 0, cols = 0;
  std::size_t size() const noexcept { return rows * cols; }
};

/// Flat parameter storage, aligned to Eigen's largest packet (64 bytes with
/// AVX-512). Alignment matters for reproducibility, not only speed: Eigen
/// peels unaligned heads off vectorised loops, so a malloc address that
/// differs between runs or threads would change summation order.
template <class Scalar>
using parameter_vector = std::vector<Scalar, Eigen::aligned_allocator<Scalar>>;

template <class Scalar>
using row_matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class Scalar>
using matrix_view = Eigen::Map<row_matrix<Scalar>>;
template <class Scalar>
using const_matrix_view = Eigen::Map<const row_matrix<Scalar>>;

/// The layout: names and shapes, no values (shared by parameters and gradients).
class parameter_layout {
 public:
  /// Adds a rows x cols block and returns its index.
  std::size_t add(std::string name, std::size_t rows, std::size_t cols) {
    total_ = (total_ + 15) / 16 * 16;  // every block starts on a 64-byte boundary (16 floats)
    blocks_.push_back({std::move(name), total_, rows, cols});
    total_ += rows * cols;
    return blocks_.size() - 1;
  }
  const parameter_block& block(std::size_t i) const { return blocks_.at(i); }
  const std::vector<parameter_block>& blocks() const noexcept { return blocks_; }
  std::size_t size() const noexcept { return total_; }

 private:
  std::vector<parameter_block> blocks_;
  std::size_t total_ = 0;
};

/// Views of block @p b inside a flat buffer.
template <class Scalar>
matrix_view<Scalar> view(parameter_vector<Scalar>& flat, const parameter_block& b) {
  return {flat.data() + b.offset, static_cast<Eigen::Index>(b.rows), static_cast<Eigen::Index>(b.cols)};
}
template <class Scalar>
const_matrix_view<Scalar> view(const parameter_vector<Scalar>& flat, const parameter_block& b) {
  return {flat.data() + b.offset, static_cast<Eigen::Index>(b.rows), static_cast<Eigen::Index>(b.cols)};
}

/// Xavier-uniform init for a weight block (fan_in = cols, fan_out = rows), as
/// ConfGF's MLPs; drawn from the counter-based generator, so the same seed
/// gives the same network on any machine and thread count.
template <class Scalar>
void xavier_uniform(parameter_vector<Scalar>& flat, const parameter_block& b, std::uint64_t seed, std::uint32_t block_id) {
  const double limit = std::sqrt(6.0 / static_cast<double>(b.rows + b.cols));
  const random::stream s(seed, random::purpose::weights, block_id);
  for (std::size_t k = 0; k < b.size(); ++k)
    flat[b.offset + k] = static_cast<Scalar>((2.0 * s.uniform(static_cast<std::uint32_t>(k)) - 1.0) * limit);
}

/// Normal(0, std) init (embeddings).
template <class Scalar>
void normal_init(parameter_vector<Scalar>& flat, const parameter_block& b, double stddev, std::uint64_t seed,
                 std::uint32_t block_id) {
  const random::stream s(seed, random::purpose::weights, block_id);
  for (std::size_t k = 0; k < b.size(); ++k)
    flat[b.offset + k] = static_cast<Scalar>(stddev * s.normal(static_cast<std::uint32_t>(k)));
}

}  // namespace confsgm::model
