// confsgm/core/graph_match.hpp: label-preserving graph isomorphisms and
// automorphisms for molecular graphs. Used once per molecule by the
// symmetry-aware RMSD (so a pair costs only superpositions), and to map the
// atoms of a file whose atom order differs from the reference.
//
// Method: colour refinement (1-dimensional Weisfeiler-Leman over vertex and
// edge labels) on the disjoint union of both graphs gives colours that every
// isomorphism preserves; a depth-first search then extends partial maps in
// breadth-first atom order, so each new atom is a neighbour of a mapped one and
// has few candidates.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <vector>

#include "confsgm/core/molecule.hpp"

namespace confsgm {

/// Vertex label of an atom for symmetry and constitution matching: element,
/// isotope and formal charge (as RDKit's atom matching compares them).
constexpr std::uint64_t atom_label(std::uint8_t atomic_number, std::uint16_t isotope, int formal_charge) noexcept {
  return (static_cast<std::uint64_t>(atomic_number) << 32) | (static_cast<std::uint64_t>(isotope) << 8) |
         static_cast<std::uint8_t>(static_cast<std::int8_t>(formal_charge));
}

/// A graph with integer vertex and edge labels; isomorphisms must preserve both.
struct labelled_graph {
  struct arc {
    std::uint32_t to;
    std::uint32_t label;
  };
  std::vector<std::uint64_t> vertex_label;
  std::vector<std::vector<arc>> adjacency;

  std::size_t size() const noexcept { return vertex_label.size(); }
  void add_vertex(std::uint64_t label) {
    vertex_label.push_back(label);
    adjacency.emplace_back();
  }
  void add_edge(std::uint32_t a, std::uint32_t b, std::uint32_t label) {
    adjacency[a].push_back({b, label});
    adjacency[b].push_back({a, label});
  }
  std::optional<std::uint32_t> edge_label(std::uint32_t a, std::uint32_t b) const {
    for (const auto& e : adjacency[a])
      if (e.to == b) return e.label;
    return std::nullopt;
  }
};

struct match_search_result {
  std::size_t found = 0;
  bool truncated = false;  ///< more than max_matches exist; only the first max_matches were reported
};

namespace detail {

/// Stable colours of the vertices of a and b (b's ids offset by a.size()).
inline std::vector<std::uint32_t> refine_colours(const labelled_graph& a, const labelled_graph& b) {
  const std::size_t na = a.size(), n = na + b.size();
  auto vertex = [&](std::size_t v) -> const labelled_graph& { return v < na ? a : b; };
  auto local = [&](std::size_t v) { return v < na ? v : v - na; };
  auto offset = [&](std::size_t v) { return v < na ? std::size_t{0} : na; };

  std::vector<std::uint32_t> colour(n);
  {
    std::map<std::uint64_t, std::uint32_t> rank;
    for (std::size_t v = 0; v < n; ++v) rank.emplace(vertex(v).vertex_label[local(v)], 0);
    std::uint32_t r = 0;
    for (auto& [k, val] : rank) val = r++;
    for (std::size_t v = 0; v < n; ++v) colour[v] = rank[vertex(v).vertex_label[local(v)]];
  }
  std::size_t classes = 0;
  std::vector<std::vector<std::uint64_t>> signature(n);
  for (;;) {
    for (std::size_t v = 0; v < n; ++v) {
      auto& sig = signature[v];
      sig.clear();
      sig.push_back(colour[v]);
      for (const auto& e : vertex(v).adjacency[local(v)])
        sig.push_back((static_cast<std::uint64_t>(e.label) << 32) | colour[e.to + offset(v)]);
      std::sort(sig.begin() + 1, sig.end());
    }
    std::map<std::vector<std::uint64_t>, std::uint32_t> rank;
    for (std::size_t v = 0; v < n; ++v) rank.emplace(signature[v], 0);
    std::uint32_t r = 0;
    for (auto& [k, val] : rank) val = r++;
    for (std::size_t v = 0; v < n; ++v) colour[v] = rank[signature[v]];
    if (rank.size() == classes) break;  // refinement only splits classes: same count = stable
    classes = rank.size();
  }
  return colour;
}

}  // namespace detail

/// Calls @p on_match(map) for every label-preserving isomorphism from @p a onto
/// @p b (map[i] = vertex of b matched to vertex i of a), at most @p max_matches
/// times. `on_match` may return false to stop early.
inline match_search_result for_each_isomorphism(
    const labelled_graph& a, const labelled_graph& b,
    const std::function<bool(const std::vector<std::uint32_t>&)>& on_match,
    std::size_t max_matches = 1'000'000) {
  match_search_result result;
  const std::size_t n = a.size();
  if (n != b.size()) return result;
  if (n == 0) {
    result.found = 1;
    on_match({});
    return result;
  }
  const auto colour = detail::refine_colours(a, b);
  // Colour classes must have equal sizes in a and b, or no isomorphism exists.
  {
    std::vector<std::int64_t> balance(*std::max_element(colour.begin(), colour.end()) + 1, 0);
    for (std::size_t v = 0; v < n; ++v) {
      ++balance[colour[v]];
      --balance[colour[v + n]];
    }
    if (std::any_of(balance.begin(), balance.end(), [](auto x) { return x != 0; })) return result;
  }
  std::vector<std::uint32_t> class_size(colour.size(), 0);
  for (std::size_t v = 0; v < n; ++v) ++class_size[colour[v]];

  // Search order: start each connected component at its most constrained vertex,
  // then breadth-first so every later vertex has an already-placed parent.
  std::vector<std::uint32_t> order;
  std::vector<std::int64_t> parent(n, -1);
  std::vector<char> placed(n, 0);
  order.reserve(n);
  while (order.size() < n) {
    std::uint32_t start = 0;
    bool have = false;
    for (std::uint32_t v = 0; v < n; ++v)
      if (!placed[v] && (!have || class_size[colour[v]] < class_size[colour[start]])) {
        start = v;
        have = true;
      }
    placed[start] = 1;
    std::size_t head = order.size();
    order.push_back(start);
    while (head < order.size()) {
      const auto v = order[head++];
      for (const auto& e : a.adjacency[v])
        if (!placed[e.to]) {
          placed[e.to] = 1;
          parent[e.to] = v;
          order.push_back(e.to);
        }
    }
  }

  std::vector<std::uint32_t> map(n, 0);
  std::vector<char> used(n, 0), mapped(n, 0);
  bool stop = false;

  // Can a's vertex v go to b's vertex w, given what is mapped already?
  auto consistent = [&](std::uint32_t v, std::uint32_t w) {
    if (used[w] || colour[v] != colour[w + n]) return false;
    std::size_t mapped_neighbours = 0;
    for (const auto& e : a.adjacency[v]) {
      if (!mapped[e.to]) continue;
      ++mapped_neighbours;
      const auto lbl = b.edge_label(w, map[e.to]);
      if (!lbl || *lbl != e.label) return false;
    }
    std::size_t image_neighbours = 0;
    for (const auto& e : b.adjacency[w]) image_neighbours += used[e.to];
    return image_neighbours == mapped_neighbours;
  };

  std::function<void(std::size_t)> extend = [&](std::size_t depth) {
    if (stop) return;
    if (depth == n) {
      // One match beyond the cap proves the search was cut short; it is not reported.
      if (result.found == max_matches) {
        result.truncated = true;
        stop = true;
        return;
      }
      ++result.found;
      if (!on_match(map)) stop = true;
      return;
    }
    const auto v = order[depth];
    auto try_candidate = [&](std::uint32_t w) {
      if (!consistent(v, w)) return;
      map[v] = w;
      used[w] = 1;
      mapped[v] = 1;
      extend(depth + 1);
      used[w] = 0;
      mapped[v] = 0;
    };
    if (parent[v] >= 0) {
      for (const auto& e : b.adjacency[map[static_cast<std::size_t>(parent[v])]]) {
        try_candidate(e.to);
        if (stop) return;
      }
    } else {
      for (std::uint32_t w = 0; w < n && !stop; ++w) try_candidate(w);
    }
  };
  extend(0);
  return result;
}

/// All automorphisms of @p g (up to @p max_matches), flattened: entry
/// k * g.size() + i is the image of vertex i under automorphism k. The
/// identity is always among them.
inline std::vector<std::uint32_t> automorphisms(const labelled_graph& g, std::size_t max_matches,
                                               bool* truncated = nullptr) {
  std::vector<std::uint32_t> flat;
  const auto r = for_each_isomorphism(
      g, g,
      [&](const std::vector<std::uint32_t>& m) {
        flat.insert(flat.end(), m.begin(), m.end());
        return true;
      },
      max_matches);
  if (truncated) *truncated = r.truncated;
  return flat;
}

/// One isomorphism from @p a onto @p b, if any.
inline std::optional<std::vector<std::uint32_t>> find_isomorphism(const labelled_graph& a,
                                                                  const labelled_graph& b) {
  std::optional<std::vector<std::uint32_t>> out;
  for_each_isomorphism(a, b, [&](const std::vector<std::uint32_t>& m) {
    out = m;
    return false;
  });
  return out;
}

}  // namespace confsgm

namespace confsgm {

/// All-atom graph of @p g labelled by element, charge and isotope (vertices)
/// and bond type (edges): the constitution, without stereo.
inline labelled_graph constitution_graph(const molecule_graph& g) {
  labelled_graph lg;
  for (const auto& a : g.atoms()) lg.add_vertex(atom_label(a.atomic_number, a.isotope, a.formal_charge));
  for (const auto& b : g.bonds()) lg.add_edge(b.begin, b.end, static_cast<std::uint32_t>(b.type));
  return lg;
}

/// Atom correspondence between two orderings of one constitution:
/// result[i] is the atom of @p b that plays atom i of @p a; nothing when the
/// constitutions differ.
inline std::optional<std::vector<std::uint32_t>> constitution_map(const molecule_graph& a,
                                                                  const molecule_graph& b) {
  if (a.num_atoms() != b.num_atoms() || a.num_bonds() != b.num_bonds()) return std::nullopt;
  return find_isomorphism(constitution_graph(a), constitution_graph(b));
}

}  // namespace confsgm
