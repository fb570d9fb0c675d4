// The contract of every fuzz target (tests/fuzz/*_fuzz.cpp): LLVMFuzzerTestOneInput hands the bytes to one of
// confsgm's parsers, which must either accept them or refuse them with a confsgm::error (a named, expected
// refusal). Anything else is a bug the fuzzer reports: another exception (it escapes and aborts), a crash, a
// sanitizer report, a leak, a hang or an allocation beyond libFuzzer's -rss_limit_mb.
#pragma once

#include <confsgm/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace fuzz {

inline std::string bytes(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

/// Runs @p parse; a confsgm::error is an accepted outcome, any other exception escapes (a finding).
template <class Parse>
bool accepted(Parse&& parse) {
  try {
    parse();
    return true;
  } catch (const confsgm::error&) {
    return false;
  }
}

}  // namespace fuzz
