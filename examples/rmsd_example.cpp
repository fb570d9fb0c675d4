// Symmetry-aware RMSD with the core library only (Eigen, no RDKit): the
// carboxylate of benzoate flips without cost, a ring rotation does not.
#include <confsgm/confsgm.hpp>

#include <iostream>

int main() {
  using namespace confsgm;
  molecule_graph g("benzoate");
  for (int i = 0; i < 6; ++i) g.add_atom({.atomic_number = 6, .aromatic = true, .in_ring = true});
  for (std::uint32_t i = 0; i < 6; ++i) g.add_bond({.begin = i, .end = (i + 1) % 6, .type = bond_type::aromatic});
  g.add_atom({.atomic_number = 6});                       // 6: carboxyl C
  g.add_atom({.atomic_number = 8});                       // 7: =O
  g.add_atom({.atomic_number = 8, .formal_charge = -1});  // 8: O-
  g.add_bond({.begin = 0, .end = 6});
  g.add_bond({.begin = 6, .end = 7, .type = bond_type::double_});
  g.add_bond({.begin = 6, .end = 8});

  coordinates<double> a(9, 3);
  a << 1.39, 0, 0, 0.695, 1.204, 0, -0.695, 1.204, 0, -1.39, 0, 0, -0.695, -1.204, 0, 0.695, -1.204, 0,  //
      2.89, 0, 0, 3.5, 1.07, 0, 3.5, -1.07, 0;
  coordinates<double> b = a;
  b.row(7).swap(b.row(8));  // the two carboxylate oxygens trade places

  const symmetric_rmsd rmsd(g);
  std::cout << "automorphisms: " << rmsd.num_automorphisms() << "\n"
            << "plain RMSD after superposition: " << superposed_rmsd(a, b) << " A\n"
            << "symmetry-aware RMSD:            " << rmsd(a, b) << " A\n";
}
