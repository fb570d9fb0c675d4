// `confsgm build-dataset`: GEOM-protocol reference ensembles for a list of
// SMILES (confsgm/data/geom_protocol.hpp), parallel over molecules, resumable.
//
// Work directory layout (OUT/):
//   molecules/<id>.sdf     ensemble of one molecule, written atomically
//   molecules/<id>.status  one TSV line, written after the SDF: the molecule is
//                          done when this file exists (a killed run redoes only
//                          molecules without one)
//   ensembles.sdf.gz       every ok molecule, in input order   } written when all
//   status.tsv             every input molecule, ok or failed  } molecules are done
//   manifest.json          recipe, seed, tool versions, counts }
#include <confsgm/confsgm.hpp>
#include <confsgm/data/geom_protocol.hpp>
#include <confsgm/rdkit/sdf.hpp>
#include <confsgm/util/deal.hpp>
#include <confsgm/util/gzip.hpp>
#include <GraphMol/Descriptors/Lipinski.h>
#include <GraphMol/MolOps.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "cli.hpp"
#include "job.hpp"

namespace app {

namespace fs = std::filesystem;

namespace {

constexpr const char* status_header =
    "mol_id\tstatus\treason\tinput_smiles\tstereo_smiles\tcharge\trotatable_bonds\tstarts\tembedded\t"
    "embed_stereo_wrong\txtb_failed\ttopology_changed\tstereo_changed\toutside_window\tduplicates\tconformers\t"
    "seconds\tfirst_problem\tstereo_choices\tprefiltered";

std::string tsv_clean(std::string s) {
  for (auto& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string status_line(const confsgm::data::built_ensemble& b) {
  const auto& s = b.stats;
  std::ostringstream o;
  o << tsv_clean(b.id) << '\t' << (b.ok ? "ok" : "failed") << '\t' << tsv_clean(b.reason) << '\t'
    << tsv_clean(b.input_smiles) << '\t' << tsv_clean(b.stereo_smiles) << '\t' << b.charge << '\t'
    << b.rotatable_bonds << '\t' << s.starts << '\t' << s.embedded << '\t' << s.embed_stereo_wrong << '\t'
    << s.xtb_failed << '\t' << s.topology_changed << '\t' << s.stereo_changed << '\t' << s.outside_window << '\t'
    << s.duplicates << '\t' << s.kept << '\t' << std::fixed << std::setprecision(2) << s.seconds << '\t'
    << tsv_clean(s.first_problem) << '\t' << s.stereo_choices << '\t' << s.prefiltered;
  return o.str();
}

void write_text_atomically(const fs::path& p, const std::string& text) {
  confsgm::util::write_file_atomically(p.string(), text);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Molecule ids become file names: refuse ids that would escape the folder.
std::string safe_id(const std::string& id) {
  if (id.empty() || id.find('/') != std::string::npos || id == "." || id == ".." ||
      id.find_first_of("\t\n\r") != std::string::npos)
    throw confsgm::invalid_argument("molecule id '" + id + "' cannot name a file (no '/', tabs or newlines)");
  return id;
}

std::string recipe_json(const confsgm::data::geom_protocol_options& po) {
  std::ostringstream r;
  r << "{\"seed\": " << po.seed
    << ", \"stereoisomer\": \"first seeded ETKDGv3 embedding that honours the input stereo (random-coordinate retries, "
       "then seeded configurations of unassigned centres; up to " << po.stereo_choices
    << " stereoisomers when the first yields no conformer)\""
    << ", \"starts\": \"min(" << po.starts_max << ", " << po.starts_base << " + " << po.starts_per_rotatable_bond
    << " * rotatable_bonds (strict, heavy-atom graph))\", \"etkdg\": \"ETKDGv3, random-coordinate retry when none embeds\""
    << ", \"preopt\": \"MMFF94, " << po.mmff_iterations
    << " iterations; unrelaxed ETKDG start where MMFF changes stereo\"";
  // The full tier's recipe is spelled as before tiers existed, so its folders stay resumable.
  using confsgm::data::builder_tier;
  if (po.tier == builder_tier::full) {
    r << ", \"xtb\": \"GFN2-xTB --opt " << po.xtb.optimization_level << "\"";
  } else {
    r << ", \"tier\": \"" << confsgm::data::tier_name(po.tier) << "\", \"xtb\": \"GFN-FF --opt "
      << po.xtb.optimization_level << " of every start; pre-filter on GFN-FF energies (window "
      << po.prefilter.energy_window_kcal << " kcal/mol, duplicates " << po.prefilter.duplicate_rmsd << " A / "
      << po.prefilter.duplicate_energy_kcal << " kcal/mol); then GFN2-xTB "
      << (po.tier == builder_tier::gfnff_gfn2_opt ? "--opt " + po.xtb.optimization_level + " of the survivors"
                                                  : std::string("single points on the surviving GFN-FF minima"))
      << "\"";
  }
  r
    << ", \"stereo_check\": \"canonical isomeric SMILES from 3D equals the chosen stereoisomer\""
    << ", \"broken_bond_factor\": " << po.connectivity.factor
    << ", \"new_bond_factor\": " << po.connectivity.new_bond_factor
    << ", \"energy_window_kcal\": " << po.filter.energy_window_kcal
    << ", \"duplicate_rmsd_A\": " << po.filter.duplicate_rmsd
    << ", \"duplicate_energy_kcal\": " << po.filter.duplicate_energy_kcal
    << ", \"temperature_K\": " << po.filter.temperature_k << "}";
  return r.str();
}

}  // namespace

int run_build_dataset(arguments& args) {
  const auto input = args.required("input");
  const fs::path out_dir = args.required("out");
  const long jobs = args.integer("jobs", 2);
  const long seed = args.integer("seed", 42);
  confsgm::data::geom_protocol_options po;
  po.starts_base = args.count<unsigned>("starts-base", po.starts_base);
  po.starts_per_rotatable_bond = args.count<unsigned>("starts-per-rotor", po.starts_per_rotatable_bond);
  po.starts_max = args.count<unsigned>("starts-max", po.starts_max);
  po.filter.energy_window_kcal = args.number("ewin", po.filter.energy_window_kcal);
  po.filter.duplicate_rmsd = args.number("rthr", po.filter.duplicate_rmsd);
  po.filter.duplicate_energy_kcal = args.number("ethr", po.filter.duplicate_energy_kcal);
  po.filter.temperature_k = args.number("temperature", po.filter.temperature_k);
  po.xtb.executable = args.str("xtb", "xtb");
  po.xtb.optimization_level = args.str("xtb-level", "normal");
  po.xtb.timeout_s = args.number("xtb-timeout", 900);
  try {
    po.tier = confsgm::data::parse_tier(args.str("tier", "full"));
  } catch (const confsgm::invalid_argument& e) {
    throw usage_error(std::string("--tier: ") + e.what());
  }
  po.prefilter.energy_window_kcal = args.number("prefilter-ewin", po.prefilter.energy_window_kcal);
  const bool keep_failed = args.flag("keep-failed-xtb");
  const bool quiet = args.flag("quiet");
  const long limit = args.integer("limit", 0);
  args.reject_unknown();
  if (jobs < 1) throw usage_error("--jobs must be >= 1");
  if (seed <= 0 || seed > 2147483647) throw usage_error("--seed must be in 1..2147483647");
  if (po.starts_max == 0) throw usage_error("--starts-max must be >= 1");
  if (limit < 0) throw usage_error("--limit must be >= 0");
  if (!(po.prefilter.energy_window_kcal >= po.filter.energy_window_kcal))
    throw usage_error("--prefilter-ewin must be >= --ewin (the pre-filter may not drop what the final window keeps)");
  po.seed = static_cast<std::uint32_t>(seed);
  po.xtb.keep_failed = keep_failed;
  // Before any work: the input present, the output folder writable and not the input, no other build writing it.
  // Under mpirun rank 0 holds the lock for the job; every rank builds its share of the molecules (docs/scale.md).
  const auto& job = job::current();
  if (!out_dir.parent_path().empty() && job.root()) fs::create_directories(out_dir.parent_path());
  job.barrier();
  const confsgm::util::output_guard guard(job.root() ? std::vector<std::string>{out_dir.string()} : std::vector<std::string>{},
                                          {input});

  const auto xtb_version = confsgm::xtb::version(po.xtb);
  if (xtb_version.empty())
    throw confsgm::io_error(po.xtb.executable, std::nullopt, std::nullopt,
                            "cannot run '" + po.xtb.executable + " --version' (install GFN2-xTB: apt-get install xtb)");

  auto list = confsgm::rdkit::read_smiles_file(input);
  if (limit > 0 && list.molecules.size() > static_cast<std::size_t>(limit)) list.molecules.resize(limit);
  if (list.molecules.empty() && list.errors.empty())
    throw confsgm::io_error(input, std::nullopt, std::nullopt, "lists no molecules");
  {
    std::set<std::string> seen;
    for (const auto& m : list.molecules) {
      safe_id(m.id);
      if (!seen.insert(m.id).second)
        throw confsgm::invalid_argument(input + ": molecule id '" + m.id + "' appears twice");
    }
  }
  const fs::path mol_dir = out_dir / "molecules";
  // Results are reused by molecule id, so a folder must never mix recipes.
  const std::string recipe = recipe_json(po);
  const fs::path recipe_file = out_dir / "recipe.json";
  if (job.root()) {
    fs::create_directories(mol_dir);
    if (fs::exists(recipe_file)) {
      if (read_text(recipe_file) != recipe + "\n")
        throw usage_error(out_dir.string() + " holds results of another recipe (see its recipe.json); use a new --out "
                          "folder or delete it");
    } else {
      write_text_atomically(recipe_file, recipe + "\n");
    }
    // Leftovers of a killed run: half-written files never count as results.
    for (const auto& e : fs::directory_iterator(mol_dir))
      if (e.path().extension() == ".partial") fs::remove(e.path());
  }
  job.barrier();

  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < list.molecules.size(); ++i)
    if (!fs::exists(mol_dir / (list.molecules[i].id + ".status"))) pending.push_back(i);
  job.barrier();  // every rank has listed what is done before any rank adds to it
  const std::size_t already = list.molecules.size() - pending.size();
  if (!quiet && job.root())
    std::cerr << "[build-dataset] " << list.molecules.size() << " molecules in " << input << ", " << already
              << " already done in " << out_dir.string() << ", " << pending.size() << " to build with " << jobs
              << " jobs" << (job.sharded() ? " on each of " + std::to_string(job.size()) + " ranks" : "") << " (xtb "
              << xtb_version << ")\n";
  if (job.sharded()) {
    // Molecules dealt by cost: atoms x ETKDG starts (the protocol's count, from the rotatable bonds).
    std::vector<std::uint64_t> cost;
    for (const std::size_t i : pending) {
      const auto& mol = *list.molecules[i].mol;
      std::unique_ptr<RDKit::ROMol> heavy(RDKit::MolOps::removeHs(mol));
      const unsigned rotors = RDKit::Descriptors::calcNumRotatableBonds(*heavy);
      const unsigned starts = std::min(po.starts_max, po.starts_base + po.starts_per_rotatable_bond * rotors);
      cost.push_back(std::uint64_t{mol.getNumAtoms()} * std::max(1u, starts));
    }
    const auto owner = confsgm::util::deal_by_cost(cost, static_cast<unsigned>(job.size()));
    std::vector<std::size_t> mine;
    for (std::size_t j = 0; j < pending.size(); ++j)
      if (owner[j] == static_cast<unsigned>(job.rank())) mine.push_back(pending[j]);
    pending = std::move(mine);
  }

  progress prog("build-dataset", pending.size(), !quiet && job.root());
  std::atomic<std::size_t> next{0}, done{0};
  std::mutex report;
  std::exception_ptr worker_error;
  auto worker = [&] {
    try {
      for (;;) {
        const std::size_t k = next.fetch_add(1);
        if (k >= pending.size()) return;
        const auto& m = list.molecules[pending[k]];
        auto b = confsgm::data::build_geom_ensemble(m, po);
        if (b.ok) {
          confsgm::rdkit::sdf_writer w((mol_dir / (m.id + ".sdf")).string());
          for (std::size_t c = 0; c < b.conformers.size(); ++c)
            w.write(*b.mol, b.conformers.conformers[c], b.conformers.info[c].title, b.conformers.info[c].properties);
          w.commit();
        }
        write_text_atomically(mol_dir / (m.id + ".status"), status_line(b) + "\n");
        const auto d = done.fetch_add(1) + 1;
        std::lock_guard lock(report);
        prog.step(d, m.id + (b.ok ? " ok, " + std::to_string(b.stats.kept) + " conformers"
                                  : " FAILED: " + b.reason) +
                         " (" + std::to_string(static_cast<int>(b.stats.seconds)) + " s)");
      }
    } catch (...) {
      std::lock_guard lock(report);
      if (!worker_error) worker_error = std::current_exception();
      next = pending.size();  // stop the other workers after their current molecule
    }
  };
  std::vector<std::thread> pool;
  for (long t = 0; t < jobs; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (worker_error) std::rethrow_exception(worker_error);
  job.barrier();  // every rank's molecules are built
  if (!job.root()) return std::stoi(job.broadcast(""));

  // Assemble: every input accounted for, in input order.
  std::string status = std::string(status_header) + "\n";
  std::string sdf;
  std::size_t n_ok = 0, n_failed = 0, n_conformers = 0;
  for (const auto& e : list.errors) {
    status += "line " + std::to_string(e.line().value_or(0)) + "\tfailed\t" + tsv_clean(e.what()) +
              "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n";
    ++n_failed;
  }
  for (const auto& m : list.molecules) {
    const auto line = read_text(mol_dir / (m.id + ".status"));
    status += line;
    if (line.find("\tok\t") != std::string::npos) {
      const auto text = read_text(mol_dir / (m.id + ".sdf"));
      std::size_t pos = 0;
      while ((pos = text.find("$$$$", pos)) != std::string::npos) ++n_conformers, pos += 4;
      sdf += text;
      ++n_ok;
    } else {
      ++n_failed;
    }
  }
  confsgm::write_gzip_file((out_dir / "ensembles.sdf.gz").string(), sdf);
  write_text_atomically(out_dir / "status.tsv", status);
  std::ostringstream manifest;
  manifest << "{\n"
           << "  \"input\": " << json::quote(input) << ",\n"
           << "  \"molecules_listed\": " << list.molecules.size() + list.errors.size() << ",\n"
           << "  \"molecules_ok\": " << n_ok << ",\n"
           << "  \"molecules_failed\": " << n_failed << ",\n"
           << "  \"conformers\": " << n_conformers << ",\n"
           << "  \"recipe\": " << recipe << ",\n"
           << "  \"versions\": {\"confsgm\": \"" CONFSGM_VERSION_STRING "\", \"rdkit\": \"" CONFSGM_RDKIT_VERSION
              "\", \"xtb\": " << json::quote(xtb_version) << "}\n"
           << "}\n";
  write_text_atomically(out_dir / "manifest.json", manifest.str());
  if (!quiet)
    std::cerr << "[build-dataset] " << n_ok << " ok, " << n_failed << " failed, " << n_conformers
              << " conformers -> " << (out_dir / "ensembles.sdf.gz").string() << "\n";
  return std::stoi(job.broadcast(std::to_string(n_failed ? partial : ok)));
}

}  // namespace app
