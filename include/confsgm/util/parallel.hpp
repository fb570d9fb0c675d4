// confsgm/util/parallel.hpp: a minimal static-partition parallel loop over
// std::thread. Each index is processed by exactly one thread and results are
// written to per-index slots, so outputs do not depend on the thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace confsgm {

/// Number of worker threads to use for @p requested (0 = all hardware threads).
inline unsigned resolve_threads(unsigned requested) {
  if (requested != 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1u : hw;
}

/// Calls f(i) for i in [0, n) on up to @p threads threads (0 = all cores),
/// interleaved so that uneven rows balance. The first exception thrown by any
/// call is rethrown on the calling thread after all threads have joined.
template <class F>
void parallel_for(std::size_t n, unsigned threads, F&& f) {
  const unsigned t = static_cast<unsigned>(std::min<std::size_t>(resolve_threads(threads), n));
  if (t <= 1) {
    for (std::size_t i = 0; i < n; ++i) f(i);
    return;
  }
  std::exception_ptr first_error;
  std::mutex error_mutex;
  std::vector<std::thread> pool;
  pool.reserve(t);
  for (unsigned w = 0; w < t; ++w)
    pool.emplace_back([&, w] {
      try {
        for (std::size_t i = w; i < n; i += t) f(i);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace confsgm
