#include <confsgm/confsgm.hpp>
#if defined(CONSUMER_WITH_RDKIT)
#include <confsgm/rdkit/smiles.hpp>
#endif
#include <iostream>

int main() {
#if defined(CONSUMER_WITH_RDKIT)
  const auto m = confsgm::rdkit::from_smiles("OC(=O)c1ccccc1", "benzoic acid");
  const confsgm::symmetric_rmsd s(m.graph);
  std::cout << "confsgm " << CONFSGM_VERSION_STRING << ": " << m.graph.formula() << ", " << s.num_automorphisms()
            << " automorphisms\n";
  return s.num_automorphisms() == 4 ? 0 : 1;
#else
  confsgm::molecule_graph g("ethane");
  g.add_atom({.atomic_number = 6});
  g.add_atom({.atomic_number = 6});
  g.add_bond({.begin = 0, .end = 1});
  std::cout << "confsgm " << CONFSGM_VERSION_STRING << ": " << g.formula() << "\n";
  return g.formula() == "C2" ? 0 : 1;
#endif
}
