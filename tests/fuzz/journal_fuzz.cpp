// Fuzz target: the journal of `confsgm generate --resume` (examples/app/generate_journal.hpp), read for a run of
// fixed settings over three molecules. Its refusals are io_error (a corrupt journal) or usage_error (another
// run's settings); its offsets and counts must come back as whole numbers that never go backwards.
#include "fuzz_target.hpp"

#include "../../examples/app/generate_journal.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const app::run_settings settings = {{"input", "fnv1a:00000000000000aa"}, {"method", "torsional"},
                                             {"conformers", "2x"}};
  static const std::vector<std::string> ids = {"mol_a", "mol b", "mol\tc"};
  try {
    const auto finished = app::generate_journal::parse(fuzz::bytes(data, size), "fuzz.journal", settings, ids);
    if (finished.size() > ids.size()) std::abort();  // more molecules than the input has
    for (std::size_t k = 1; k < finished.size(); ++k)
      if (finished[k].end < finished[k - 1].end) std::abort();  // offsets must not go backwards
  } catch (const confsgm::error&) {
  } catch (const app::usage_error&) {
  }
  return 0;
}
