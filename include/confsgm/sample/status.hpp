// confsgm/sample/status.hpp: what happened to one sample of a sampler run, as
// data (an outcome, and where it happened) rather than text, so that callers
// can count, filter and report without parsing strings. to_string() gives
// the sentence the application prints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace confsgm::sample {

enum class sample_outcome : std::uint8_t {
  ok,                ///< finished; its state is the sample
  non_finite_start,  ///< the start state (given or drawn) had a NaN or infinity; never updated
  diverged,          ///< left the valid region (non-finite, or beyond the dynamics' bound) during an update
};

struct sample_status {
  sample_outcome outcome = sample_outcome::ok;
  std::size_t level = 0;  ///< diverged: the noise level of the update that failed
  std::size_t step = 0;   ///< diverged: the step within that level
  double sigma = 0;       ///< diverged: that level's sigma

  bool ok() const noexcept { return outcome == sample_outcome::ok; }
  static sample_status diverged_at(std::size_t level, double sigma, std::size_t step) noexcept {
    return {sample_outcome::diverged, level, step, sigma};
  }
  static sample_status non_finite() noexcept { return {sample_outcome::non_finite_start, 0, 0, 0}; }
  friend bool operator==(const sample_status&, const sample_status&) = default;
};

/// "ok", "non-finite start state" or "diverged at level 12 (sigma 0.980000), step 7".
inline std::string to_string(const sample_status& s) {
  switch (s.outcome) {
    case sample_outcome::ok: return "ok";
    case sample_outcome::non_finite_start: return "non-finite start state";
    case sample_outcome::diverged:
      return "diverged at level " + std::to_string(s.level) + " (sigma " + std::to_string(s.sigma) + "), step " +
             std::to_string(s.step);
  }
  return "unknown sample status";
}

}  // namespace confsgm::sample
