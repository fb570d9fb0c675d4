// confsgm/sample/particle_guidance.hpp: particle guidance on the torus (Corso
// et al., ICLR 2024, "Particle Guidance: non-I.I.D. diverse sampling with
// diffusion models"): the conformers of one molecule are sampled jointly, and a
// repulsion between them, the gradient of a kernel on the distance between
// their dihedrals, pushes them apart, so that a fixed number of conformers
// covers more of the ensemble.
//
// The kernel and its schedules follow the paper's Torsional Diffusion runs.
// For particles i, j (the conformers of one molecule in one network batch, n of
// them) with dihedrals theta_i, theta_j:
//     d_ij = wrap(theta_i - view*(theta_j)),   k_ij = exp(-|d_ij|^2 / h),
//     repulsion_i = (1/n) sum_j (2/h) d_ij k_ij = -grad_{theta_i} (1/n) sum_j k_ij,
// where view*(theta_j) is theta_j seen through the molecule's symmetry that
// brings it closest to theta_i (the symmetry-aware distance: a methyl turned
// by 120 degrees or a phenyl ring flipped is the same conformer; see
// torsion_views), or theta_j itself without symmetry. The reverse-SDE step
// becomes, with g^2 dt and g sqrt(dt) the sampler's drift and noise:
//     dtheta = g^2 dt [(1/2 + lw/2 + w) s + w r repulsion] + lw g sqrt(dt) z,
// i.e. half the probability-flow drift, a Langevin part weighted lw, and the
// guided drift weighted w. Each of w (weight), r (repulsive weight), h (kernel
// size, rad^2) and lw (Langevin weight) is interpolated in log10 between its
// value at sigma_max and at sigma_min (log_interpolated), as in the paper,
// whose tuned values for GEOM-Drugs are the presets below. Particle guidance
// that is not enabled leaves the sampler bit for bit as it was.
#pragma once

#include "confsgm/core/graph_match.hpp"
#include "confsgm/core/torsion.hpp"
#include "confsgm/error.hpp"
#include "confsgm/schedule/noise_schedule.hpp"
#include "confsgm/space/torsion_space.hpp"
#include "confsgm/space/torus.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace confsgm::sample {

/// A parameter of a level, interpolated in log10: value = 10^(log10_at_min t + log10_at_max (1 - t)),
/// t = level / L (0 at sigma_max; the parametrisation of Corso et al.).
struct log_interpolated {
  double log10_at_max = 0.0;
  double log10_at_min = 0.0;

  template <NoiseSchedule Schedule>
  double at(const Schedule& schedule, std::size_t level) const {
    const double t = static_cast<double>(level) / static_cast<double>(schedule.size());
    return std::pow(10.0, log10_at_min * t + log10_at_max * (1.0 - t));
  }
  bool finite() const noexcept { return std::isfinite(log10_at_max) && std::isfinite(log10_at_min); }
};

/// The settings of particle guidance (see the file comment); default: off.
struct particle_guidance {
  bool enabled = false;
  log_interpolated weight{};            ///< w
  log_interpolated repulsive_weight{};  ///< r
  log_interpolated kernel_size{};       ///< h (rad^2)
  log_interpolated langevin_weight{};   ///< lw
  bool invariant = true;                ///< symmetry-aware distance (false: plain torus distance)
  std::size_t max_views = 32;           ///< symmetric views per conformer at most (the paper: 32)
  std::string name = "custom";          ///< the preset's name (preset()), for records

  bool active() const noexcept { return enabled; }
  void check() const {
    if (!active()) return;
    if (!weight.finite() || !repulsive_weight.finite() || !kernel_size.finite() || !langevin_weight.finite())
      throw invalid_argument("particle_guidance: every log10 parameter must be finite");
    if (max_views == 0) throw invalid_argument("particle_guidance: max_views must be >= 1");
  }

  /// The paper's settings for Torsional Diffusion on GEOM-Drugs (20 steps), tuned there for recall (COV-R,
  /// MAT-R) or precision, with the symmetry-aware kernel or without; starting points, to be chosen again on
  /// validation data for another model.
  static particle_guidance drugs_recall(bool invariant = true) {
    return invariant ? make(true, {-0.9255658381081596, 0.8004013644746992}, {-2.717482077162461, -2.158537381110402},
                            {1.1960868735428605, 1.7565691770646286}, {-2.403905082248579, -2.2245183818892103})
                     : make(false, {-1.15020, 0.60504}, {-2.68407, 1.01317}, {-0.78826, 2.35958}, {-2.70316, -1.55054});
  }
  /// The settings a name stands for: "none" (off), "recall", "precision" (drugs_recall/drugs_precision with the
  /// symmetry-aware kernel), "recall-plain", "precision-plain" (plain torus distance); nothing for another name.
  static std::optional<particle_guidance> preset(const std::string& name) {
    if (name == "none") return particle_guidance{};
    std::optional<particle_guidance> g;
    if (name == "recall") g = drugs_recall(true);
    if (name == "precision") g = drugs_precision(true);
    if (name == "recall-plain") g = drugs_recall(false);
    if (name == "precision-plain") g = drugs_precision(false);
    if (g) g->name = name;
    return g;
  }
  static particle_guidance drugs_precision(bool invariant = true) {
    return invariant ? make(true, {-0.22001939454654185, 0.3495680598729498}, {-1.468234554877924, -2.0439285313973237},
                            {-0.7808409291022302, -0.9686202580381296}, {-0.2602238633333869, -2.434216242826782})
                     : make(false, {0.79355, -0.16253}, {-1.91253, -1.01222}, {1.45944, 1.29503}, {-2.47591, -2.88867});
  }

 private:
  static particle_guidance make(bool invariant, log_interpolated w, log_interpolated r, log_interpolated h,
                                log_interpolated lw) {
    particle_guidance g;
    g.enabled = true;
    g.weight = w;
    g.repulsive_weight = r;
    g.kernel_size = h;
    g.langevin_weight = lw;
    g.invariant = invariant;
    return g;
  }
};

/// The symmetric views of a torsion structure's dihedrals: under a symmetry of the molecular graph (an
/// automorphism pi), the dihedral of torsion t's atoms relabelled by pi is the dihedral of torsion
/// image[v][t] plus a constant offset[v][t] (the geometry of the two reference atoms; taken from the local
/// structure). View 0 is the identity. Views are distinct (image, offset to 1e-3 rad) and at most max_views,
/// taken in the search's deterministic order from at most max_automorphisms automorphisms.
struct torsion_views {
  std::vector<std::vector<std::uint32_t>> image;
  std::vector<std::vector<double>> offset;

  std::size_t size() const noexcept { return image.size(); }
  /// theta seen through view @p v, torsion @p t.
  double value(const std::vector<double>& theta, std::size_t v, std::size_t t) const {
    return theta[image[v][t]] + offset[v][t];
  }

  static torsion_views identity(std::size_t torsions) {
    torsion_views w;
    w.image.emplace_back(torsions);
    for (std::size_t t = 0; t < torsions; ++t) w.image[0][t] = static_cast<std::uint32_t>(t);
    w.offset.emplace_back(torsions, 0.0);
    return w;
  }

  static torsion_views of(const torsion_structure& s, std::size_t max_views = 32, std::size_t max_automorphisms = 4096) {
    const std::size_t T = s.torsions.size();
    torsion_views w = identity(T);
    if (T == 0 || max_views <= 1) return w;
    labelled_graph g;
    for (const auto z : s.atom_type) g.add_vertex(atom_label(static_cast<std::uint8_t>(z), 0, 0));
    for (const auto& e : s.edges)
      if (e.hops == 1) g.add_edge(e.i, e.j, e.type);
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> torsion_at;  // bond (low, high) -> torsion
    for (std::size_t t = 0; t < T; ++t) {
      const auto& b = s.torsions[t];
      torsion_at[{std::min(b.fixed, b.moving), std::max(b.fixed, b.moving)}] = static_cast<std::uint32_t>(t);
    }
    std::set<std::vector<long long>> seen;
    const auto key_of = [&](const std::vector<std::uint32_t>& image, const std::vector<double>& offset) {
      std::vector<long long> k(image.begin(), image.end());
      for (const double o : offset) k.push_back(std::llround(torus::wrap(o) * 1000.0));
      return k;
    };
    seen.insert(key_of(w.image[0], w.offset[0]));
    const auto flat = automorphisms(g, max_automorphisms);
    const std::size_t n = s.n_atoms;
    for (std::size_t a = 0; a * n < flat.size() && w.size() < max_views; ++a) {
      const std::uint32_t* pi = flat.data() + a * n;
      std::vector<std::uint32_t> image(T);
      std::vector<double> offset(T);
      bool ok = true;
      for (std::size_t t = 0; t < T && ok; ++t) {
        const auto& b = s.torsions[t];
        const auto f = pi[b.fixed], m = pi[b.moving];
        const auto hit = torsion_at.find({std::min(f, m), std::max(f, m)});
        if (hit == torsion_at.end()) {
          ok = false;  // a symmetry maps rotatable bonds onto rotatable bonds; kept safe all the same
          break;
        }
        image[t] = hit->second;
        offset[t] = torus::wrap(dihedral(s.local, pi[b.fixed_ref], f, m, pi[b.moving_ref]) - s.local_torsions[hit->second]);
      }
      if (ok && seen.insert(key_of(image, offset)).second) {
        w.image.push_back(std::move(image));
        w.offset.push_back(std::move(offset));
      }
    }
    return w;
  }
};

/// The difference d = wrap(theta_i - view(theta_j)) under the view of @p views_j closest to theta_i (the first
/// of equal ones), and its squared norm.
inline double closest_difference(const std::vector<double>& theta_i, const std::vector<double>& theta_j,
                                 const torsion_views& views_j, std::vector<double>& d) {
  const std::size_t T = theta_i.size();
  d.assign(T, 0.0);
  double best = std::numeric_limits<double>::infinity();
  std::size_t best_view = 0;
  for (std::size_t v = 0; v < views_j.size(); ++v) {
    double sq = 0;
    for (std::size_t t = 0; t < T && sq < best; ++t) {
      const double x = torus::wrap(theta_i[t] - views_j.value(theta_j, v, t));
      sq += x * x;
    }
    if (sq < best) best = sq, best_view = v;
  }
  for (std::size_t t = 0; t < T; ++t) d[t] = torus::wrap(theta_i[t] - views_j.value(theta_j, best_view, t));
  return best;
}

/// The kernel potential of particle @p i among @p particles (their dihedrals, each with its views):
/// (1/n) sum_j exp(-|d_ij|^2 / h). repulsion() is minus its gradient in theta_i.
inline double kernel_potential(std::size_t i, const std::vector<const std::vector<double>*>& particles,
                               const std::vector<const torsion_views*>& views, double h) {
  std::vector<double> d;
  double phi = 0;
  for (std::size_t j = 0; j < particles.size(); ++j)
    phi += std::exp(-closest_difference(*particles[i], *particles[j], *views[j], d) / h);
  return phi / static_cast<double>(particles.size());
}

/// repulsion_i = (1/n) sum_j (2/h) d_ij k_ij for every particle (see the file comment), into @p out[i].
inline void repulsion(const std::vector<const std::vector<double>*>& particles,
                      const std::vector<const torsion_views*>& views, double h, std::vector<std::vector<double>>& out) {
  const std::size_t n = particles.size();
  out.assign(n, {});
  std::vector<double> d;
  for (std::size_t i = 0; i < n; ++i) {
    out[i].assign(particles[i]->size(), 0.0);
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i) continue;  // d_ii = 0 through the identity view
      const double k = std::exp(-closest_difference(*particles[i], *particles[j], *views[j], d) / h);
      for (std::size_t t = 0; t < d.size(); ++t) out[i][t] += 2.0 / h * d[t] * k;
    }
    for (double& v : out[i]) v /= static_cast<double>(n);
  }
}

/// Particle guidance as an interaction of the annealed sampler (annealed_sample_interacting): at each
/// predictor step of the reverse SDE the scores of the particles (members of one network batch with the same
/// molecule name and torsion count) are replaced by (1/2 + lw/2 + w) s + w r repulsion and their noise scaled
/// by lw.
struct torus_particle_guidance {
  particle_guidance settings;

  /// Per network batch: the views of each structure met so far.
  struct workspace {
    std::map<const torsion_structure*, torsion_views> views;
    std::vector<std::vector<double>> push;
  };

  template <NoiseSchedule Schedule>
  bool active(const Schedule&, std::size_t) const noexcept {
    return settings.active();
  }

  template <class Scalar, NoiseSchedule Schedule>
  void apply(const Schedule& schedule, std::size_t level, const std::vector<const torsion_structure*>& structures,
             const std::vector<const std::vector<double>*>& states, Scalar* score,
             const std::vector<std::size_t>& offset, std::vector<double>& noise_factor, workspace& w) const {
    const double weight = settings.weight.at(schedule, level), r = settings.repulsive_weight.at(schedule, level);
    const double h = settings.kernel_size.at(schedule, level), lw = settings.langevin_weight.at(schedule, level);
    const std::size_t n = structures.size();
    // Particle sets: members of one molecule (name and torsion count), in member order.
    std::map<std::pair<std::string, std::size_t>, std::vector<std::size_t>> sets;
    for (std::size_t m = 0; m < n; ++m) sets[{structures[m]->name, structures[m]->torsions.size()}].push_back(m);
    for (const auto& [key, members] : sets) {
      std::vector<const std::vector<double>*> particles;
      std::vector<const torsion_views*> views;
      for (const auto m : members) {
        auto it = w.views.find(structures[m]);
        if (it == w.views.end())
          it = w.views
                   .emplace(structures[m], settings.invariant
                                               ? torsion_views::of(*structures[m], settings.max_views)
                                               : torsion_views::identity(structures[m]->torsions.size()))
                   .first;
        particles.push_back(states[m]);
        views.push_back(&it->second);
      }
      repulsion(particles, views, h, w.push);
      for (std::size_t q = 0; q < members.size(); ++q) {
        const auto m = members[q];
        for (std::size_t v = offset[m]; v < offset[m + 1]; ++v) {
          const double s = static_cast<double>(score[v]);
          score[v] = static_cast<Scalar>((0.5 + 0.5 * lw + weight) * s + weight * r * w.push[q][v - offset[m]]);
        }
        noise_factor[m] = lw;
      }
    }
  }
};

}  // namespace confsgm::sample
