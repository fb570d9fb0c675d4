// `confsgm match`: conformer matching once, for many torsion-space trainings:
// every reference conformer's torsions transferred onto its own ETKDG local
// structure (reference-spec §2.1), written as an SDF that
// `confsgm train --space torsion --matched` reads as is.
#include <confsgm/confsgm.hpp>
#include <confsgm/rdkit/sdf.hpp>

#include <iostream>

#include "cli.hpp"
#include "torsional.hpp"

namespace app {

int run_match(arguments& args) {
  const auto input = args.required("input");
  const auto output = args.required("output");
  const auto per_mol = args.count("conformers-per-molecule", 30);  // Torsional Diffusion's value
  const auto seed = args.integer("seed", 2021);
  const auto rule = confsgm::parse_rotatable_rule(args.str("rotatable", "stereo-safe"));
  const auto threads = args.count<unsigned>("threads", 0);
  const auto report = args.str("report", output + ".tsv");
  args.reject_unknown();
  if (per_mol == 0) throw usage_error("--conformers-per-molecule must be >= 1");
  if (seed <= 0 || seed > 2147483647) throw usage_error("--seed must be in 1..2147483647");
  const confsgm::util::output_guard guard({output, report}, {input});
  confsgm::rdkit::sdf_read_options ro;
  ro.min_atom_distance = confsgm::rdkit::physical_min_atom_distance;
  auto r = confsgm::rdkit::read_sdf(input, ro);
  for (const auto& e : r.errors) std::cerr << "error: " << e.what() << "\n";
  for (const auto& e : r.dropped) std::cerr << "note: " << e.what() << "\n";
  if (r.molecules.empty()) {
    std::cerr << "error: " << input << ": no usable molecule\n";
    return input_failure;
  }
  const auto d = torsion_training_data(r.molecules, per_mol, static_cast<std::uint32_t>(seed), rule, threads);
  for (const auto& n : d.dropped) std::cerr << "note: " << n << "\n";
  for (const auto& n : d.notes) std::cerr << "note: " << n << "\n";
  confsgm::rdkit::sdf_writer writer(output);
  std::size_t written = 0, row = 0;
  for (std::size_t m = 0; m < d.set.size(); ++m) {
    const auto& id = d.set.ids[m];
    const auto it = std::find_if(r.molecules.begin(), r.molecules.end(), [&](const auto& x) { return x.data.id == id; });
    for (std::size_t c = 0; c < d.set.clean[m].size(); ++c, ++row) {
      const auto& rec = d.matching[row];
      const auto xyz = confsgm::torsion_space::coordinates_of(d.set.conformer_structures[m][c], d.set.clean[m][c]);
      writer.write(*it->mol, xyz, id + "_matched" + std::to_string(c),
                   {{"mol_id", id},
                    {"matched_from", std::to_string(rec.conformer)},
                    {"matching_rmsd", std::to_string(rec.rmsd)},
                    {"matching_heavy_rmsd", std::to_string(rec.heavy_rmsd)},
                    {"rotatable_rule", confsgm::to_string(rule)},
                    {"seed", std::to_string(seed)}});
      ++written;
    }
  }
  writer.commit();
  write_matching(report, d.matching);
  std::cerr << "wrote " << written << " matched conformers of " << d.set.size() << " molecules to " << output << " ("
            << d.notes.size() << " molecules and " << d.dropped.size() << " conformers left out, listed above; matching "
            << "RMSDs in " << report << ")\n";
  return d.notes.empty() && d.dropped.empty() ? ok : partial;
}

}  // namespace app
