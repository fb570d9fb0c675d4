// Fuzz target: the SDF adapter around RDKit (rdkit/sdf.hpp, read_sdf): record splitting at $$$$, SD properties,
// grouping by mol_id, the atom-order remapping and the bond-graph comparison of later records with the first.
// Every record is a molecule's conformer, an error or a dropped record, each naming its record.
#include "fuzz_target.hpp"

#include <confsgm/rdkit/sdf.hpp>

#include <cstdlib>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(fuzz::bytes(data, size));
  fuzz::accepted([&] {
    const auto r = confsgm::rdkit::read_sdf(in, "fuzz.sdf");
    std::size_t conformers = 0;
    for (const auto& m : r.molecules) {
      conformers += m.data.size();
      if (m.data.size() == 0 || m.data.graph.num_atoms() == 0) std::abort();
      for (std::size_t c = 0; c < m.data.size(); ++c)
        if (!m.data.conformers[c].allFinite()) std::abort();  // non-finite coordinates are errors, never data
    }
    // Every record is accounted for once.
    if (conformers + r.errors.size() + r.dropped.size() != r.n_records) std::abort();
  });
  return 0;
}
