// confsgm/model/graph_encoder.hpp: the sigma-conditioned graph encoder shared
// by the distance-space and torsion-space score networks (reference-spec §5.3):
//
//   e_ij    = MLP_dist([d_ij, log sigma]) * E_type[type_ij]   per edge of the extended graph
//   h^0     = E_atom[Z]
//   h^{l+1} = h^l + GINE_l(h^l, e)                            (ReLU after all but the last layer)
//
// Invariant by construction: it sees only atom types, edge types, interatomic
// distances and sigma. Parameter names and order are part of the model file
// format ("atom_embedding", "edge_type_embedding", "distance_mlp", "gine.l").
#pragma once

#include "confsgm/model/layers.hpp"

#include <cmath>

namespace confsgm::model {

/// A model-file header entry that must be a positive whole number (a layer size or count), for the networks'
/// config_from_header(). Throws invalid_argument naming the entry.
inline std::size_t header_count(const std::string& key, double value) {
  if (!(value >= 1 && value <= 1e9 && value == std::floor(value)))
    throw invalid_argument("model header entry '" + key + "' must be a positive whole number, got " +
                           std::to_string(value));
  return static_cast<std::size_t>(value);
}

/// The graph-encoder sizes every network's configuration holds (hidden, layers, atom_types, edge_types), read from
/// a model-file header through @p number(key) (see the networks' config_from_header()).
template <class Config, class Number>
void read_encoder_header(Config& c, Number&& number) {
  for (auto [key, field] : {std::pair{"hidden", &c.hidden}, {"layers", &c.layers}, {"atom_types", &c.atom_types},
                            {"edge_types", &c.edge_types}})
    *field = header_count(key, number(std::string(key)));
}

template <class Scalar, Backend B = backend::cpu_eigen>
class graph_encoder {
 public:
  using mat = row_matrix<Scalar>;
  using vec = std::vector<Scalar>;
  using params = parameter_vector<Scalar>;

  struct cache {
    mat x0, dist_feat, type_feat, e, out;  ///< out: work space of the layer loop
    typename mlp<Scalar, B>::cache dist;
    std::vector<mat> h;  ///< h[0..layers]
    std::vector<typename gine_conv<Scalar, B>::cache> conv;
  };

  graph_encoder() = default;
  graph_encoder(parameter_layout& layout, std::size_t hidden, std::size_t layers, std::size_t atom_types,
                std::size_t edge_types)
      : hidden_(hidden), layers_(layers), edge_types_(edge_types) {
    atom_emb_ = embedding<Scalar>(layout, "atom_embedding", atom_types, hidden);
    edge_emb_ = embedding<Scalar>(layout, "edge_type_embedding", edge_types, hidden);
    dist_ = mlp<Scalar, B>(layout, "distance_mlp", {2, hidden, hidden}, false);
    for (std::size_t l = 0; l < layers; ++l)
      convs_.emplace_back(layout, "gine." + std::to_string(l), hidden, l + 1 < layers);
  }

  void init(const parameter_layout& layout, params& p, std::uint64_t seed) const {
    atom_emb_.init(layout, p, seed);
    edge_emb_.init(layout, p, seed);
    dist_.init(layout, p, seed);
    for (const auto& c : convs_) c.init(layout, p, seed);
  }

  /// Encodes a batched graph: @p d and @p sigma per edge.
  void forward(const parameter_layout& layout, const params& p, const std::vector<std::uint32_t>& atom_type,
               const edge_list& edges, const std::vector<std::uint32_t>& edge_type, const vec& d, const vec& sigma,
               cache& c) const {
    const auto ne = static_cast<Eigen::Index>(edges.size());
    for (auto t : edge_type)
      if (t >= edge_types_)
        throw invalid_argument("graph_encoder: edge type " + std::to_string(t) + " unknown to a network built for " +
                               std::to_string(edge_types_) + " types");
    c.x0.resize(ne, 2);
    for (Eigen::Index k = 0; k < ne; ++k) {
      c.x0(k, 0) = d[k];
      c.x0(k, 1) = static_cast<Scalar>(std::log(static_cast<double>(sigma[k])));
    }
    dist_.forward(layout, p, c.x0, c.dist);
    c.dist_feat = dist_.output(c.dist);
    edge_emb_.forward(layout, p, edge_type, c.type_feat);
    c.e = c.dist_feat.cwiseProduct(c.type_feat);
    c.h.resize(layers_ + 1);
    c.conv.resize(layers_);
    atom_emb_.forward(layout, p, atom_type, c.h[0]);
    for (std::size_t l = 0; l < layers_; ++l) {
      convs_[l].forward(layout, p, edges, c.h[l], c.e, c.conv[l], c.out);
      c.h[l + 1] = c.h[l] + c.out;
    }
  }

  const mat& atoms(const cache& c) const { return c.h.back(); }
  const mat& edge_features(const cache& c) const { return c.e; }

  /// Accumulates parameter gradients from d(loss)/d(final atom features) @p dh
  /// and d(loss)/d(edge features) @p de (both consumed); writes d(loss)/d(d_ij)
  /// into @p d_distance when asked.
  void backward(const parameter_layout& layout, const params& p, const std::vector<std::uint32_t>& atom_type,
                const edge_list& edges, const std::vector<std::uint32_t>& edge_type, const cache& c, mat dh, mat de,
                params& grad, vec* d_distance = nullptr) const {
    mat dh_conv, de_conv;
    for (std::size_t l = layers_; l-- > 0;) {
      convs_[l].backward(layout, p, edges, c.conv[l], dh, dh_conv, de_conv, grad);
      dh += dh_conv;  // residual: h^{l+1} = h^l + conv(h^l)
      de += de_conv;
    }
    atom_emb_.backward(layout, atom_type, dh, grad);
    const mat d_dist = de.cwiseProduct(c.type_feat);
    const mat d_type = de.cwiseProduct(c.dist_feat);
    edge_emb_.backward(layout, edge_type, d_type, grad);
    mat dx0;
    dist_.backward(layout, p, c.dist, d_dist, d_distance ? &dx0 : nullptr, grad);
    if (d_distance) {
      d_distance->resize(edges.size());
      for (std::size_t k = 0; k < edges.size(); ++k) (*d_distance)[k] = dx0(static_cast<Eigen::Index>(k), 0);
    }
  }

  double flops(std::size_t atoms, std::size_t edges) const noexcept {
    double f = dist_.flops(edges);
    for (const auto& c : convs_) f += c.flops(atoms);
    return f;
  }
  std::size_t hidden() const noexcept { return hidden_; }

 private:
  std::size_t hidden_ = 0, layers_ = 0, edge_types_ = 0;
  embedding<Scalar> atom_emb_, edge_emb_;
  mlp<Scalar, B> dist_;
  std::vector<gine_conv<Scalar, B>> convs_;
};

}  // namespace confsgm::model
