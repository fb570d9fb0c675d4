// Checks confsgm::xtb (libxtb C API) against the xtb program on every
// conformer of an SDF file: GFN2-xTB single-point energy, HOMO-LUMO gap and
// dipole. Prints the largest differences; exits 1 if an energy differs by more
// than 1e-6 Eh or a gap by more than 1e-3 eV.
//   build/examples/xtb_agreement ../shared/data/geom_drugs_train10/geom_drugs_train10.sdf
#include <confsgm/rdkit/sdf.hpp>
#include <confsgm/xtb/library.hpp>
#include <confsgm/xtb/program.hpp>

#include <cmath>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: xtb_agreement FILE.sdf\n";
    return 2;
  }
  const auto r = confsgm::rdkit::read_sdf(argv[1]);
  double max_de = 0, max_dgap = 0, max_ddip = 0;
  std::size_t n = 0, failed = 0;
  for (const auto& m : r.molecules) {
    const auto& e = m.data;
    const int q = e.graph.net_charge();
    confsgm::xtb::gfn2_calculator calc(e.graph, q);
    for (std::size_t c = 0; c < e.size(); ++c) {
      const auto lib = calc.singlepoint(e.conformers[c]);
      const auto prog = confsgm::xtb::singlepoint(e.graph, e.conformers[c], q);
      if (!lib.ok || !prog.ok || !prog.homo_lumo_gap_ev || !prog.dipole_debye) {
        std::cerr << e.id << " conformer " << c << ": " << lib.message << " " << prog.message << "\n";
        ++failed;
        continue;
      }
      max_de = std::max(max_de, std::abs(lib.energy_hartree - prog.energy_hartree));
      max_dgap = std::max(max_dgap, std::abs(lib.homo_lumo_gap_ev - *prog.homo_lumo_gap_ev));
      max_ddip = std::max(max_ddip, std::abs(lib.dipole_debye - *prog.dipole_debye));
      ++n;
    }
  }
  std::cout << n << " conformers of " << r.molecules.size() << " molecules (" << failed << " failed, "
            << r.errors.size() + r.dropped.size() << " records not read): max |dE| = " << max_de
            << " Eh, max |dgap| = " << max_dgap << " eV, max |ddipole| = " << max_ddip << " D\n";
  return (failed || max_de > 1e-6 || max_dgap > 1e-3) ? 1 : 0;
}
