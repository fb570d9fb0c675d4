// confsgm/model/layers.hpp: the layers of the score networks, each with a
// forward pass, a backward pass (input gradient) and parameter gradients,
// written by hand so that every one can be checked by finite differences
// (tests/unit/model_test.cpp). Activations are row-major: one row per item
// (atom or edge), one column per feature.
#pragma once

#include "confsgm/backend/cpu/eigen_backend.hpp"
#include "confsgm/model/parameters.hpp"

#include <vector>

namespace confsgm::model {

/// y = x W^T + b, W: out x in.
template <class Scalar, Backend B = backend::cpu_eigen>
class linear {
 public:
  using mat = row_matrix<Scalar>;
  linear() = default;
  linear(parameter_layout& layout, const std::string& name, std::size_t in, std::size_t out)
      : in_(in), out_(out), w_(layout.add(name + ".weight", out, in)), b_(layout.add(name + ".bias", 1, out)) {}

  void init(const parameter_layout& layout, parameter_vector<Scalar>& p, std::uint64_t seed) const {
    xavier_uniform(p, layout.block(w_), seed, static_cast<std::uint32_t>(w_));
    view(p, layout.block(b_)).setZero();
  }
  void forward(const parameter_layout& layout, const parameter_vector<Scalar>& p, const mat& x, mat& y) const {
    check(x.cols() == static_cast<Eigen::Index>(in_), x.cols());
    y.resize(x.rows(), static_cast<Eigen::Index>(out_));
    B::gemm_nt(Scalar(1), x, view(p, layout.block(w_)), Scalar(0), y);
    y.rowwise() += view(p, layout.block(b_)).row(0);
  }
  /// Accumulates dW, db into @p g; writes dx when asked.
  void backward(const parameter_layout& layout, const parameter_vector<Scalar>& p, const mat& x, const mat& dy, mat* dx,
                parameter_vector<Scalar>& g) const {
    auto gw = view(g, layout.block(w_));
    B::gemm_tn(Scalar(1), dy, x, Scalar(1), gw);
    view(g, layout.block(b_)).row(0) += dy.colwise().sum();
    if (dx) {
      dx->resize(dy.rows(), static_cast<Eigen::Index>(in_));
      B::gemm_nn(Scalar(1), dy, view(p, layout.block(w_)), Scalar(0), *dx);
    }
  }
  std::size_t in() const noexcept { return in_; }
  std::size_t out() const noexcept { return out_; }
  /// Multiply-adds of one forward pass over @p rows rows.
  double flops(std::size_t rows) const noexcept { return 2.0 * double(rows) * double(in_) * double(out_); }

 private:
  void check(bool ok, Eigen::Index got) const {
    if (!ok)
      throw shape_mismatch("linear layer expects " + std::to_string(in_) + " input features, got " +
                           std::to_string(got));
  }
  std::size_t in_ = 0, out_ = 0, w_ = 0, b_ = 0;
};

/// Linear layers with ReLU between them (and after the last one when asked).
template <class Scalar, Backend B = backend::cpu_eigen>
class mlp {
 public:
  using mat = row_matrix<Scalar>;
  struct cache {
    std::vector<mat> act;  ///< act[0] = input, act[k] = output of layer k-1 (after its ReLU, if any)
  };
  mlp() = default;
  mlp(parameter_layout& layout, const std::string& name, const std::vector<std::size_t>& widths, bool final_relu)
      : final_relu_(final_relu) {
    if (widths.size() < 2) throw invalid_argument("mlp '" + name + "' needs at least input and output widths");
    for (std::size_t k = 0; k + 1 < widths.size(); ++k)
      layers_.emplace_back(layout, name + "." + std::to_string(k), widths[k], widths[k + 1]);
  }
  void init(const parameter_layout& layout, parameter_vector<Scalar>& p, std::uint64_t seed) const {
    for (const auto& l : layers_) l.init(layout, p, seed);
  }
  void forward(const parameter_layout& layout, const parameter_vector<Scalar>& p, const mat& x, cache& c) const {
    c.act.resize(layers_.size() + 1);
    c.act[0] = x;
    for (std::size_t k = 0; k < layers_.size(); ++k) {
      layers_[k].forward(layout, p, c.act[k], c.act[k + 1]);
      if (k + 1 < layers_.size() || final_relu_) c.act[k + 1] = c.act[k + 1].cwiseMax(Scalar(0));
    }
  }
  const mat& output(const cache& c) const { return c.act.back(); }
  void backward(const parameter_layout& layout, const parameter_vector<Scalar>& p, const cache& c, mat dy, mat* dx,
                parameter_vector<Scalar>& g) const {
    mat tmp;
    for (std::size_t k = layers_.size(); k-- > 0;) {
      // ReLU' from the stored output: relu(z) > 0 exactly when z > 0.
      if (k + 1 < layers_.size() || final_relu_)
        dy = (c.act[k + 1].array() > Scalar(0)).select(dy, Scalar(0));
      const bool need_dx = k > 0 || dx;
      layers_[k].backward(layout, p, c.act[k], dy, need_dx ? &tmp : nullptr, g);
      if (k > 0) dy.swap(tmp);
    }
    if (dx) dx->swap(tmp);
  }
  double flops(std::size_t rows) const noexcept {
    double f = 0;
    for (const auto& l : layers_) f += l.flops(rows);
    return f;
  }

 private:
  std::vector<linear<Scalar, B>> layers_;
  bool final_relu_ = false;
};

/// Row lookup in a table (atom types, edge types).
template <class Scalar>
class embedding {
 public:
  using mat = row_matrix<Scalar>;
  embedding() = default;
  embedding(parameter_layout& layout, const std::string& name, std::size_t rows, std::size_t dim)
      : rows_(rows), dim_(dim), t_(layout.add(name, rows, dim)) {}
  void init(const parameter_layout& layout, parameter_vector<Scalar>& p, std::uint64_t seed) const {
    normal_init(p, layout.block(t_), 1.0, seed, static_cast<std::uint32_t>(t_));
  }
  void forward(const parameter_layout& layout, const parameter_vector<Scalar>& p, const std::vector<std::uint32_t>& idx,
               mat& y) const {
    const auto t = view(p, layout.block(t_));
    y.resize(static_cast<Eigen::Index>(idx.size()), static_cast<Eigen::Index>(dim_));
    for (std::size_t r = 0; r < idx.size(); ++r) {
      if (idx[r] >= rows_)
        throw invalid_argument("embedding: index " + std::to_string(idx[r]) + " outside the table of " +
                               std::to_string(rows_) + " rows");
      y.row(static_cast<Eigen::Index>(r)) = t.row(idx[r]);
    }
  }
  void backward(const parameter_layout& layout, const std::vector<std::uint32_t>& idx, const mat& dy,
                parameter_vector<Scalar>& g) const {
    auto gt = view(g, layout.block(t_));
    for (std::size_t r = 0; r < idx.size(); ++r) gt.row(idx[r]) += dy.row(static_cast<Eigen::Index>(r));
  }
  std::size_t rows() const noexcept { return rows_; }

 private:
  std::size_t rows_ = 0, dim_ = 0, t_ = 0;
};

/// Undirected edge list of a (batched) graph; both directions pass messages.
struct edge_list {
  std::vector<std::uint32_t> i, j;
  std::size_t size() const noexcept { return i.size(); }
};

/// GINE convolution (Hu et al. 2020, as in ConfGF with eps = 0), with the
/// messages averaged instead of summed:
///   out_v = MLP(h_v + mean_{u ~ v} relu(h_u + e_uv)).
/// On the extended graph a node has 10-30 neighbours; summing made features
/// grow by that factor per layer (gradients of 1e9 on QM9), averaging keeps
/// them at the scale of the inputs.
template <class Scalar, Backend B = backend::cpu_eigen>
class gine_conv {
 public:
  using mat = row_matrix<Scalar>;
  struct cache {
    mat pre_to_i, pre_to_j;  ///< h_j + e and h_i + e per edge (message pre-activations)
    mat agg, u;              ///< work space, kept so repeated calls reuse their memory
    std::vector<Scalar> inv_degree;  ///< 1 / number of neighbours, per node (1 for isolated nodes)
    typename mlp<Scalar, B>::cache net;
  };
  gine_conv() = default;
  gine_conv(parameter_layout& layout, const std::string& name, std::size_t dim, bool final_relu)
      : net_(layout, name, {dim, dim, dim}, final_relu) {}
  void init(const parameter_layout& layout, parameter_vector<Scalar>& p, std::uint64_t seed) const {
    net_.init(layout, p, seed);
  }
  void forward(const parameter_layout& layout, const parameter_vector<Scalar>& p, const edge_list& g, const mat& h,
               const mat& e, cache& c, mat& out) const {
    c.inv_degree.assign(static_cast<std::size_t>(h.rows()), Scalar(0));
    for (std::size_t k = 0; k < g.size(); ++k) {
      c.inv_degree[g.i[k]] += Scalar(1);
      c.inv_degree[g.j[k]] += Scalar(1);
    }
    for (auto& d : c.inv_degree) d = d > Scalar(0) ? Scalar(1) / d : Scalar(1);
    auto& agg = c.agg;
    agg.setZero(h.rows(), h.cols());
    c.pre_to_i.resize(e.rows(), e.cols());
    c.pre_to_j.resize(e.rows(), e.cols());
    for (std::size_t k = 0; k < g.size(); ++k) {
      const auto r = static_cast<Eigen::Index>(k);
      c.pre_to_i.row(r) = h.row(g.j[k]) + e.row(r);
      c.pre_to_j.row(r) = h.row(g.i[k]) + e.row(r);
      agg.row(g.i[k]) += c.pre_to_i.row(r).cwiseMax(Scalar(0));
      agg.row(g.j[k]) += c.pre_to_j.row(r).cwiseMax(Scalar(0));
    }
    auto& u = c.u;
    u = h;
    for (Eigen::Index v = 0; v < u.rows(); ++v) u.row(v) += c.inv_degree[static_cast<std::size_t>(v)] * agg.row(v);
    net_.forward(layout, p, u, c.net);
    out = net_.output(c.net);
  }
  /// Writes dh and de (both overwritten) from dout.
  void backward(const parameter_layout& layout, const parameter_vector<Scalar>& p, const edge_list& g, const cache& c,
                const mat& dout, mat& dh, mat& de, parameter_vector<Scalar>& grad) const {
    mat du;
    net_.backward(layout, p, c.net, dout, &du, grad);
    dh = du;
    de.setZero(c.pre_to_i.rows(), c.pre_to_i.cols());
    for (std::size_t k = 0; k < g.size(); ++k) {
      const auto r = static_cast<Eigen::Index>(k);
      const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> gi =
          (c.pre_to_i.row(r).array() > Scalar(0))
              .select(c.inv_degree[g.i[k]] * du.row(g.i[k]).array(), Scalar(0))
              .matrix();
      const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> gj =
          (c.pre_to_j.row(r).array() > Scalar(0))
              .select(c.inv_degree[g.j[k]] * du.row(g.j[k]).array(), Scalar(0))
              .matrix();
      dh.row(g.j[k]) += gi;
      dh.row(g.i[k]) += gj;
      de.row(r) += gi + gj;
    }
  }
  double flops(std::size_t nodes) const noexcept { return net_.flops(nodes); }

 private:
  mlp<Scalar, B> net_;
};

}  // namespace confsgm::model
