// Conformer generation inside another C++ program: RDKit molecules in, RDKit molecules with conformers out, the
// way `confsgm generate --method torsional` makes them (one generator, each molecule with its own noise streams
// and the model whose training domain fits it, sampled with the compensation its model file recommends).
//   example_embed_generate MODEL.bin [MODEL.bin ...] < molecules.smi > conformers.sdf
//   (e.g. models/qm9-torsion-ip.bin models/drugs-torsion-ip.bin; lines "SMILES NAME", NAME written as mol_id)
#include <confsgm/generate/generators.hpp>

#include <GraphMol/FileParsers/MolWriters.h>
#include <GraphMol/SmilesParse/SmilesParse.h>

#include <iostream>
#include <memory>

int main(int argc, char** argv) {
  using namespace confsgm;
  if (argc < 2) return std::cerr << "usage: example_embed_generate MODEL.bin [MODEL.bin ...] < smiles > out.sdf\n", 2;
  // An open compensation request: each model samples with what its file recommends (e.g. sigma-shift for the
  // Drugs models), as `generate` does by default.
  const generate::torsion_generator generator(
      generate::model_set<model::torsion_score_network<float>>::load({argv + 1, argv + argc}), {.seed = 7}, 20, false,
      sample::compensation_request{});
  RDKit::SDWriter out(&std::cout, false);
  std::size_t index = 0, failed = 0;
  for (std::string smiles, name; std::cin >> smiles >> name; ++index) {
    const std::unique_ptr<RDKit::ROMol> mol(RDKit::SmilesToMol(smiles));  // what the host program holds
    try {
      if (!mol) throw invalid_argument("not a valid SMILES");
      auto with_conformers = rdkit::as_rdkit(generator.generate(rdkit::from_rdkit(*mol, name), index, 10, 0));
      with_conformers.setProp("mol_id", name);
      for (auto c = with_conformers.beginConformers(); c != with_conformers.endConformers(); ++c)
        out.write(with_conformers, static_cast<int>((*c)->getId()));
    } catch (const std::exception& e) {
      std::cerr << name << " (" << smiles << "): " << e.what() << "\n";
      ++failed;
    }
  }
  out.close();
  return failed == 0 && index > 0 ? 0 : 1;
}
