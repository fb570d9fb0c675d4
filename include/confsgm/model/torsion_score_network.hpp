// confsgm/model/torsion_score_network.hpp: a score network on the torsion
// manifold, SE(3)-invariant and odd under reflection, with hand-written
// gradients. Our design (the reference's idea of a torque readout, without
// spherical-harmonic tensor products):
//
//   x          = local structure with the input dihedrals         (torsion_space)
//   (h, e)     = graph_encoder(Z, edge types, |x_i - x_j|, sigma)  (shared with the distance model)
//   f_ij       = MLP_pair([h_i + h_j, h_i * h_j, rbf(d_ij), log sigma]) * envelope(d_ij)
//   s_t        = sqrt(E[s^2](sigma)) / sqrt(n_t) * sum_{pairs across t} f_ij * d(d_ij)/d(theta_t)
//   n_t        = max(1, sum of the envelopes of t's pairs)
//
// A pair (i, j) is "across" torsion t when exactly one of them rotates with t;
// d(d_ij)/d(theta_t) = (x_m - x_f) . (a_t x (x_m - x_c)) / d_ij, with m the
// moving and f the fixed atom, a_t the unit bond axis and c the bond's moving
// end: the rate at which rotating t changes that distance. So s_t is minus the
// torsional derivative of a learned pair "energy": distances and f are
// invariant, the triple product is a pseudoscalar, hence rotations leave s_t
// unchanged and a reflection (with the mirrored dihedrals) negates it. The
// smooth cutoff envelope(d) = (cos(pi d / r_c) + 1) / 2, also inside n_t,
// keeps s_t continuous when pairs enter or leave the cutoff. Widths, cutoff and radial basis are
// configuration.
#pragma once

#include "confsgm/model/score_network.hpp"
#include "confsgm/model/graph_encoder.hpp"
#include "confsgm/space/torsion_space.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>

namespace confsgm::model {

struct torsion_network_config {
  std::size_t hidden = 64;
  std::size_t layers = 4;
  std::size_t atom_types = 100;
  std::size_t edge_types = num_bond_types + 2;
  std::size_t radial = 16;   ///< Gaussian radial basis functions on [0, cutoff]
  double cutoff = 5.0;       ///< Angstrom (the reference's radius)
  friend bool operator==(const torsion_network_config&, const torsion_network_config&) = default;
};

/// Several torsion-space samples as one disjoint graph. Holds pointers to the
/// structures: they must outlive the batch.
struct torsion_batch {
  std::vector<const torsion_structure*> members;
  std::vector<std::uint32_t> atom_type;
  edge_list edges;  ///< encoder edges, global atom indices
  std::vector<std::uint32_t> edge_type;
  std::vector<std::size_t> atom_offset{0}, edge_offset{0}, torsion_offset{0};
  std::size_t num_graphs() const noexcept { return members.size(); }
  std::size_t num_atoms() const noexcept { return atom_type.size(); }
  std::size_t num_edges() const noexcept { return edge_type.size(); }
  std::size_t num_torsions() const noexcept { return torsion_offset.back(); }
  const std::vector<std::size_t>& variable_offset() const noexcept { return torsion_offset; }

  void add(const torsion_structure& s) {
    if (s.torsions.empty())
      throw chemistry_error("torsion_batch: '" + s.name + "' has no rotatable bond; the torsion model has nothing "
                            "to predict for it (use its local structure as is)");
    const auto base = static_cast<std::uint32_t>(atom_type.size());
    members.push_back(&s);
    atom_type.insert(atom_type.end(), s.atom_type.begin(), s.atom_type.end());
    for (const auto& e : s.edges) {
      edges.i.push_back(base + e.i);
      edges.j.push_back(base + e.j);
      edge_type.push_back(e.type);
    }
    atom_offset.push_back(atom_type.size());
    edge_offset.push_back(edge_type.size());
    torsion_offset.push_back(torsion_offset.back() + s.torsions.size());
  }
};

template <class Scalar, Backend B = backend::cpu_eigen>
class torsion_score_network {
 public:
  using scalar_type = Scalar;
  using space_type = torsion_space;
  using batch_type = torsion_batch;
  using mat = row_matrix<Scalar>;
  using vec = std::vector<Scalar>;
  using params = parameter_vector<Scalar>;
  static std::string kind() { return "torsion-pair-torque"; }

  explicit torsion_score_network(torsion_network_config cfg = {}) : cfg_(cfg) {
    if (cfg.hidden < 2 || cfg.layers < 1 || cfg.radial < 2 || !(cfg.cutoff > 0))
      throw invalid_argument("torsion_score_network: need hidden >= 2, layers >= 1, radial >= 2, cutoff > 0");
    const auto h = cfg.hidden;
    encoder_ = graph_encoder<Scalar, B>(layout_, h, cfg.layers, cfg.atom_types, cfg.edge_types);
    pair_ = mlp<Scalar, B>(layout_, "pair_mlp", {2 * h + cfg.radial + 1, h, h / 2 > 0 ? h / 2 : 1, 1}, false);
  }

  const torsion_network_config& config() const noexcept { return cfg_; }
  /// The configuration a model file's header describes (model_header() plus header_entries()):
  /// @p number(key) returns the entry as a number and throws when it is missing.
  template <class Number>
  static torsion_network_config config_from_header(Number&& number) {
    torsion_network_config c;
    read_encoder_header(c, number);
    c.radial = header_count("radial", number(std::string("radial")));
    c.cutoff = number(std::string("cutoff"));
    if (!(c.cutoff > 0) || !std::isfinite(c.cutoff))
      throw invalid_argument("model header entry 'cutoff' must be a positive distance, got " + std::to_string(c.cutoff));
    return c;
  }
  /// Model-file entries beyond hidden/layers/atom_types/edge_types.
  std::map<std::string, std::string> header_entries() const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%a", cfg_.cutoff);
    return {{"radial", std::to_string(cfg_.radial)}, {"cutoff", buf}};
  }
  const parameter_layout& layout() const noexcept { return layout_; }
  std::size_t num_parameters() const noexcept { return layout_.size(); }

  params initial_parameters(std::uint64_t seed) const {
    params p(layout_.size(), Scalar(0));
    encoder_.init(layout_, p, seed);
    pair_.init(layout_, p, seed);
    for (const auto& blk : layout_.blocks())  // untrained: zero score (see distance_score_network)
      if (blk.name == "pair_mlp.2.weight") view(p, blk).setZero();
    return p;
  }

  /// One (pair, torsion) term of the readout.
  struct contribution {
    std::uint32_t pair, torsion;
    double weight;  ///< envelope(d) * d(d_ij)/d(theta_t)
  };

  struct cache {
    coordinates<double> x;                 ///< all atoms of the batch
    typename graph_encoder<Scalar, B>::cache enc;
    std::vector<std::uint32_t> pair_i, pair_j;
    std::vector<contribution> terms;
    std::vector<double> torsion_scale;     ///< sqrt(E[s^2]) / sqrt(n_t), n_t = max(1, sum of envelopes)
    mat pair_in;
    typename mlp<Scalar, B>::cache pair;
    // Work space, kept so that repeated calls (a sampler's steps) do not allocate.
    std::vector<double> theta_g, pair_d, pair_log_sigma, acc;
    vec edge_d, edge_sigma;
    std::vector<std::uint8_t> moves;
  };

  /// Scores of the dihedrals @p theta (flat over the batch's torsions) at per-torsion noise @p sigma.
  void forward(const params& p, const torsion_batch& b, const vec& theta, const vec& sigma, cache& c,
               vec& score) const {
    const auto nt = b.num_torsions();
    if (theta.size() != nt || sigma.size() != nt || p.size() != layout_.size())
      throw shape_mismatch("torsion_score_network::forward(): " + std::to_string(theta.size()) + " angles, " +
                           std::to_string(sigma.size()) + " sigmas and " + std::to_string(p.size()) +
                           " parameters for " + std::to_string(nt) + " torsions and " +
                           std::to_string(layout_.size()) + " parameters");
    const auto H = static_cast<Eigen::Index>(cfg_.hidden);
    // Geometry in double: coordinates from the dihedrals, encoder distances.
    c.x.resize(static_cast<Eigen::Index>(b.num_atoms()), 3);
    auto& th = c.theta_g;
    auto& d = c.edge_d;
    auto& edge_sigma = c.edge_sigma;
    d.resize(b.num_edges());
    edge_sigma.resize(b.num_edges());
    for (std::size_t g = 0; g < b.num_graphs(); ++g) {
      const auto& s = *b.members[g];
      th.assign(theta.begin() + static_cast<std::ptrdiff_t>(b.torsion_offset[g]),
                theta.begin() + static_cast<std::ptrdiff_t>(b.torsion_offset[g + 1]));
      auto xg = c.x.middleRows(static_cast<Eigen::Index>(b.atom_offset[g]), static_cast<Eigen::Index>(s.n_atoms));
      torsion_space::coordinates_of(s, th.data(), xg);
      for (std::size_t k = b.edge_offset[g]; k < b.edge_offset[g + 1]; ++k) {
        d[k] = static_cast<Scalar>((c.x.row(b.edges.i[k]) - c.x.row(b.edges.j[k])).norm());
        edge_sigma[k] = sigma[b.torsion_offset[g]];
      }
    }
    encoder_.forward(layout_, p, b.atom_type, b.edges, b.edge_type, d, edge_sigma, c.enc);
    const auto& h = encoder_.atoms(c.enc);

    // Pairs across at least one torsion, within the cutoff.
    c.pair_i.clear();
    c.pair_j.clear();
    c.terms.clear();
    c.torsion_scale.assign(nt, 0.0);
    auto& pair_d = c.pair_d;
    auto& pair_logsigma = c.pair_log_sigma;
    auto& moves = c.moves;
    pair_d.clear();
    pair_logsigma.clear();
    for (std::size_t g = 0; g < b.num_graphs(); ++g) {
      const auto& s = *b.members[g];
      const auto a0 = b.atom_offset[g];
      const auto T = s.torsions.size();
      moves.assign(T * s.n_atoms, 0);
      for (std::size_t t = 0; t < T; ++t)
        for (const auto a : s.torsions[t].side) moves[t * s.n_atoms + a] = 1;
      const double log_sigma = std::log(static_cast<double>(sigma[b.torsion_offset[g]]));
      for (std::uint32_t i = 0; i < s.n_atoms; ++i)
        for (std::uint32_t j = i + 1; j < s.n_atoms; ++j) {
          const Eigen::RowVector3d rij = c.x.row(a0 + j) - c.x.row(a0 + i);
          const double dij = rij.norm();
          if (!(dij < cfg_.cutoff) || !(dij > 0)) continue;
          const double env = 0.5 * (std::cos(std::numbers::pi * dij / cfg_.cutoff) + 1.0);
          const auto pair = static_cast<std::uint32_t>(c.pair_i.size());
          bool used = false;
          for (std::size_t t = 0; t < T; ++t) {
            const bool mi = moves[t * s.n_atoms + i], mj = moves[t * s.n_atoms + j];
            if (mi == mj) continue;
            const auto& tb = s.torsions[t];
            const Eigen::RowVector3d pivot = c.x.row(a0 + tb.moving);
            const Eigen::RowVector3d axis = (pivot - c.x.row(a0 + tb.fixed)).normalized();
            const auto m = a0 + (mj ? j : i), f = a0 + (mj ? i : j);
            const Eigen::RowVector3d rm = c.x.row(m) - pivot;
            const Eigen::RowVector3d dm = axis.cross(rm);  // velocity of m per unit rotation
            const double rate = (c.x.row(m) - c.x.row(f)).dot(dm) / dij;
            const auto tg = static_cast<std::uint32_t>(b.torsion_offset[g] + t);
            c.terms.push_back({pair, tg, env * rate});
            c.torsion_scale[tg] += env;  // n_t counts pairs by their envelope: no jump at the cutoff
            used = true;
          }
          if (!used) continue;
          c.pair_i.push_back(static_cast<std::uint32_t>(a0 + i));
          c.pair_j.push_back(static_cast<std::uint32_t>(a0 + j));
          pair_d.push_back(dij);
          pair_logsigma.push_back(log_sigma);
        }
    }
    for (std::size_t t = 0; t < nt; ++t)
      c.torsion_scale[t] = score_scale(static_cast<double>(sigma[t])) / std::sqrt(std::max(1.0, c.torsion_scale[t]));

    const auto np = static_cast<Eigen::Index>(c.pair_i.size());
    const auto R = static_cast<Eigen::Index>(cfg_.radial);
    c.pair_in.resize(np, 2 * H + R + 1);
    const double width = cfg_.cutoff / static_cast<double>(cfg_.radial - 1);
    for (Eigen::Index q = 0; q < np; ++q) {
      const auto i = c.pair_i[q], j = c.pair_j[q];
      c.pair_in.row(q).head(H) = h.row(i) + h.row(j);
      c.pair_in.row(q).segment(H, H) = h.row(i).cwiseProduct(h.row(j));
      for (Eigen::Index r = 0; r < R; ++r) {
        const double z = (pair_d[q] - width * static_cast<double>(r)) / width;
        c.pair_in(q, 2 * H + r) = static_cast<Scalar>(std::exp(-0.5 * z * z));
      }
      c.pair_in(q, 2 * H + R) = static_cast<Scalar>(pair_logsigma[q]);
    }
    pair_.forward(layout_, p, c.pair_in, c.pair);
    const auto& f = pair_.output(c.pair);
    auto& acc = c.acc;
    acc.assign(nt, 0.0);
    for (const auto& term : c.terms) acc[term.torsion] += static_cast<double>(f(term.pair, 0)) * term.weight;
    score.resize(nt);
    for (std::size_t t = 0; t < nt; ++t) score[t] = static_cast<Scalar>(acc[t] * c.torsion_scale[t]);
  }

  /// Accumulates d(loss)/d(parameters) into @p grad given d(loss)/d(score).
  void backward(const params& p, const torsion_batch& b, const cache& c, const vec& d_score, params& grad) const {
    if (grad.size() != layout_.size()) grad.assign(layout_.size(), Scalar(0));
    const auto H = static_cast<Eigen::Index>(cfg_.hidden);
    const auto np = static_cast<Eigen::Index>(c.pair_i.size());
    mat df = mat::Zero(np, 1);
    for (const auto& term : c.terms)
      df(term.pair, 0) += static_cast<Scalar>(static_cast<double>(d_score[term.torsion]) *
                                              c.torsion_scale[term.torsion] * term.weight);
    mat d_in;
    pair_.backward(layout_, p, c.pair, df, &d_in, grad);
    const auto& h = encoder_.atoms(c.enc);
    mat dh = mat::Zero(h.rows(), H);
    for (Eigen::Index q = 0; q < np; ++q) {
      const auto i = c.pair_i[q], j = c.pair_j[q];
      dh.row(i) += d_in.row(q).head(H) + d_in.row(q).segment(H, H).cwiseProduct(h.row(j));
      dh.row(j) += d_in.row(q).head(H) + d_in.row(q).segment(H, H).cwiseProduct(h.row(i));
    }
    mat de = mat::Zero(encoder_.edge_features(c.enc).rows(), H);
    encoder_.backward(layout_, p, b.atom_type, b.edges, b.edge_type, c.enc, std::move(dh), std::move(de), grad);
  }

  /// sqrt(E[s^2](sigma)): the output scale, so the raw network works at O(1) for every sigma.
  static double score_scale(double sigma) { return 1.0 / std::sqrt(torsion_space::loss_weight(sigma)); }

  /// Floating-point operations of one forward pass (GEMMs only).
  double forward_flops(std::size_t atoms, std::size_t edges, std::size_t pairs) const noexcept {
    return encoder_.flops(atoms, edges) + pair_.flops(pairs);
  }

 private:
  torsion_network_config cfg_;
  parameter_layout layout_;
  graph_encoder<Scalar, B> encoder_;
  mlp<Scalar, B> pair_;
};

static_assert(check_score_network<torsion_score_network<float>>() && check_score_network<torsion_score_network<double>>());

}  // namespace confsgm::model
