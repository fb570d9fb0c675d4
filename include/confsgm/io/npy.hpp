// confsgm/io/npy.hpp: NumPy .npy files for conformer batches and matrices
// (target confsgm::io, via xtensor), so Python tools read our ensembles and
// RMSD matrices without a converter. Writes are atomic (temporary file, then
// rename); reads check dtype, rank and shape and name the file on failure.
#pragma once

#include "confsgm/config.hpp"
#if !CONFSGM_HAS_IO
#error "confsgm/io/npy.hpp needs the confsgm::io target (CMake option CONFSGM_ENABLE_IO, package libxtensor-dev)"
#endif

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

#include <Eigen/Core>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "confsgm/core/conformer.hpp"
#include "confsgm/error.hpp"

namespace confsgm::io {

namespace detail {
template <class E>
void dump_atomically(const std::string& path, const E& expr) {
  const std::string tmp = path + ".partial";
  try {
    xt::dump_npy(tmp, expr);
  } catch (const std::exception& e) {
    throw io_error(path, std::nullopt, std::nullopt, std::string("could not write the .npy file: ") + e.what());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw io_error(path, std::nullopt, std::nullopt, "could not replace the file: " + ec.message());
}

template <class T>
xt::xarray<T> load_checked(const std::string& path, std::size_t rank) {
  if (!std::filesystem::exists(path)) throw io_error(path, std::nullopt, std::nullopt, "no such file");
  xt::xarray<T> a;
  try {
    a = xt::load_npy<T>(path);
  } catch (const std::exception& e) {
    throw io_error(path, std::nullopt, std::nullopt,
                   std::string("not a readable .npy file of ") + (sizeof(T) == 8 ? "float64" : "float32") + " (" +
                       e.what() + ")");
  }
  if (a.dimension() != rank)
    throw io_error(path, std::nullopt, std::nullopt,
                   "expected a " + std::to_string(rank) + "-d array, found " + std::to_string(a.dimension()) + "-d");
  // xtensor does not notice a truncated payload: the file must hold exactly
  // header + every element (header length from the .npy preamble).
  std::ifstream f(path, std::ios::binary);
  unsigned char pre[12] = {};
  f.read(reinterpret_cast<char*>(pre), sizeof pre);
  const bool v1 = pre[6] == 1;
  const std::size_t header = v1 ? 10 + (pre[8] | (pre[9] << 8))
                                : 12 + (pre[8] | (pre[9] << 8) | (pre[10] << 16) | (static_cast<std::size_t>(pre[11]) << 24));
  const auto expected = header + a.size() * sizeof(T);
  const auto actual = std::filesystem::file_size(path);
  if (actual != expected)
    throw io_error(path, std::nullopt, std::nullopt,
                   "file is truncated or has trailing bytes (" + std::to_string(actual) + " bytes, " +
                       std::to_string(expected) + " expected)");
  return a;
}
}  // namespace detail

/// Writes @p batch as an array of shape (conformers, atoms, 3).
template <class Scalar>
void write_npy(const std::string& path, const conformer_batch<Scalar>& batch) {
  const std::vector<std::size_t> shape = {batch.size(), batch.num_atoms(), 3};
  detail::dump_atomically(path, xt::adapt(batch.data(), batch.size() * batch.num_atoms() * 3, xt::no_ownership(), shape));
}

/// Writes @p m (e.g. an RMSD matrix) as a row-major 2-d array.
inline void write_npy(const std::string& path, const Eigen::MatrixXd& m) {
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rm = m;
  const std::vector<std::size_t> shape = {static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())};
  detail::dump_atomically(path, xt::adapt(rm.data(), static_cast<std::size_t>(rm.size()), xt::no_ownership(), shape));
}

/// Reads conformers written by write_npy; @p expected_atoms (if nonzero) must match.
template <class Scalar>
conformer_batch<Scalar> read_conformers_npy(const std::string& path, std::size_t expected_atoms = 0) {
  const auto a = detail::load_checked<Scalar>(path, 3);
  if (a.shape()[2] != 3 || (expected_atoms && a.shape()[1] != expected_atoms))
    throw io_error(path, std::nullopt, std::nullopt,
                   "array shape (" + std::to_string(a.shape()[0]) + ", " + std::to_string(a.shape()[1]) + ", " +
                       std::to_string(a.shape()[2]) + ") is not (conformers, " +
                       (expected_atoms ? std::to_string(expected_atoms) : std::string("atoms")) + ", 3)");
  conformer_batch<Scalar> out(a.shape()[1], a.shape()[0]);
  std::copy(a.begin(), a.end(), out.data());
  return out;
}

/// Reads a 2-d float64 array into an Eigen matrix.
inline Eigen::MatrixXd read_matrix_npy(const std::string& path) {
  const auto a = detail::load_checked<double>(path, 2);
  Eigen::MatrixXd m(static_cast<Eigen::Index>(a.shape()[0]), static_cast<Eigen::Index>(a.shape()[1]));
  for (std::size_t i = 0; i < a.shape()[0]; ++i)
    for (std::size_t j = 0; j < a.shape()[1]; ++j) m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = a(i, j);
  return m;
}

}  // namespace confsgm::io
