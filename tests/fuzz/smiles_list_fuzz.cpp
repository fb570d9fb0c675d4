// Fuzz target: the molecule-list readers (rdkit/smiles.hpp, read_smiles_list): the first byte's low bit chooses
// a CSV table (header with smiles/id/n_conformers columns) or a .smi list; the rest is the file. Every line is
// either a molecule or a reported error; the reader itself only throws for a CSV without a smiles column.
#include "fuzz_target.hpp"

#include <confsgm/rdkit/smiles.hpp>

#include <cstdlib>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool csv = data[0] & 1;
  std::istringstream in(fuzz::bytes(data + 1, size - 1));
  fuzz::accepted([&] {
    const auto list = confsgm::rdkit::read_smiles_list(in, csv ? "fuzz.csv" : "fuzz.smi", csv);
    for (const auto& e : list.errors)
      if (!e.line()) std::abort();  // every rejected row names its line
  });
  return 0;
}
