// confsgm/io/npy.hpp: NumPy .npy files for conformer batches and matrices
// (target confsgm::io), so Python tools read our ensembles and RMSD matrices
// without a converter. Writes go through xtensor and are atomic (temporary
// file, then rename). Reads use a strict parser of our own (xtensor's trusts the
// header: an empty or malformed dictionary value, found by fuzzing, aborted it):
// dtype, rank, shape and size are checked before anything is allocated, and
// every failure names the file.
#pragma once

#include "confsgm/config.hpp"
#if !CONFSGM_HAS_IO
#error "confsgm/io/npy.hpp needs the confsgm::io target (CMake option CONFSGM_ENABLE_IO, package libxtensor-dev)"
#endif

#include <xtensor/xadapt.hpp>
#include <xtensor/xnpy.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "confsgm/core/conformer.hpp"
#include "confsgm/error.hpp"
#include "confsgm/util/parse.hpp"

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

/// The value of @p key in a .npy header dictionary ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"):
/// the text after "'key':" up to the next ',' at depth 0 or the closing '}', trimmed; empty when absent.
inline std::optional<std::string> header_value(const std::string& header, const std::string& key) {
  const auto k = header.find("'" + key + "'");
  if (k == std::string::npos) return std::nullopt;
  auto i = header.find_first_not_of(' ', k + key.size() + 2);
  if (i == std::string::npos || header[i] != ':') return std::nullopt;
  ++i;
  int depth = 0;
  std::size_t end = i;
  for (; end < header.size(); ++end) {
    const char c = header[end];
    if (c == '(') ++depth;
    else if (c == ')') --depth;
    else if ((c == ',' && depth == 0) || c == '}') break;
    if (depth < 0) return std::nullopt;
  }
  if (end == header.size() || depth != 0) return std::nullopt;
  const auto b = header.find_first_not_of(' ', i), e = header.find_last_not_of(' ', end - 1);
  if (b == std::string::npos || b >= end) return std::nullopt;
  return header.substr(b, e - b + 1);
}

/// "(2, 3)", "(5,)" or "()" as dimensions; empty when it is not a tuple of whole numbers.
inline std::optional<std::vector<std::size_t>> parse_shape(const std::string& tuple) {
  if (tuple.size() < 2 || tuple.front() != '(' || tuple.back() != ')') return std::nullopt;
  std::vector<std::size_t> shape;
  std::string item;
  for (std::size_t i = 1; i < tuple.size(); ++i) {
    const char c = tuple[i];
    if (c != ',' && c != ')') {
      item += c;
      continue;
    }
    const auto b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b != std::string::npos) {
      const auto d = parse_whole_number<std::size_t>(std::string_view(item).substr(b, e - b + 1));
      if (!d) return std::nullopt;
      shape.push_back(*d);
    } else if (c == ',') {
      return std::nullopt;  // "(,)" or "(2,,3)"; "(5,)" and "()" are tuples
    }
    if (c == ')' && i + 1 != tuple.size()) return std::nullopt;  // "(2)3)"
    item.clear();
  }
  return shape;
}

/// An array read from a .npy file: its dimensions and its elements in C (row-major) order.
template <class T>
struct npy_array {
  std::vector<std::size_t> shape;
  std::vector<T> data;
};

/// The .npy file in @p bytes (@p name: the file named in errors) as an array of rank @p rank of little-endian
/// float32 or float64 (T), C or Fortran order. Everything is checked before anything is allocated: the magic,
/// the version, the header's length and dictionary, the element type, the shape, and that the data fill the
/// rest of the file exactly (a truncated file or trailing bytes are errors).
template <class T>
npy_array<T> parse_checked(const std::string& bytes, const std::string& name, std::size_t rank) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, ".npy reading: float32 or float64");
  const auto fail = [&](const std::string& why) -> void { throw io_error(name, std::nullopt, std::nullopt, why); };
  const auto* pre = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) fail("not a .npy file (no \\x93NUMPY magic)");
  const unsigned major = pre[6];
  if (major < 1 || major > 3) fail("unsupported .npy format version " + std::to_string(major));
  if (major > 1 && bytes.size() < 12) fail("truncated .npy header");
  const std::size_t header_end =
      major == 1 ? 10 + (pre[8] | (pre[9] << 8))
                 : 12 + (pre[8] | (pre[9] << 8) | (pre[10] << 16) | (static_cast<std::size_t>(pre[11]) << 24));
  if (header_end > bytes.size()) fail("truncated .npy header");
  const std::string header = bytes.substr(major == 1 ? 10 : 12, header_end - (major == 1 ? 10 : 12));
  const auto descr = header_value(header, "descr"), order = header_value(header, "fortran_order"),
             shape_text = header_value(header, "shape");
  if (!descr || !order || !shape_text) fail("the .npy header lacks 'descr', 'fortran_order' or 'shape'");
  const std::string wanted = sizeof(T) == 8 ? "'<f8'" : "'<f4'";
  if (*descr != wanted)
    fail("the array holds " + *descr + ", not " + (sizeof(T) == 8 ? "float64" : "float32") + " (" + wanted + ")");
  if (*order != "False" && *order != "True") fail("the .npy header's 'fortran_order' is " + *order);
  const auto shape = parse_shape(*shape_text);
  if (!shape) fail("the .npy header's 'shape' is " + *shape_text + ", not a tuple of whole numbers");
  if (shape->size() != rank)
    fail("expected a " + std::to_string(rank) + "-d array, found " + std::to_string(shape->size()) + "-d");
  // A zero-size array may still claim a huge dimension ((0, 10^13)); code that walks a dimension would hang.
  for (const auto d : *shape)
    if (d > std::numeric_limits<std::uint32_t>::max())
      fail("the .npy header's 'shape' " + *shape_text + " has a dimension beyond 2^32 - 1");
  const std::size_t payload = bytes.size() - header_end;
  std::size_t elements = 1;
  for (const auto d : *shape) {
    if (d != 0 && elements > payload / d) {  // more elements than bytes (and no overflow below)
      elements = payload + 1;
      break;
    }
    elements *= d;
  }
  if (elements > payload / sizeof(T) || elements * sizeof(T) != payload)
    fail("file is truncated or has trailing bytes (" + std::to_string(bytes.size()) + " bytes: header " +
         std::to_string(header_end) + ", data " + std::to_string(payload) + ", while the shape needs " +
         (elements > payload ? std::string("more") : std::to_string(elements * sizeof(T))) + ")");
  npy_array<T> a{*shape, std::vector<T>(elements)};
  if (elements) std::memcpy(a.data.data(), bytes.data() + header_end, payload);  // little-endian, as on x86/ARM
  if (*order == "True" && rank > 1) {  // column-major on disk: element (i0, i1, ...) at i0 + d0 * (i1 + d1 * ...)
    std::vector<T> c_order(elements);
    std::vector<std::size_t> index(rank, 0);
    for (std::size_t flat = 0; flat < elements; ++flat) {
      std::size_t f = 0;
      for (std::size_t k = rank; k-- > 0;) f = f * (*shape)[k] + index[k];
      c_order[flat] = a.data[f];
      for (std::size_t k = rank; k-- > 0;) {  // next C-order index
        if (++index[k] < (*shape)[k]) break;
        index[k] = 0;
      }
    }
    a.data = std::move(c_order);
  }
  return a;
}

template <class T>
npy_array<T> load_checked(const std::string& path, std::size_t rank) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw io_error(path, std::nullopt, std::nullopt, std::filesystem::exists(path) ? "cannot read the file" : "no such file");
  const std::string bytes((std::istreambuf_iterator<char>(f)), {});
  return parse_checked<T>(bytes, path, rank);
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

namespace detail {
template <class Scalar>
conformer_batch<Scalar> as_conformers(const npy_array<Scalar>& a, const std::string& name, std::size_t expected_atoms) {
  if (a.shape[2] != 3 || (expected_atoms && a.shape[1] != expected_atoms))
    throw io_error(name, std::nullopt, std::nullopt,
                   "array shape (" + std::to_string(a.shape[0]) + ", " + std::to_string(a.shape[1]) + ", " +
                       std::to_string(a.shape[2]) + ") is not (conformers, " +
                       (expected_atoms ? std::to_string(expected_atoms) : std::string("atoms")) + ", 3)");
  conformer_batch<Scalar> out(a.shape[1], a.shape[0]);
  std::copy(a.data.begin(), a.data.end(), out.data());
  return out;
}
inline Eigen::MatrixXd as_matrix(const npy_array<double>& a) {
  using row_major = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto rows = static_cast<Eigen::Index>(a.shape[0]), cols = static_cast<Eigen::Index>(a.shape[1]);
  if (a.data.empty()) return Eigen::MatrixXd(rows, cols);  // no copy loop over an empty dimension
  return Eigen::Map<const row_major>(a.data.data(), rows, cols);
}
}  // namespace detail

/// Reads conformers written by write_npy; @p expected_atoms (if nonzero) must match.
template <class Scalar>
conformer_batch<Scalar> read_conformers_npy(const std::string& path, std::size_t expected_atoms = 0) {
  return detail::as_conformers(detail::load_checked<Scalar>(path, 3), path, expected_atoms);
}
/// The conformers in @p bytes, a .npy file's content (@p name: the file named in errors).
template <class Scalar>
conformer_batch<Scalar> parse_conformers_npy(const std::string& bytes, const std::string& name,
                                             std::size_t expected_atoms = 0) {
  return detail::as_conformers(detail::parse_checked<Scalar>(bytes, name, 3), name, expected_atoms);
}

/// Reads a 2-d float64 array into an Eigen matrix.
inline Eigen::MatrixXd read_matrix_npy(const std::string& path) {
  return detail::as_matrix(detail::load_checked<double>(path, 2));
}
/// The 2-d float64 array in @p bytes, a .npy file's content (@p name: the file named in errors).
inline Eigen::MatrixXd parse_matrix_npy(const std::string& bytes, const std::string& name) {
  return detail::as_matrix(detail::parse_checked<double>(bytes, name, 2));
}

}  // namespace confsgm::io
