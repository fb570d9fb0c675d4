// Fuzz target: the readers of the xtb program's output (xtb/program.hpp): the energy, HOMO-LUMO gap and dipole
// lines of xtb.out, the error lines quoted in messages, and the optimised geometry (xtbopt.xyz).
#include "fuzz_target.hpp"

#include <confsgm/xtb/program.hpp>

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace d = confsgm::xtb::detail;
  const auto text = fuzz::bytes(data, size);
  (void)d::number_after(text, "TOTAL ENERGY");
  (void)d::number_after(text, "HOMO-LUMO GAP");
  (void)d::dipole_total(text);
  if (d::error_lines(text).size() > 400) std::abort();  // messages quote at most 400 characters
  for (std::size_t atoms : {1, 3, 9})
    if (const auto xyz = d::parse_xyz(text, atoms); xyz && static_cast<std::size_t>(xyz->rows()) != atoms) std::abort();
  return 0;
}
