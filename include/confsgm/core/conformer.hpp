// confsgm/core/conformer.hpp: conformer storage. A conformer_batch holds many
// conformers of one molecule in one contiguous buffer (conformer-major,
// then atom, then x/y/z), so samplers can batch them and a device copy is a
// single transfer. Each conformer is viewed as an N x 3 row-major Eigen map.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "confsgm/core/molecule.hpp"
#include "confsgm/error.hpp"

namespace confsgm {

template <class Scalar>
using coordinates = Eigen::Matrix<Scalar, Eigen::Dynamic, 3, Eigen::RowMajor>;

template <std::floating_point Scalar>
class conformer_batch {
 public:
  using scalar_type = Scalar;
  using map_type = Eigen::Map<coordinates<Scalar>>;
  using const_map_type = Eigen::Map<const coordinates<Scalar>>;

  conformer_batch() = default;
  explicit conformer_batch(std::size_t n_atoms, std::size_t n_conformers = 0)
      : n_atoms_(n_atoms), data_(n_atoms * 3 * n_conformers, Scalar(0)) {}

  std::size_t num_atoms() const noexcept { return n_atoms_; }
  std::size_t size() const noexcept { return n_atoms_ == 0 ? 0 : data_.size() / (3 * n_atoms_); }
  bool empty() const noexcept { return data_.empty(); }

  map_type operator[](std::size_t c) { return map_type(data_.data() + c * 3 * n_atoms_, n_atoms_, 3); }
  const_map_type operator[](std::size_t c) const {
    return const_map_type(data_.data() + c * 3 * n_atoms_, n_atoms_, 3);
  }
  map_type at(std::size_t c) {
    check_index(c);
    return (*this)[c];
  }
  const_map_type at(std::size_t c) const {
    check_index(c);
    return (*this)[c];
  }

  /// Appends one conformer given as any N x 3 Eigen expression.
  template <class Derived>
  void push_back(const Eigen::MatrixBase<Derived>& xyz) {
    if (static_cast<std::size_t>(xyz.rows()) != n_atoms_ || xyz.cols() != 3)
      throw shape_mismatch("conformer_batch::push_back(): conformer is " + std::to_string(xyz.rows()) +
                           "x" + std::to_string(xyz.cols()) + " but the batch holds " +
                           std::to_string(n_atoms_) + "x3 conformers");
    const auto off = data_.size();
    data_.resize(off + 3 * n_atoms_);
    map_type(data_.data() + off, n_atoms_, 3) = xyz.template cast<Scalar>();
  }

  void resize(std::size_t n_conformers) { data_.resize(n_conformers * 3 * n_atoms_, Scalar(0)); }
  void reserve(std::size_t n_conformers) { data_.reserve(n_conformers * 3 * n_atoms_); }

  Scalar* data() noexcept { return data_.data(); }
  const Scalar* data() const noexcept { return data_.data(); }

  /// True when every coordinate of conformer @p c is finite.
  bool is_finite(std::size_t c) const { return (*this)[c].allFinite(); }

  template <std::floating_point To>
  conformer_batch<To> cast() const {
    conformer_batch<To> out(n_atoms_);
    out.reserve(size());
    for (std::size_t c = 0; c < size(); ++c) out.push_back((*this)[c]);
    return out;
  }

 private:
  void check_index(std::size_t c) const {
    if (c >= size())
      throw invalid_argument("conformer_batch::at(): conformer " + std::to_string(c) +
                             " requested but the batch holds " + std::to_string(size()));
  }
  std::size_t n_atoms_ = 0;
  std::vector<Scalar> data_;
};

/// Per-conformer metadata carried from input files to output files.
struct conformer_info {
  std::string title;
  /// SD properties in file order (names are unique).
  std::vector<std::pair<std::string, std::string>> properties;
  std::optional<double> energy;  ///< kcal/mol where known
  std::string status = "ok";     ///< "ok" or a short reason, e.g. "stereo mismatch: atom 3 R->S"
  std::size_t source_line = 0;   ///< 1-based first line in the source file (0 = generated)

  std::optional<std::string> property(std::string_view name) const {
    for (const auto& [k, v] : properties)
      if (k == name) return v;
    return std::nullopt;
  }
  void set_property(std::string name, std::string value) {
    for (auto& [k, v] : properties)
      if (k == name) {
        v = std::move(value);
        return;
      }
    properties.emplace_back(std::move(name), std::move(value));
  }
};

/// One molecule with many conformers: the unit read from and written to files.
template <std::floating_point Scalar = double>
struct ensemble {
  std::string id;
  molecule_graph graph;
  conformer_batch<Scalar> conformers;
  std::vector<conformer_info> info;

  ensemble() = default;
  ensemble(std::string id_, molecule_graph g)
      : id(std::move(id_)), graph(std::move(g)), conformers(graph.num_atoms()) {}

  std::size_t size() const noexcept { return conformers.size(); }

  template <class Derived>
  void add(const Eigen::MatrixBase<Derived>& xyz, conformer_info meta = {}) {
    conformers.push_back(xyz);
    info.push_back(std::move(meta));
  }
};

}  // namespace confsgm
