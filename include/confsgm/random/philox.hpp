// confsgm/random/philox.hpp: counter-based random numbers (Philox4x32-10,
// Salmon et al., SC'11). A draw is a pure function of (seed, purpose, indices),
// so results do not depend on thread count or on the order of draws, an extra
// draw for one purpose never shifts another, and the CUDA backend can produce
// the very same numbers. Box-Muller turns pairs of uniforms into normals.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define CONFSGM_HOST_DEVICE __host__ __device__
#else
#define CONFSGM_HOST_DEVICE
#endif

namespace confsgm::random {

/// Why a number is drawn. Each purpose is its own stream.
enum class purpose : std::uint32_t {
  noise_level = 1,   ///< which sigma a training sample uses
  noise = 2,         ///< DSM noise epsilon
  perturbation = 3,  ///< Input Perturbation xi (never touched without IP)
  shuffle = 4,       ///< epoch order
  init = 5,          ///< sampler initial state
  langevin = 6,      ///< sampler noise z
  weights = 7,       ///< network initialisation
  estimator = 8,     ///< exposure-bias estimator draws
  user = 100,
};

using counter = std::array<std::uint32_t, 4>;

CONFSGM_HOST_DEVICE constexpr counter philox4x32_10(counter c, std::uint32_t k0, std::uint32_t k1) noexcept {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u, w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = std::uint64_t(m0) * c[0];
    const std::uint64_t p1 = std::uint64_t(m1) * c[2];
    c = {std::uint32_t(p1 >> 32) ^ c[1] ^ k0, std::uint32_t(p1), std::uint32_t(p0 >> 32) ^ c[3] ^ k1,
         std::uint32_t(p0)};
    k0 += w0;
    k1 += w1;
  }
  return c;
}

/// Uniform in (0, 1), never 0 or 1 (safe for log).
CONFSGM_HOST_DEVICE constexpr double to_open_unit(std::uint32_t hi, std::uint32_t lo) noexcept {
  const std::uint64_t bits = ((std::uint64_t(hi) << 32) | lo) >> 11;  // 53 bits
  return (double(bits) + 0.5) * (1.0 / 9007199254740992.0);
}

/// A stream of numbers addressed by (seed, purpose, a, b): draw k of the
/// stream is fixed whatever else is drawn. a and b are caller indices
/// (e.g. training step and molecule; conformer and atom).
class stream {
 public:
  CONFSGM_HOST_DEVICE constexpr stream(std::uint64_t seed, purpose p, std::uint32_t a = 0,
                                       std::uint32_t b = 0) noexcept
      : k0_(std::uint32_t(seed)), k1_(std::uint32_t(seed >> 32) ^ (std::uint32_t(p) * 0x85EBCA6Bu)), a_(a), b_(b) {}

  /// Two independent standard normals for index k (Box-Muller).
  CONFSGM_HOST_DEVICE std::array<double, 2> normal2(std::uint32_t k) const noexcept {
    const auto r = philox4x32_10({k, a_, b_, 0x6e6f726du}, k0_, k1_);
    const double u1 = to_open_unit(r[0], r[1]), u2 = to_open_unit(r[2], r[3]);
    const double rad = std::sqrt(-2.0 * std::log(u1));
    const double th = 6.283185307179586 * u2;
    return {rad * std::cos(th), rad * std::sin(th)};
  }
  /// Standard normal number i of the stream.
  CONFSGM_HOST_DEVICE double normal(std::uint32_t i) const noexcept { return normal2(i >> 1)[i & 1u]; }
  /// Uniform in (0, 1), number i of the stream.
  CONFSGM_HOST_DEVICE double uniform(std::uint32_t i) const noexcept {
    const auto r = philox4x32_10({i, a_, b_, 0x756e6966u}, k0_, k1_);
    return to_open_unit(r[0], r[1]);
  }
  /// Uniform integer in [0, n), number i of the stream (n > 0).
  CONFSGM_HOST_DEVICE std::uint32_t below(std::uint32_t i, std::uint32_t n) const noexcept {
    return std::uint32_t(uniform(i) * n) % n;
  }

 private:
  std::uint32_t k0_, k1_, a_, b_;
};

}  // namespace confsgm::random
