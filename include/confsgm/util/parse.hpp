// confsgm/util/parse.hpp: strict text-to-number parsing for input files and headers, and its inverse.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace confsgm {

/// @p text as a whole number when all of it is one (no sign, no fraction, no trailing text, in range);
/// otherwise empty. std::stoul would take "-1" as 2^64 - 1 and "12abc" as 12.
template <class Unsigned>
std::optional<Unsigned> parse_whole_number(std::string_view text) {
  static_assert(std::is_unsigned_v<Unsigned>, "parse_whole_number() reads counts and offsets: an unsigned type");
  Unsigned value{};
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || r.ec != std::errc{} || r.ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

/// @p text as a finite floating-point number when all of it is one (no trailing text); otherwise empty.
inline std::optional<double> parse_finite_number(std::string_view text) {
  double value{};
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || r.ec != std::errc{} || r.ptr != text.data() + text.size() || !(value - value == 0.0))
    return std::nullopt;
  return value;
}

/// The shortest text that parses back to @p value exactly (0.0025, not 0.0025000000000000001): for records and
/// headers that must read back as written.
inline std::string shortest_text(double value) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

}  // namespace confsgm
