// confsgm/model/distance_score_network.hpp: the ConfGF-style score network on
// the extended graph (reference-spec §5.3), with hand-written gradients.
//
//   e_ij = MLP_dist([d_ij, log sigma]) * E_type[type_ij]     (sigma-conditioned distance embedding)
//   h^0  = E_atom[Z]
//   h^{l+1} = h^l + GINE_l(h^l, e)                            (ReLU after all but the last layer)
//   s_ij = MLP_out([h_i * h_j, e_ij]) / sigma                 (output scaled by 1/sigma)
//
// ConfGF conditions on sigma only through the 1/sigma output scale; feeding
// log sigma to the distance MLP as well lets one network serve all 50 levels
// without relying on that scale alone. Widths are configuration.
#pragma once

#include "confsgm/model/layers.hpp"
#include "confsgm/space/distance_space.hpp"

#include <cmath>

namespace confsgm::model {

struct distance_network_config {
  std::size_t hidden = 128;
  std::size_t layers = 4;
  std::size_t atom_types = 100;  ///< atomic numbers 0..99
  std::size_t edge_types = num_bond_types + 2;  ///< bond kinds + 2-hop + 3-hop
  friend bool operator==(const distance_network_config&, const distance_network_config&) = default;
};

/// Several molecules (or copies of one) as one disjoint graph.
struct graph_batch {
  std::vector<std::uint32_t> atom_type;  ///< per atom
  edge_list edges;                       ///< global atom indices, i < j
  std::vector<std::uint32_t> edge_type;
  std::vector<std::uint32_t> edge_graph;  ///< which member graph each edge belongs to
  std::vector<std::size_t> atom_offset{0}, edge_offset{0};
  std::size_t num_graphs() const noexcept { return atom_offset.size() - 1; }
  std::size_t num_atoms() const noexcept { return atom_type.size(); }
  std::size_t num_edges() const noexcept { return edge_type.size(); }

  void add(const distance_structure& s) {
    const auto base = static_cast<std::uint32_t>(atom_type.size());
    const auto gid = static_cast<std::uint32_t>(num_graphs());
    atom_type.insert(atom_type.end(), s.atom_type.begin(), s.atom_type.end());
    for (const auto& e : s.edges) {
      edges.i.push_back(base + e.i);
      edges.j.push_back(base + e.j);
      edge_type.push_back(e.type);
      edge_graph.push_back(gid);
    }
    atom_offset.push_back(atom_type.size());
    edge_offset.push_back(edge_type.size());
  }
};

template <class Scalar, Backend B = backend::cpu_eigen>
class distance_score_network {
 public:
  using scalar_type = Scalar;
  using space_type = distance_space;
  using batch_type = graph_batch;
  using mat = row_matrix<Scalar>;
  static std::string kind() { return "distance-gine"; }
  using vec = std::vector<Scalar>;
  using params = parameter_vector<Scalar>;

  explicit distance_score_network(distance_network_config cfg = {}) : cfg_(cfg) {
    if (cfg.hidden < 2 || cfg.layers < 1)
      throw invalid_argument("distance_score_network: need hidden >= 2 and layers >= 1");
    const auto h = cfg.hidden;
    atom_emb_ = embedding<Scalar>(layout_, "atom_embedding", cfg.atom_types, h);
    edge_emb_ = embedding<Scalar>(layout_, "edge_type_embedding", cfg.edge_types, h);
    dist_ = mlp<Scalar, B>(layout_, "distance_mlp", {2, h, h}, false);
    for (std::size_t l = 0; l < cfg.layers; ++l)
      convs_.emplace_back(layout_, "gine." + std::to_string(l), h, l + 1 < cfg.layers);
    head_ = mlp<Scalar, B>(layout_, "edge_head", {2 * h, h, h / 2, 1}, false);
  }

  const distance_network_config& config() const noexcept { return cfg_; }
  const parameter_layout& layout() const noexcept { return layout_; }
  std::size_t num_parameters() const noexcept { return layout_.size(); }

  params initial_parameters(std::uint64_t seed) const {
    params p(layout_.size(), Scalar(0));
    atom_emb_.init(layout_, p, seed);
    edge_emb_.init(layout_, p, seed);
    dist_.init(layout_, p, seed);
    for (const auto& c : convs_) c.init(layout_, p, seed);
    head_.init(layout_, p, seed);
    // Zero output layer: the untrained network predicts a zero score, so the
    // first losses are the plain noise energy instead of products of large
    // random features (sum aggregation over ~10-30 extended-graph neighbours).
    for (const auto& blk : layout_.blocks())
      if (blk.name == "edge_head.2.weight") view(p, blk).setZero();
    return p;
  }

  struct cache {
    mat x0, dist_feat, type_feat, e, q;
    typename mlp<Scalar, B>::cache dist, head;
    std::vector<mat> h;  ///< h[0..layers]
    std::vector<typename gine_conv<Scalar, B>::cache> conv;
    vec sigma;
  };

  /// Scores of the (perturbed) distances @p d of batch @p b at per-edge noise @p sigma.
  void forward(const params& p, const graph_batch& b, const vec& d, const vec& sigma, cache& c, vec& score) const {
    const auto ne = static_cast<Eigen::Index>(b.num_edges());
    if (d.size() != b.num_edges() || sigma.size() != b.num_edges() || p.size() != layout_.size())
      throw shape_mismatch("distance_score_network::forward(): " + std::to_string(d.size()) + " distances, " +
                           std::to_string(sigma.size()) + " sigmas and " + std::to_string(p.size()) +
                           " parameters for " + std::to_string(b.num_edges()) + " edges and " +
                           std::to_string(layout_.size()) + " parameters");
    for (auto t : b.edge_type)
      if (t >= cfg_.edge_types)
        throw invalid_argument("distance_score_network: edge type " + std::to_string(t) +
                               " unknown to a network built for " + std::to_string(cfg_.edge_types) + " types");
    c.sigma = sigma;
    c.x0.resize(ne, 2);
    for (Eigen::Index k = 0; k < ne; ++k) {
      c.x0(k, 0) = d[k];
      c.x0(k, 1) = static_cast<Scalar>(std::log(static_cast<double>(sigma[k])));
    }
    dist_.forward(layout_, p, c.x0, c.dist);
    c.dist_feat = dist_.output(c.dist);
    edge_emb_.forward(layout_, p, b.edge_type, c.type_feat);
    c.e = c.dist_feat.cwiseProduct(c.type_feat);
    c.h.resize(cfg_.layers + 1);
    c.conv.resize(cfg_.layers);
    atom_emb_.forward(layout_, p, b.atom_type, c.h[0]);
    mat out;
    for (std::size_t l = 0; l < cfg_.layers; ++l) {
      convs_[l].forward(layout_, p, b.edges, c.h[l], c.e, c.conv[l], out);
      c.h[l + 1] = c.h[l] + out;
    }
    const auto H = static_cast<Eigen::Index>(cfg_.hidden);
    const auto& hl = c.h.back();
    c.q.resize(ne, 2 * H);
    for (Eigen::Index k = 0; k < ne; ++k) {
      c.q.row(k).head(H) = hl.row(b.edges.i[k]).cwiseProduct(hl.row(b.edges.j[k]));
      c.q.row(k).tail(H) = c.e.row(k);
    }
    head_.forward(layout_, p, c.q, c.head);
    const auto& o = head_.output(c.head);
    score.resize(b.num_edges());
    for (Eigen::Index k = 0; k < ne; ++k) score[k] = o(k, 0) / sigma[k];
  }

  /// Accumulates d(loss)/d(parameters) into @p grad given d(loss)/d(score);
  /// writes d(loss)/d(distances) into @p d_distance when asked.
  void backward(const params& p, const graph_batch& b, const cache& c, const vec& d_score, params& grad,
                vec* d_distance = nullptr) const {
    const auto ne = static_cast<Eigen::Index>(b.num_edges());
    const auto H = static_cast<Eigen::Index>(cfg_.hidden);
    if (grad.size() != layout_.size()) grad.assign(layout_.size(), Scalar(0));
    mat d_o(ne, 1);
    for (Eigen::Index k = 0; k < ne; ++k) d_o(k, 0) = d_score[k] / c.sigma[k];
    mat dq;
    head_.backward(layout_, p, c.head, d_o, &dq, grad);
    const auto& hl = c.h.back();
    mat dh = mat::Zero(hl.rows(), H);
    mat de = dq.rightCols(H);
    for (Eigen::Index k = 0; k < ne; ++k) {
      const auto i = b.edges.i[k], j = b.edges.j[k];
      dh.row(i) += dq.row(k).head(H).cwiseProduct(hl.row(j));
      dh.row(j) += dq.row(k).head(H).cwiseProduct(hl.row(i));
    }
    mat dh_conv, de_conv;
    for (std::size_t l = cfg_.layers; l-- > 0;) {
      convs_[l].backward(layout_, p, b.edges, c.conv[l], dh, dh_conv, de_conv, grad);
      dh += dh_conv;  // residual: h^{l+1} = h^l + conv(h^l)
      de += de_conv;
    }
    atom_emb_.backward(layout_, b.atom_type, dh, grad);
    const mat d_dist = de.cwiseProduct(c.type_feat);
    const mat d_type = de.cwiseProduct(c.dist_feat);
    edge_emb_.backward(layout_, b.edge_type, d_type, grad);
    mat dx0;
    dist_.backward(layout_, p, c.dist, d_dist, d_distance ? &dx0 : nullptr, grad);
    if (d_distance) {
      d_distance->resize(b.num_edges());
      for (Eigen::Index k = 0; k < ne; ++k) (*d_distance)[k] = dx0(k, 0);
    }
  }

  /// Floating-point operations of one forward pass (GEMMs only).
  double forward_flops(std::size_t atoms, std::size_t edges) const noexcept {
    double f = dist_.flops(edges) + head_.flops(edges);
    for (const auto& c : convs_) f += c.flops(atoms);
    return f;
  }

 private:
  distance_network_config cfg_;
  parameter_layout layout_;
  embedding<Scalar> atom_emb_, edge_emb_;
  mlp<Scalar, B> dist_, head_;
  std::vector<gine_conv<Scalar, B>> convs_;
};

}  // namespace confsgm::model
