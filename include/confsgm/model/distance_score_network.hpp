// confsgm/model/distance_score_network.hpp: the ConfGF-style score network on
// the extended graph (reference-spec §5.3), with hand-written gradients.
//
//   (h, e) = graph_encoder(Z, edge types, d, sigma)          (model/graph_encoder.hpp)
//   s_ij = MLP_out([h_i * h_j, e_ij]) / sigma                 (output scaled by 1/sigma)
//
// ConfGF conditions on sigma only through the 1/sigma output scale; feeding
// log sigma to the distance MLP as well lets one network serve all 50 levels
// without relying on that scale alone. Widths are configuration.
#pragma once

#include "confsgm/model/score_network.hpp"
#include "confsgm/model/graph_encoder.hpp"
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
  /// Where each member's noise variables (its edges) start in the flat vectors.
  const std::vector<std::size_t>& variable_offset() const noexcept { return edge_offset; }

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
    encoder_ = graph_encoder<Scalar, B>(layout_, h, cfg.layers, cfg.atom_types, cfg.edge_types);
    head_ = mlp<Scalar, B>(layout_, "edge_head", {2 * h, h, h / 2, 1}, false);
  }

  const distance_network_config& config() const noexcept { return cfg_; }
  /// The configuration a model file's header describes (what the trainer's model_header() wrote):
  /// @p number(key) returns the entry as a number and throws when it is missing.
  template <class Number>
  static distance_network_config config_from_header(Number&& number) {
    distance_network_config c;
    read_encoder_header(c, number);
    return c;
  }
  const parameter_layout& layout() const noexcept { return layout_; }
  std::size_t num_parameters() const noexcept { return layout_.size(); }

  params initial_parameters(std::uint64_t seed) const {
    params p(layout_.size(), Scalar(0));
    encoder_.init(layout_, p, seed);
    head_.init(layout_, p, seed);
    // Zero output layer: the untrained network predicts a zero score, so the
    // first losses are the plain noise energy instead of products of large
    // random features.
    for (const auto& blk : layout_.blocks())
      if (blk.name == "edge_head.2.weight") view(p, blk).setZero();
    return p;
  }

  struct cache {
    typename graph_encoder<Scalar, B>::cache enc;
    mat q;
    typename mlp<Scalar, B>::cache head;
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
    c.sigma = sigma;
    encoder_.forward(layout_, p, b.atom_type, b.edges, b.edge_type, d, sigma, c.enc);
    const auto H = static_cast<Eigen::Index>(cfg_.hidden);
    const auto& hl = encoder_.atoms(c.enc);
    const auto& e = encoder_.edge_features(c.enc);
    c.q.resize(ne, 2 * H);
    for (Eigen::Index k = 0; k < ne; ++k) {
      c.q.row(k).head(H) = hl.row(b.edges.i[k]).cwiseProduct(hl.row(b.edges.j[k]));
      c.q.row(k).tail(H) = e.row(k);
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
    const auto& hl = encoder_.atoms(c.enc);
    mat dh = mat::Zero(hl.rows(), H);
    mat de = dq.rightCols(H);
    for (Eigen::Index k = 0; k < ne; ++k) {
      const auto i = b.edges.i[k], j = b.edges.j[k];
      dh.row(i) += dq.row(k).head(H).cwiseProduct(hl.row(j));
      dh.row(j) += dq.row(k).head(H).cwiseProduct(hl.row(i));
    }
    encoder_.backward(layout_, p, b.atom_type, b.edges, b.edge_type, c.enc, std::move(dh), std::move(de), grad,
                      d_distance);
  }

  /// Floating-point operations of one forward pass (GEMMs only).
  double forward_flops(std::size_t atoms, std::size_t edges) const noexcept {
    return encoder_.flops(atoms, edges) + head_.flops(edges);
  }

 private:
  distance_network_config cfg_;
  parameter_layout layout_;
  graph_encoder<Scalar, B> encoder_;
  mlp<Scalar, B> head_;
};

static_assert(check_score_network<distance_score_network<float>>() && check_score_network<distance_score_network<double>>());

}  // namespace confsgm::model
