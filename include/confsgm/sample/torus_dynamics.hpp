// confsgm/sample/torus_dynamics.hpp: how the torsion space is sampled
// (Torsional Diffusion): the state is one dihedral per rotatable bond of a
// fixed local structure; the network scores the dihedrals directly; every
// update is wrapped to [-pi, pi). The prior is uniform on the torus. A
// molecule without rotatable bonds has nothing to sample and is returned as
// given. A non-finite angle is divergence.
#pragma once

#include "confsgm/model/torsion_score_network.hpp"
#include "confsgm/random/philox.hpp"
#include "confsgm/sample/annealed_sampler.hpp"
#include "confsgm/space/torsion_space.hpp"
#include "confsgm/space/torus.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace confsgm::sample {

struct torus_dynamics {
  using space = torsion_space;
  using structure = torsion_structure;
  using state = std::vector<double>;
  using batch = model::torsion_batch;
  struct workspace {};

  static std::string name() { return "torus"; }
  static bool samples_anything(const structure& s) noexcept { return !s.torsions.empty(); }

  /// Uniform on [-pi, pi) per torsion, drawn from @p init keyed by the torsion index.
  state initial(const structure& s, const random::stream& init) const {
    state theta(s.torsions.size());
    for (std::size_t t = 0; t < theta.size(); ++t)
      theta[t] = torus::two_pi * init.uniform(static_cast<std::uint32_t>(t)) - torus::pi;
    return theta;
  }
  void check_start(const structure& s, const state& theta, const std::string& caller, std::size_t sample) const {
    if (theta.size() != s.torsions.size())
      throw shape_mismatch(caller + ": start state " + std::to_string(sample) + " has " +
                           std::to_string(theta.size()) + " angles, '" + s.name + "' has " +
                           std::to_string(s.torsions.size()) + " torsions");
  }
  static bool finite(const state& theta) {
    for (const double v : theta)
      if (!std::isfinite(v)) return false;
    return true;
  }
  bool valid(const state& theta) const { return finite(theta); }
  /// E|s|^2 of the training kernel at @p sigma over the structure's network variables (sigma_shift reads it):
  /// the space's loss weight is 1 / E[s^2] per variable.
  double expected_score_square(const structure& s, double sigma) const {
    return static_cast<double>(space::noise_dim(s)) / space::loss_weight(sigma);
  }

  template <class Scalar>
  void network_input(const structure&, const state& theta, Scalar* out) const {
    for (std::size_t t = 0; t < theta.size(); ++t) out[t] = static_cast<Scalar>(theta[t]);
  }

  /// theta <- wrap(theta + drift * score + noise * z).
  template <class Scalar>
  void advance(const structure&, state& theta, const Scalar* score, double drift, double noise,
               const random::stream& z, std::size_t step, workspace&) const {
    const std::size_t T = theta.size();
    for (std::size_t t = 0; t < T; ++t) {
      const double zt = noise > 0 ? z.normal(static_cast<std::uint32_t>(step * T + t)) : 0.0;
      theta[t] = torus::wrap(theta[t] + drift * static_cast<double>(score[t]) + noise * zt);
    }
  }
};

static_assert(check_sampler_dynamics<torus_dynamics>());

}  // namespace confsgm::sample
