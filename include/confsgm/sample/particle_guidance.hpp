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
//
// The distance space (ConfGF's annealed Langevin on coordinates) takes the
// Langevin form of the same guidance: the joint target of the n conformers
// becomes p(x_1)...p(x_n) exp(-w r (E/n) sum_{i<j} k_ij), so each member's
// distance score gets
//     s_i <- s_i + w r repulsion_i,    noise unchanged (langevin_weight must be 1),
// with the kernel on the distances of the extended graph, per distance:
//     k_ij = exp(-|d_i - view*(d_j)|^2 / (E h))    (E distances, h in A^2 per distance),
//     repulsion_i = (1/n) sum_j (2/h) (d_i - view*(d_j)) k_ij = -grad_{d_i} (E/n) sum_j k_ij,
// before the chain rule turns distance scores into coordinate scores. The
// views are the edge permutations of the graph's automorphisms (distance_views;
// distances cannot tell mirror images apart, so those are one conformer too).
// Which space a setting is for is part of it (particle_guidance::space): the
// kernel sizes are radians^2 on the torus and A^2 per distance here.
#pragma once

#include "confsgm/core/conformer.hpp"
#include "confsgm/core/graph_match.hpp"
#include "confsgm/core/torsion.hpp"
#include "confsgm/error.hpp"
#include "confsgm/schedule/noise_schedule.hpp"
#include "confsgm/space/distance_space.hpp"
#include "confsgm/space/torsion_space.hpp"
#include "confsgm/space/torus.hpp"
#include "confsgm/util/parse.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
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
  /// The state space a setting is for: its kernel size is rad^2 on the torus, A^2 per distance in the distance
  /// space, so the samplers refuse a setting made for the other space.
  enum class space_kind { torsion, distance };

  bool enabled = false;
  log_interpolated weight{};            ///< w
  log_interpolated repulsive_weight{};  ///< r
  log_interpolated kernel_size{};       ///< h (rad^2 on the torus; A^2 per distance in the distance space)
  log_interpolated langevin_weight{};   ///< lw (the torus' reverse SDE; 1 in the distance space's Langevin form)
  bool invariant = true;                ///< symmetry-aware distance (false: plain distance)
  std::size_t max_views = 32;           ///< symmetric views per conformer at most (the paper: 32)
  space_kind space = space_kind::torsion;
  bool kernel_times_sigma2 = false;     ///< h = kernel_size sigma^2 (kernel_at)
  std::string name = "custom";          ///< the preset's name (preset()), for records

  bool active() const noexcept { return enabled; }
  static const char* space_name(space_kind k) noexcept { return k == space_kind::torsion ? "torsion" : "distance"; }
  void check() const {
    if (!active()) return;
    if (!weight.finite() || !repulsive_weight.finite() || !kernel_size.finite() || !langevin_weight.finite())
      throw invalid_argument("particle_guidance: every log10 parameter must be finite");
    if (max_views == 0) throw invalid_argument("particle_guidance: max_views must be >= 1");
  }
  /// check(), and that the setting was made for @p sampled (the sampler's state space); @p who names the sampler.
  void check_for(space_kind sampled, const std::string& who) const {
    check();
    if (!active()) return;
    if (space != sampled)
      throw invalid_argument(who + ": particle guidance '" + name + "' is set for the " + space_name(space) +
                             " space, and this sampler samples the " + space_name(sampled) +
                             " space (kernel sizes differ in meaning; presets: " + preset_list() + ")");
    if (sampled == space_kind::distance && (langevin_weight.log10_at_max != 0.0 || langevin_weight.log10_at_min != 0.0))
      throw invalid_argument(who + ": particle guidance in the distance space keeps the Langevin noise; its "
                             "langevin_weight must be 1 (log10 0 at both ends)");
  }

  /// The paper's settings for Torsional Diffusion on GEOM-Drugs (20 steps), tuned there for recall (COV-R,
  /// MAT-R) or precision, with the symmetry-aware kernel or without; starting points, to be chosen again on
  /// validation data for another model.
  static particle_guidance drugs_recall(bool invariant = true) {
    return invariant ? make(true, {-0.9255658381081596, 0.8004013644746992}, {-2.717482077162461, -2.158537381110402},
                            {1.1960868735428605, 1.7565691770646286}, {-2.403905082248579, -2.2245183818892103})
                     : make(false, {-1.15020, 0.60504}, {-2.68407, 1.01317}, {-0.78826, 2.35958}, {-2.70316, -1.55054});
  }
  static particle_guidance drugs_precision(bool invariant = true) {
    return invariant ? make(true, {-0.22001939454654185, 0.3495680598729498}, {-1.468234554877924, -2.0439285313973237},
                            {-0.7808409291022302, -0.9686202580381296}, {-0.2602238633333869, -2.434216242826782})
                     : make(false, {0.79355, -0.16253}, {-1.91253, -1.01222}, {1.45944, 1.29503}, {-2.47591, -2.88867});
  }
  /// The distance space's Langevin form with repulsive strength w r = @p strength at every level and kernel size
  /// h = @p kernel_per_sigma2 sigma^2 A^2 per distance: the kernel widens with the noise, so the repulsion acts
  /// where conformers still choose their shape and fades once their distances settle (differences >> sigma).
  static particle_guidance distance_langevin(double strength, double kernel_per_sigma2, bool invariant = true) {
    if (!(strength > 0) || !(kernel_per_sigma2 > 0) || !std::isfinite(strength) || !std::isfinite(kernel_per_sigma2))
      throw invalid_argument("particle_guidance::distance_langevin(): strength and kernel must be finite and > 0");
    const double c = std::log10(kernel_per_sigma2), r = std::log10(strength);
    auto g = make(invariant, {0.0, 0.0}, {r, r}, {c, c}, {0.0, 0.0});
    g.space = space_kind::distance;
    g.kernel_times_sigma2 = true;
    return g;
  }
  /// The kernel size h at @p level: kernel_size, times sigma^2 where kernel_times_sigma2.
  template <NoiseSchedule Schedule>
  double kernel_at(const Schedule& schedule, std::size_t level) const {
    const double h = kernel_size.at(schedule, level);
    return kernel_times_sigma2 ? h * schedule.sigma(level) * schedule.sigma(level) : h;
  }

  /// The names preset() knows, in one place: "none" (off); on the torus "recall", "precision" (drugs_recall,
  /// drugs_precision with the symmetry-aware kernel), "recall-plain", "precision-plain" (plain torus distance); in
  /// the distance space "distance:S:C" (distance_langevin(S, C)) and "distance-plain:S:C" (plain distance).
  static const std::vector<std::string>& preset_names() {
    static const std::vector<std::string> names{"none",           "recall",     "precision",         "recall-plain",
                                                "precision-plain", "distance:S:C", "distance-plain:S:C"};
    return names;
  }
  /// preset_names() for messages: "none, recall, ...".
  static std::string preset_list() {
    std::string out;
    for (const auto& n : preset_names()) out += (out.empty() ? "" : ", ") + n;
    return out;
  }
  /// The settings a name stands for (preset_names()); nothing for another name.
  static std::optional<particle_guidance> preset(const std::string& name) {
    if (name == "none") return particle_guidance{};
    std::optional<particle_guidance> g;
    if (name == "recall") g = drugs_recall(true);
    if (name == "precision") g = drugs_precision(true);
    if (name == "recall-plain") g = drugs_recall(false);
    if (name == "precision-plain") g = drugs_precision(false);
    for (const bool invariant : {true, false}) {
      const std::string head = invariant ? "distance:" : "distance-plain:";
      if (name.rfind(head, 0) != 0) continue;
      const auto rest = std::string_view(name).substr(head.size());
      const auto colon = rest.find(':');
      if (colon == std::string_view::npos) return std::nullopt;
      const auto strength = parse_finite_number(rest.substr(0, colon));
      const auto kernel = parse_finite_number(rest.substr(colon + 1));
      if (!strength || !kernel || !(*strength > 0) || !(*kernel > 0)) return std::nullopt;
      g = distance_langevin(*strength, *kernel, invariant);
    }
    if (g) g->name = name;
    return g;
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

/// The molecular graph of a structure (atoms labelled by element, the bonds among its edges typed): what the
/// symmetric views' automorphisms are searched on.
inline labelled_graph bond_graph(const std::vector<std::uint32_t>& atom_type, const std::vector<extended_edge>& edges) {
  labelled_graph g;
  for (const auto z : atom_type) g.add_vertex(atom_label(static_cast<std::uint8_t>(z), 0, 0));
  for (const auto& e : edges)
    if (e.hops == 1) g.add_edge(e.i, e.j, e.type);
  return g;
}

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

  /// The difference wrap(a[t] - view v of b at torsion t).
  double difference(const std::vector<double>& a, const std::vector<double>& b, std::size_t v, std::size_t t) const {
    return torus::wrap(a[t] - value(b, v, t));
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
    const labelled_graph g = bond_graph(s.atom_type, s.edges);
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

/// The symmetric views of a distance structure's distances: under an automorphism pi of the molecular graph the
/// distance on extended edge e = (i, j) becomes the distance on edge image[v][e] = (pi(i), pi(j)) (an automorphism
/// keeps hop counts, so the extended edges map onto themselves). View 0 is the identity; views are distinct edge
/// permutations, at most max_views, in the search's deterministic order from at most max_automorphisms.
struct distance_views {
  std::vector<std::vector<std::uint32_t>> image;

  std::size_t size() const noexcept { return image.size(); }
  /// The difference a[t] - (view v of b)[t].
  double difference(const std::vector<double>& a, const std::vector<double>& b, std::size_t v, std::size_t t) const {
    return a[t] - b[image[v][t]];
  }

  static distance_views identity(std::size_t distances) {
    distance_views w;
    w.image.emplace_back(distances);
    for (std::size_t e = 0; e < distances; ++e) w.image[0][e] = static_cast<std::uint32_t>(e);
    return w;
  }

  static distance_views of(const distance_structure& s, std::size_t max_views = 32,
                           std::size_t max_automorphisms = 4096) {
    const std::size_t E = s.edges.size();
    distance_views w = identity(E);
    if (E == 0 || max_views <= 1) return w;
    const labelled_graph g = bond_graph(s.atom_type, s.edges);
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> edge_at;
    for (std::size_t e = 0; e < E; ++e) edge_at[{s.edges[e].i, s.edges[e].j}] = static_cast<std::uint32_t>(e);
    std::set<std::vector<std::uint32_t>> seen{w.image[0]};
    const auto flat = automorphisms(g, max_automorphisms);
    const std::size_t n = s.n_atoms;
    for (std::size_t a = 0; a * n < flat.size() && w.size() < max_views; ++a) {
      const std::uint32_t* pi = flat.data() + a * n;
      std::vector<std::uint32_t> image(E);
      bool ok = true;
      for (std::size_t e = 0; e < E && ok; ++e) {
        const auto i = pi[s.edges[e].i], j = pi[s.edges[e].j];
        const auto hit = edge_at.find({std::min(i, j), std::max(i, j)});
        ok = hit != edge_at.end();  // always, for an automorphism; kept safe all the same
        if (ok) image[e] = hit->second;
      }
      if (ok && seen.insert(image).second) w.image.push_back(std::move(image));
    }
    return w;
  }
};

/// The view of @p views_j that brings b closest to a (the first of equal ones), and the squared norm of the
/// difference a - view(b) under it. Views: torsion_views or distance_views.
template <class Views>
std::pair<std::size_t, double> closest_view(const std::vector<double>& a, const std::vector<double>& b,
                                            const Views& views_j) {
  const std::size_t T = a.size();
  double best = std::numeric_limits<double>::infinity();
  std::size_t best_view = 0;
  for (std::size_t v = 0; v < views_j.size(); ++v) {
    double sq = 0;
    for (std::size_t t = 0; t < T && sq < best; ++t) {
      const double x = views_j.difference(a, b, v, t);
      sq += x * x;
    }
    if (sq < best) best = sq, best_view = v;
  }
  return {best_view, best};
}

/// The difference d = a - view(b) under the view of @p views_j closest to a (closest_view), and its squared norm.
template <class Views>
double closest_difference(const std::vector<double>& a, const std::vector<double>& b, const Views& views_j,
                          std::vector<double>& d) {
  const auto [view, square] = closest_view(a, b, views_j);
  d.resize(a.size());
  for (std::size_t t = 0; t < a.size(); ++t) d[t] = views_j.difference(a, b, view, t);
  return square;
}

/// The kernel potential of particle @p i among @p particles (each with its views): (per/n) sum_j
/// exp(-|d_ij|^2 / (per h)); per = 1 on the torus, the number of distances in the distance space (the kernel
/// per distance). repulsion() is minus its gradient in particle i.
template <class Views>
double kernel_potential(std::size_t i, const std::vector<const std::vector<double>*>& particles,
                        const std::vector<const Views*>& views, double h, double per = 1.0) {
  std::vector<double> d;
  double phi = 0;
  for (std::size_t j = 0; j < particles.size(); ++j)
    phi += std::exp(-closest_difference(*particles[i], *particles[j], *views[j], d) / (per * h));
  return per * phi / static_cast<double>(particles.size());
}

/// repulsion_i = (1/n) sum_{j != i} (2/h) d_ij exp(-|d_ij|^2 / (per h)) for every particle, into @p out[i], with
/// d_ij under view @p view[i * n + j] of particle j (the closest ones, closest_view, or ones kept from an earlier
/// step). @p d is scratch.
template <class Views>
void repulsion_with_views(const std::vector<const std::vector<double>*>& particles,
                          const std::vector<const Views*>& views, const std::vector<std::size_t>& view, double h,
                          double per, std::vector<std::vector<double>>& out, std::vector<double>& d) {
  const std::size_t n = particles.size();
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& a = *particles[i];
    out[i].assign(a.size(), 0.0);
    d.resize(a.size());
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i) continue;  // d_ii = 0 through the identity view
      double square = 0;
      for (std::size_t t = 0; t < a.size(); ++t) {
        d[t] = views[j]->difference(a, *particles[j], view[i * n + j], t);
        square += d[t] * d[t];
      }
      const double k = std::exp(-square / (per * h));
      for (std::size_t t = 0; t < a.size(); ++t) out[i][t] += 2.0 / h * d[t] * k;
    }
    for (double& v : out[i]) v /= static_cast<double>(n);
  }
}

/// The closest views of every ordered pair (i, j), i != j, into @p view[i * n + j] (0 on the diagonal).
template <class Views>
void closest_views(const std::vector<const std::vector<double>*>& particles, const std::vector<const Views*>& views,
                   std::vector<std::size_t>& view) {
  const std::size_t n = particles.size();
  view.assign(n * n, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      if (j != i) view[i * n + j] = closest_view(*particles[i], *particles[j], *views[j]).first;
}

/// repulsion_with_views under the closest views of this state; minus the gradient of kernel_potential.
template <class Views>
void repulsion(const std::vector<const std::vector<double>*>& particles, const std::vector<const Views*>& views,
               double h, std::vector<std::vector<double>>& out, double per = 1.0) {
  std::vector<std::size_t> view;
  std::vector<double> d;
  closest_views(particles, views, view);
  repulsion_with_views(particles, views, view, h, per, out, d);
}

/// Members of one network batch in particle sets (the conformers of one molecule), in member order; buffers kept
/// from step to step.
template <class Key>
struct particle_sets {
  std::vector<Key> keys;
  std::vector<std::vector<std::size_t>> members;
  std::size_t count = 0;

  /// Regroups members 0 .. n-1 by key_of(m) (equal keys: one set, in order of first appearance).
  template <class KeyOf>
  void group(std::size_t n, KeyOf key_of) {
    count = 0;
    for (std::size_t m = 0; m < n; ++m) {
      const Key key = key_of(m);
      std::size_t s = 0;
      while (s < count && !(keys[s] == key)) ++s;
      if (s == count) {
        if (count == keys.size()) keys.push_back(key), members.emplace_back();
        keys[count] = key;
        members[count].clear();
        ++count;
      }
      members[s].push_back(m);
    }
  }
};

/// Particle guidance as an interaction of the annealed sampler (annealed_sample_interacting) on the torus: at
/// each predictor step of the reverse SDE the scores of the particles (members of one network batch with the same
/// molecule name and torsion count) are replaced by (1/2 + lw/2 + w) s + w r repulsion and their noise scaled
/// by lw.
struct torus_particle_guidance {
  particle_guidance settings;

  /// Per network batch: the views of each structure met so far, and buffers kept from step to step.
  struct workspace {
    std::map<const torsion_structure*, torsion_views> views;
    particle_sets<std::pair<std::string_view, std::size_t>> sets;
    std::vector<const std::vector<double>*> particles;
    std::vector<const torsion_views*> particle_views;
    std::vector<std::size_t> closest;
    std::vector<std::vector<double>> push;
    std::vector<double> d;
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
    const double h = settings.kernel_at(schedule, level), lw = settings.langevin_weight.at(schedule, level);
    // Particle sets: members of one molecule (name and torsion count), in member order.
    w.sets.group(structures.size(), [&](std::size_t m) {
      return std::pair<std::string_view, std::size_t>{structures[m]->name, structures[m]->torsions.size()};
    });
    for (std::size_t set = 0; set < w.sets.count; ++set) {
      const auto& members = w.sets.members[set];
      w.particles.clear();
      w.particle_views.clear();
      for (const auto m : members) {
        auto it = w.views.find(structures[m]);
        if (it == w.views.end())
          it = w.views
                   .emplace(structures[m], settings.invariant
                                               ? torsion_views::of(*structures[m], settings.max_views)
                                               : torsion_views::identity(structures[m]->torsions.size()))
                   .first;
        w.particles.push_back(states[m]);
        w.particle_views.push_back(&it->second);
      }
      closest_views(w.particles, w.particle_views, w.closest);
      repulsion_with_views(w.particles, w.particle_views, w.closest, h, 1.0, w.push, w.d);
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

/// Particle guidance as an interaction of the annealed sampler in the distance space (coordinate_dynamics), in
/// its Langevin form (see the file comment): the particles are the members of one network batch with the same
/// structure (the conformers of one molecule); each member's distance scores get w r repulsion added, its noise
/// is kept. The closest symmetric views of each pair are chosen at a level's first predictor step and kept for
/// the level's other steps (a level has ~100 small steps; the search costs n^2 views x distances).
struct coordinate_particle_guidance {
  particle_guidance settings;

  struct workspace {
    std::map<const distance_structure*, distance_views> views;
    particle_sets<const distance_structure*> sets;
    std::vector<std::vector<double>> distances;  ///< per member
    std::vector<const std::vector<double>*> particles;
    std::vector<const distance_views*> particle_views;
    /// Per set: the structure, level and member count its closest views were chosen for, and those views.
    std::vector<const distance_structure*> chosen_for;
    std::vector<std::size_t> chosen_level, chosen_count;
    std::vector<std::vector<std::size_t>> closest;
    std::vector<std::vector<double>> push;
    std::vector<double> d;
  };

  explicit coordinate_particle_guidance(particle_guidance s) : settings(std::move(s)) {
    settings.check_for(particle_guidance::space_kind::distance, "coordinate_particle_guidance");
  }

  template <NoiseSchedule Schedule>
  bool active(const Schedule&, std::size_t) const noexcept {
    return settings.active();
  }

  template <class Scalar, NoiseSchedule Schedule>
  void apply(const Schedule& schedule, std::size_t level, const std::vector<const distance_structure*>& structures,
             const std::vector<const coordinates<double>*>& states, Scalar* score,
             const std::vector<std::size_t>& offset, std::vector<double>&, workspace& w) const {
    const double strength = settings.weight.at(schedule, level) * settings.repulsive_weight.at(schedule, level);
    const double h = settings.kernel_at(schedule, level);
    const std::size_t n = structures.size();
    w.distances.resize(std::max(w.distances.size(), n));
    for (std::size_t m = 0; m < n; ++m) {
      w.distances[m].resize(structures[m]->edges.size());
      distance_space::distances(*structures[m], *states[m], w.distances[m].data());
    }
    w.sets.group(n, [&](std::size_t m) { return structures[m]; });
    if (w.chosen_for.size() < w.sets.count) {
      w.chosen_for.resize(w.sets.count, nullptr);
      w.chosen_level.resize(w.sets.count, 0);
      w.chosen_count.resize(w.sets.count, 0);
      w.closest.resize(w.sets.count);
    }
    for (std::size_t set = 0; set < w.sets.count; ++set) {
      const auto& members = w.sets.members[set];
      const auto* s = w.sets.keys[set];
      auto it = w.views.find(s);
      if (it == w.views.end())
        it = w.views
                 .emplace(s, settings.invariant ? distance_views::of(*s, settings.max_views)
                                                : distance_views::identity(s->edges.size()))
                 .first;
      w.particles.clear();
      w.particle_views.clear();
      for (const auto m : members) w.particles.push_back(&w.distances[m]), w.particle_views.push_back(&it->second);
      // The views are chosen again at a new level, or when the set changed (a member left, or another molecule).
      if (w.chosen_for[set] != s || w.chosen_level[set] != level || w.chosen_count[set] != members.size()) {
        closest_views(w.particles, w.particle_views, w.closest[set]);
        w.chosen_for[set] = s;
        w.chosen_level[set] = level;
        w.chosen_count[set] = members.size();
      }
      const double per = static_cast<double>(s->edges.size());
      repulsion_with_views(w.particles, w.particle_views, w.closest[set], h, per, w.push, w.d);
      for (std::size_t q = 0; q < members.size(); ++q) {
        const auto m = members[q];
        for (std::size_t v = offset[m]; v < offset[m + 1]; ++v)
          score[v] = static_cast<Scalar>(static_cast<double>(score[v]) + strength * w.push[q][v - offset[m]]);
      }
    }
  }
};

}  // namespace confsgm::sample
