// confsgm/sample/coordinate_dynamics.hpp: how the distance space is sampled
// (ConfGF, paper Algorithm 1): the state is the Cartesian coordinates of the
// atoms; the network scores the distances of the extended graph, and the
// chain rule (distance_space::coordinate_score) turns them into a coordinate
// score, capped per atom at `clip`. The prior is N(0, init_std^2 I) per
// coordinate. A state with a non-finite coordinate, or one beyond
// max_coordinate Å, has diverged.
#pragma once

#include "confsgm/core/conformer.hpp"
#include "confsgm/model/distance_score_network.hpp"
#include "confsgm/random/philox.hpp"
#include "confsgm/sample/annealed_sampler.hpp"
#include "confsgm/space/distance_space.hpp"

#include <string>

namespace confsgm::sample {

struct coordinate_dynamics {
  using space = distance_space;
  using structure = distance_structure;
  using state = coordinates<double>;
  using batch = model::graph_batch;
  using workspace = coordinates<double>;  ///< the coordinate score of one sample

  double clip = 1000.0;           ///< per-atom score norm cap (ConfGF 1000); 0 = off
  double init_std = 1.0;          ///< prior: coordinates ~ N(0, init_std^2) (ConfGF: 1 Å)
  /// A coordinate beyond this many Å counts as divergence, like a non-finite one. Samples start within a few Å
  /// of the origin and drift by tens of Å over a whole run; far larger values mean the molecule flew apart (too
  /// large a step size), and such a sample would be meaningless and not even writable as V2000 SDF.
  double max_coordinate = 1000.0;

  static std::string name() { return "coordinates"; }
  static bool samples_anything(const structure&) noexcept { return true; }

  state initial(const structure& s, const random::stream& init) const {
    state x(static_cast<Eigen::Index>(s.n_atoms), 3);
    for (std::size_t k = 0; k < 3 * s.n_atoms; ++k) x(k / 3, k % 3) = init_std * init.normal(static_cast<std::uint32_t>(k));
    return x;
  }
  void check_start(const structure& s, const state& x, const std::string& caller, std::size_t sample) const {
    if (static_cast<std::size_t>(x.rows()) != s.n_atoms)
      throw shape_mismatch(caller + ": start conformer " + std::to_string(sample) + " has " +
                           std::to_string(x.rows()) + " atoms; its molecule has " + std::to_string(s.n_atoms));
  }
  static bool finite(const state& x) { return x.allFinite(); }
  bool valid(const state& x) const { return x.allFinite() && x.cwiseAbs().maxCoeff() <= max_coordinate; }
  /// E|s|^2 of the training kernel at @p sigma over the structure's network variables (sigma_shift reads it):
  /// the space's loss weight is 1 / E[s^2] per variable.
  double expected_score_square(const structure& s, double sigma) const {
    return static_cast<double>(space::noise_dim(s)) / space::loss_weight(sigma);
  }

  /// The network's input: the distances on the extended edges.
  template <class Scalar>
  void network_input(const structure& s, const state& x, Scalar* d) const {
    for (std::size_t k = 0; k < s.edges.size(); ++k)
      d[k] = static_cast<Scalar>((x.row(s.edges[k].i) - x.row(s.edges[k].j)).norm());
  }

  /// x <- x + drift * clip(chain_rule(pair_score)) + noise * z.
  template <class Scalar>
  void advance(const structure& s, state& x, const Scalar* pair_score, double drift, double noise,
               const random::stream& z, std::size_t step, workspace& score_xyz) const {
    const std::size_t N = s.n_atoms;
    score_xyz.resize(static_cast<Eigen::Index>(N), 3);
    distance_space::coordinate_score(s, x, pair_score, score_xyz);
    if (clip > 0)
      for (Eigen::Index i = 0; i < score_xyz.rows(); ++i) {
        const double nrm = score_xyz.row(i).norm();
        if (nrm > clip) score_xyz.row(i) *= clip / nrm;
      }
    for (std::size_t k = 0; k < 3 * N; ++k) {
      const double zk = noise > 0 ? z.normal(static_cast<std::uint32_t>(step * 3 * N + k)) : 0.0;
      x(k / 3, k % 3) += drift * score_xyz(k / 3, k % 3) + noise * zk;
    }
  }
};

static_assert(check_sampler_dynamics<coordinate_dynamics>());

}  // namespace confsgm::sample
