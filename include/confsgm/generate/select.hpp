// confsgm/generate/select.hpp: selection after oversampling. A run can generate
// K times the conformers it needs (a pool), refine them, and keep the requested
// number with a Selector:
//   - energy_selector: CREST-style, through data::select_ensemble: the lowest
//     energies within a window above the pool's minimum, duplicates (close in
//     energy and in symmetry-aware RMSD) removed;
//   - diverse_selector: farthest-point sampling on the symmetry-aware
//     heavy-atom RMSD, from the lowest-energy conformer (the first where there
//     are no energies), optionally inside an energy window.
// Both keep the requested count where the pool allows it: when the rule leaves
// fewer, the best of the rest (lowest energy, or farthest) fill up, and the
// report says how many. select_conformers() applies a selection in place; the
// result does not depend on the thread count.
#pragma once

#include "confsgm/data/ensemble_filter.hpp"
#include "confsgm/eval/rmsd_matrix.hpp"
#include "confsgm/rdkit/etkdg.hpp"

#include <algorithm>
#include <cmath>
#include <concepts>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace confsgm::generate {

/// What a selection kept from one molecule's pool.
struct selection {
  std::vector<std::size_t> kept;   ///< indices into the pool, in the order they were chosen
  std::size_t pool = 0;            ///< conformers chosen from
  std::size_t outside_window = 0;  ///< pool conformers above the energy window
  std::size_t duplicates = 0;      ///< pool conformers that duplicate a better one (energy rule)
  std::size_t filled = 0;          ///< kept although outside the window or duplicates, to reach the count: the last
                                   ///< `filled` entries of `kept`
};

/// A selector: select(molecule, pool, n, threads) chooses at most n conformers of the pool (thread-safe, and the
/// same choice for any thread count); name() is written in the SD records. A pool it cannot choose from (e.g.
/// the energy rule on conformers without energies) throws with the reason.
template <class S>
concept Selector = requires(const S& s, const rdkit::molecule& m, const rdkit::generated_conformers& g, std::size_t n,
                            unsigned threads) {
  { s.select(m, g, n, threads) } -> std::same_as<selection>;
  { s.name() } -> std::convertible_to<std::string>;
};

template <class S>
constexpr bool check_selector() {
  static_assert(requires(const S& s, const rdkit::molecule& m, const rdkit::generated_conformers& g, std::size_t n,
                         unsigned t) { s.select(m, g, n, t); },
                "Selector: needs a const member select(const rdkit::molecule&, const rdkit::generated_conformers&, "
                "std::size_t n, unsigned threads)");
  static_assert(requires(const S& s) { s.name(); }, "Selector: needs a const member name() (written in the SD records)");
  static_assert(Selector<S>, "Selector: select(...) must return generate::selection and name() a string");
  return true;
}

namespace detail {
/// Every pool conformer's energy (kcal/mol), or nothing when any is missing.
inline std::optional<std::vector<double>> pool_energies(const rdkit::generated_conformers& g) {
  std::vector<double> e;
  for (const auto& info : g.conformers.info) {
    if (!info.energy) return std::nullopt;
    e.push_back(*info.energy);
  }
  return e;
}
}  // namespace detail

/// The lowest energies within a window, duplicates removed (data::select_ensemble, CREST's defaults); the pool must
/// carry energies (refine it first).
class energy_selector {
 public:
  explicit energy_selector(data::ensemble_filter_options options = {}) : options_(options) {
    if (!(options.energy_window_kcal >= 0)) throw invalid_argument("energy_selector: the energy window must be >= 0 kcal/mol");
  }
  std::string name() const { return "energy"; }
  const data::ensemble_filter_options& options() const { return options_; }

  selection select(const rdkit::molecule& m, const rdkit::generated_conformers& g, std::size_t n,
                   unsigned /*threads: its RMSDs are few, within the energy threshold*/) const {
    selection s;
    s.pool = g.conformers.size();
    const auto energies = detail::pool_energies(g);
    if (!energies)
      throw invalid_argument("'" + m.id + "': energy selection needs an energy for every conformer; refine them first "
                             "(e.g. MMFF94) or select by diversity");
    const symmetric_rmsd metric(g.conformers.graph);
    const auto prepared = prepare_all(metric, g.conformers.conformers);
    const auto chosen = data::select_ensemble(
        *energies, [&](std::size_t a, std::size_t b) { return metric(prepared[a], prepared[b]); }, options_);
    s.outside_window = chosen.outside_window;
    s.duplicates = chosen.duplicates;
    s.kept.assign(chosen.kept.begin(), chosen.kept.begin() + static_cast<std::ptrdiff_t>(std::min(n, chosen.kept.size())));
    if (s.kept.size() < n) {  // fill up with the lowest energies the rule left out
      std::vector<char> taken(s.pool, 0);
      for (const auto c : chosen.kept) taken[c] = 1;
      for (const auto c : data::energy_order(*energies)) {
        if (s.kept.size() == n) break;
        if (taken[c]) continue;
        s.kept.push_back(c);
        ++s.filled;
      }
    }
    return s;
  }

 private:
  data::ensemble_filter_options options_;
};

/// Farthest-point sampling on the symmetry-aware heavy-atom RMSD: each pick is the conformer farthest from those
/// already kept (ties: the lower index). Starts from the lowest energy (or conformer 0 without energies). With an
/// energy window, conformers above it are taken only when the window holds fewer than n.
class diverse_selector {
 public:
  explicit diverse_selector(std::optional<double> energy_window_kcal = std::nullopt) : window_(energy_window_kcal) {
    if (window_ && !(*window_ >= 0)) throw invalid_argument("diverse_selector: the energy window must be >= 0 kcal/mol");
  }
  std::string name() const { return "diverse"; }
  const std::optional<double>& energy_window_kcal() const { return window_; }

  selection select(const rdkit::molecule& m, const rdkit::generated_conformers& g, std::size_t n, unsigned threads) const {
    selection s;
    s.pool = g.conformers.size();
    if (s.pool == 0 || n == 0) return s;
    const auto energies = detail::pool_energies(g);
    if (window_ && !energies)
      throw invalid_argument("'" + m.id + "': an energy window needs an energy for every conformer; refine them first "
                             "or select by diversity alone");
    std::vector<char> inside(s.pool, 1);
    std::size_t first = 0;
    if (energies) {
      first = data::energy_order(*energies).front();
      if (window_)
        for (std::size_t c = 0; c < s.pool; ++c)
          if ((*energies)[c] - (*energies)[first] > *window_) inside[c] = 0, ++s.outside_window;
    }
    const symmetric_rmsd metric(g.conformers.graph);
    const auto prepared = prepare_all(metric, g.conformers.conformers);
    constexpr double inf = std::numeric_limits<double>::infinity();
    std::vector<double> nearest(s.pool, inf);  // RMSD to the nearest kept conformer; -inf once kept
    for (std::size_t pick = first;;) {
      s.kept.push_back(pick);
      if (!inside[pick]) ++s.filled;
      nearest[pick] = -inf;
      if (s.kept.size() == std::min(n, s.pool)) break;
      parallel_for(s.pool, threads, [&](std::size_t c) {
        if (nearest[c] == -inf) return;
        const double r = metric(prepared[pick], prepared[c]);
        // A non-finite conformer is never "far": it is taken last.
        nearest[c] = std::isfinite(r) ? std::min(nearest[c], r) : std::min(nearest[c], -1.0);
      });
      // The farthest inside the window; outside it only when the window is exhausted.
      std::optional<std::size_t> best;
      for (int pass = 0; pass < 2 && !best; ++pass)
        for (std::size_t c = 0; c < s.pool; ++c)
          if (nearest[c] != -inf && (pass == 1 || inside[c]) && (!best || nearest[c] > nearest[*best])) best = c;
      pick = *best;
    }
    return s;
  }

 private:
  std::optional<double> window_;
};

static_assert(check_selector<energy_selector>());
static_assert(check_selector<diverse_selector>());

/// Keeps the conformers @p selector chooses among @p g's (at most @p n), in the order chosen; the rest are removed.
template <Selector S>
selection select_conformers(const S& selector, const rdkit::molecule& m, rdkit::generated_conformers& g, std::size_t n,
                            unsigned threads = 1) {
  auto s = selector.select(m, g, n, threads);
  auto out = ensemble<double>(g.conformers.id, g.conformers.graph);
  for (const auto c : s.kept) {
    if (c >= g.conformers.size())
      throw shape_mismatch("select_conformers(): " + selector.name() + " chose conformer " + std::to_string(c) + " of a pool of " +
                           std::to_string(g.conformers.size()));
    out.add(coordinates<double>(g.conformers.conformers[c]), g.conformers.info[c]);
  }
  g.conformers = std::move(out);
  g.embedded = g.conformers.size();
  return s;
}

}  // namespace confsgm::generate
