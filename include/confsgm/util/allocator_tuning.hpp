// confsgm/util/allocator_tuning.hpp: an opt-in for programs (the library never
// calls it). Training and sampling free and reallocate buffers of 0.1-10 MB at
// every step; glibc serves those with mmap/munmap by default, and the page
// faults of fresh pages then cost more than the arithmetic (measured: sampling
// 2.7x, training steps 1.4x slower). Keeping such blocks on the heap removes that.
#pragma once

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace confsgm {

/// Serve allocations up to 32 MiB from the heap and keep up to 256 MiB of freed heap (glibc only; a no-op elsewhere).
inline void keep_large_allocations_on_heap() noexcept {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
}

}  // namespace confsgm
