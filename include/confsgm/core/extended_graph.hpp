// confsgm/core/extended_graph.hpp: the paper's extended graph (ConfGF,
// reference-spec §5.2): every bond, plus a virtual edge between atoms whose
// shortest bond path has 2 or 3 bonds (up to `order` in general). Distances
// on these edges determine the conformation up to rigid motion and
// reflection, which is why the distance-space models score them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "confsgm/core/molecule.hpp"

namespace confsgm {

struct extended_edge {
  std::uint32_t i;      ///< smaller atom index
  std::uint32_t j;      ///< larger atom index
  std::uint8_t hops;    ///< shortest-path length in bonds (1 = a real bond)
  std::uint8_t type;    ///< edge-type id: bond_type for hops == 1, else num_bond_types + hops - 2
};

/// Bonds plus k-hop virtual edges (2 <= k <= order), each stored once with i < j.
class extended_graph {
 public:
  /// @param order the largest shortest-path length that gets an edge (ConfGF: 3).
  explicit extended_graph(const molecule_graph& g, unsigned order = 3) : order_(order) {
    if (order < 1 || order > 8)
      throw invalid_argument("extended_graph(): order must be in 1..8, got " + std::to_string(order));
    const auto n = g.num_atoms();
    std::vector<int> dist(n);
    std::deque<std::uint32_t> queue;
    for (std::uint32_t s = 0; s < n; ++s) {
      std::fill(dist.begin(), dist.end(), -1);
      dist[s] = 0;
      queue.assign(1, s);
      while (!queue.empty()) {
        const auto v = queue.front();
        queue.pop_front();
        if (dist[v] == static_cast<int>(order)) continue;
        for (const auto& nb : g.neighbors(v))
          if (dist[nb.atom] < 0) {
            dist[nb.atom] = dist[v] + 1;
            queue.push_back(nb.atom);
          }
      }
      for (std::uint32_t t = s + 1; t < n; ++t) {
        if (dist[t] <= 0) continue;
        const auto hops = static_cast<std::uint8_t>(dist[t]);
        std::uint8_t type;
        if (hops == 1)
          type = static_cast<std::uint8_t>(g.bond_at(*g.bond_between(s, t)).type);
        else
          type = static_cast<std::uint8_t>(num_bond_types + hops - 2);
        edges_.push_back({s, t, hops, type});
      }
    }
  }

  unsigned order() const noexcept { return order_; }
  const std::vector<extended_edge>& edges() const noexcept { return edges_; }
  std::size_t num_edges() const noexcept { return edges_.size(); }
  /// Number of distinct edge-type ids (bond kinds, then one per virtual hop count).
  std::size_t num_edge_types() const noexcept { return num_bond_types + (order_ - 1); }
  std::size_t count_hops(unsigned h) const {
    std::size_t c = 0;
    for (const auto& e : edges_) c += (e.hops == h);
    return c;
  }

 private:
  unsigned order_;
  std::vector<extended_edge> edges_;
};

}  // namespace confsgm
