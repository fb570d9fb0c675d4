// confsgm/util/deal.hpp: which worker (an MPI rank, a Slurm array task) takes which item of a list, so that the
// workers finish together. Costs are integers (atoms x conformers, say): the rule compares no floating-point
// numbers, so every worker computes the same deal on every platform without talking to the others.
#pragma once

#include "confsgm/error.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <queue>
#include <string>
#include <utility>
#include <vector>

namespace confsgm::util {

/// Deals items [0, cost.size()) to @p workers workers by longest processing time first: items in order of
/// falling cost (equal costs by index), each to the worker with the least cost dealt so far (equal loads: the
/// lowest worker). Returns each item's worker. Within a factor 4/3 of the best possible finish time (Graham 1969).
inline std::vector<unsigned> deal_by_cost(const std::vector<std::uint64_t>& cost, unsigned workers) {
  if (workers == 0) throw invalid_argument("deal_by_cost: there must be at least one worker");
  std::vector<std::size_t> order(cost.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  // (load, worker), smallest first; a saturating sum keeps astronomic costs ordered instead of wrapping.
  using load = std::pair<std::uint64_t, unsigned>;
  std::priority_queue<load, std::vector<load>, std::greater<>> least;
  for (unsigned w = 0; w < workers; ++w) least.emplace(0, w);
  std::vector<unsigned> owner(cost.size(), 0);
  for (const std::size_t i : order) {
    auto [l, w] = least.top();
    least.pop();
    owner[i] = w;
    least.emplace(l > UINT64_MAX - cost[i] ? UINT64_MAX : l + cost[i], w);
  }
  return owner;
}

/// The items dealt to @p worker, in index order.
inline std::vector<std::size_t> items_of(const std::vector<unsigned>& owner, unsigned worker) {
  std::vector<std::size_t> mine;
  for (std::size_t i = 0; i < owner.size(); ++i)
    if (owner[i] == worker) mine.push_back(i);
  return mine;
}

}  // namespace confsgm::util
