// `confsgm properties`: ensemble property prediction (paper Table V): GFN2-xTB
// single points of reference and generated conformers, per-molecule mean and
// lowest energy, mean, smallest and largest HOMO-LUMO gap, and their mean
// absolute errors over molecules, in eV.
#include <confsgm/util/wire.hpp>
#include <confsgm/confsgm.hpp>
#include <confsgm/eval/ensemble_properties.hpp>
#include <confsgm/random/philox.hpp>
#include <confsgm/rdkit/sdf.hpp>
#include <confsgm/util/deal.hpp>
#include <confsgm/util/parallel.hpp>
#include <confsgm/xtb/library.hpp>
#include <confsgm/xtb/program.hpp>

#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>

#include "cli.hpp"
#include "job.hpp"

namespace app {

namespace {

std::map<std::string, confsgm::ensemble<double>> read_by_id(const std::string& path, std::size_t& rejected) {
  auto r = confsgm::rdkit::read_sdf(path);
  for (const auto& e : r.errors) std::cerr << "error: " << e.what() << "\n";
  for (const auto& e : r.dropped) std::cerr << "note: " << e.what() << "\n";
  rejected += r.errors.size();
  std::map<std::string, confsgm::ensemble<double>> out;
  for (auto& m : r.molecules) out.emplace(m.data.id, std::move(m.data));
  if (out.empty()) throw confsgm::io_error(path, std::nullopt, std::nullopt, "no usable molecule");
  return out;
}

/// Up to @p k indices of [0, n), drawn without replacement by a seeded shuffle, in ascending order.
std::vector<std::size_t> draw(std::size_t n, std::size_t k, std::uint64_t seed, std::uint32_t key) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  const confsgm::random::stream s(seed, confsgm::random::purpose::user, key);
  for (std::size_t i = n; i > 1; --i)
    std::swap(idx[i - 1], idx[s.below(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i))]);
  idx.resize(std::min(n, k));
  std::sort(idx.begin(), idx.end());
  return idx;
}

struct molecule_properties {
  std::vector<double> energy_ev, gap_ev;
  std::size_t failed = 0;
  std::string first_failure;
};

molecule_properties compute(const confsgm::ensemble<double>& e, const std::vector<std::size_t>& confs, bool relax,
                            unsigned jobs) {
  molecule_properties p;
  const int q = e.graph.net_charge();
  std::vector<confsgm::coordinates<double>> xyz(confs.size());
  std::vector<std::string> problem(confs.size());
  for (std::size_t k = 0; k < confs.size(); ++k) xyz[k] = e.conformers[confs[k]];
  if (relax) {  // Torsional Diffusion relaxes generated conformers with xtb first
    confsgm::parallel_for(confs.size(), jobs, [&](std::size_t k) {
      const auto r = confsgm::xtb::optimize(e.graph, xyz[k], q);
      if (r.ok) xyz[k] = r.xyz;
      else problem[k] = "relaxation: " + r.message;
    });
  }
  confsgm::xtb::gfn2_calculator calc(e.graph, q);
  for (std::size_t k = 0; k < confs.size(); ++k) {
    if (problem[k].empty()) {
      const auto r = calc.singlepoint(xyz[k]);
      if (r.ok) {
        p.energy_ev.push_back(r.energy_hartree * confsgm::xtb::ev_per_hartree);
        p.gap_ev.push_back(r.homo_lumo_gap_ev);
        continue;
      }
      problem[k] = r.message;
    }
    ++p.failed;
    if (p.first_failure.empty()) p.first_failure = "conformer " + std::to_string(confs[k]) + ": " + problem[k];
  }
  return p;
}

std::string f4(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(4) << v;
  return s.str();
}

}  // namespace

int run_properties(arguments& args) {
  const auto ref_path = args.required("ref");
  const auto gen_path = args.required("gen");
  const auto n_mol = args.count("molecules", 30);
  const auto n_conf = args.count("conformers", 50);
  const auto seed = args.count<std::uint64_t>("seed", 2021);
  const auto average = args.str("average", "mean");
  const bool relax = args.flag("relax");
  const bool per_molecule = args.flag("per-molecule");
  const bool quiet = args.flag("quiet");
  const auto json_path = args.str("json");
  auto label = args.str("label");
  const auto jobs = args.count<unsigned>("jobs", 2);
  args.reject_unknown();
  if (n_mol == 0 || n_conf == 0) throw usage_error("--molecules and --conformers must be >= 1");
  if (average != "mean" && average != "boltzmann") throw usage_error("--average must be mean or boltzmann");
  const auto avg = average == "mean" ? confsgm::ensemble_average::mean : confsgm::ensemble_average::boltzmann;
  // Under mpirun the chosen molecules are dealt to the ranks (docs/scale.md); rank 0 reports and writes.
  const auto& job = job::current();
  const confsgm::util::output_guard guard(job.root() ? std::vector<std::string>{json_path} : std::vector<std::string>{},
                                          {ref_path, gen_path});
  silence_unless quiet_rank(job.root());  // the other ranks leave the messages to rank 0

  std::size_t rejected = 0;
  const auto ref = read_by_id(ref_path, rejected);
  const auto gen = read_by_id(gen_path, rejected);
  if (label.empty()) {
    const auto m = gen.begin()->second.info.front().property("method");
    label = m ? *m : gen_path;
  }
  std::vector<std::string> ids;
  std::size_t missing = 0;
  for (const auto& [id, e] : ref) {
    if (gen.count(id)) ids.push_back(id);
    else ++missing;
  }
  if (ids.empty()) throw confsgm::io_error(gen_path, std::nullopt, std::nullopt, "no molecule in common with " + ref_path);
  const auto chosen = draw(ids.size(), n_mol, seed, 0);
  std::vector<confsgm::ensemble_property_summary> rs, gs;
  std::vector<std::string> used;
  std::size_t failed_conformers = 0, skipped = 0;
  // Each molecule's reference and generated properties; under mpirun, dealt by cost (atoms x conformers, doubled
  // for the generated side when it is relaxed first) and collected on rank 0 bit for bit.
  std::vector<std::pair<molecule_properties, molecule_properties>> computed(chosen.size());
  std::vector<std::uint64_t> cost;
  for (const auto c : chosen) {
    const auto& id = ids[c];
    const auto atoms = ref.at(id).graph.num_atoms();
    cost.push_back(atoms * (std::min(n_conf, ref.at(id).size()) + (relax ? 10 : 1) * std::min(n_conf, gen.at(id).size())));
  }
  const auto owner = confsgm::util::deal_by_cost(cost, static_cast<unsigned>(job.size()));
  progress prog("properties", confsgm::util::items_of(owner, 0).size(), !quiet && job.root());
  confsgm::util::wire_writer mine;
  std::size_t done = 0;
  for (std::size_t k = 0; k < chosen.size(); ++k) {
    if (owner[k] != static_cast<unsigned>(job.rank())) continue;
    const auto& id = ids[chosen[k]];
    const auto& re = ref.at(id);
    const auto& ge = gen.at(id);
    computed[k] = {compute(re, draw(re.size(), n_conf, seed, 1 + 2 * static_cast<std::uint32_t>(k)), false, jobs),
                   compute(ge, draw(ge.size(), n_conf, seed, 2 + 2 * static_cast<std::uint32_t>(k)), relax, jobs)};
    prog.step(++done, "molecules (" + id + ")");
    if (!job.sharded()) continue;
    mine.u64(k);
    for (const auto* p : {&computed[k].first, &computed[k].second})
      mine.f64s(p->energy_ev), mine.f64s(p->gap_ev), mine.u64(p->failed), mine.str(p->first_failure);
  }
  if (job.sharded()) {
    const auto parts = job.gather(mine.bytes());
    if (!job.root()) return std::stoi(job.broadcast(""));
    for (std::size_t r = 1; r < parts.size(); ++r) {
      confsgm::util::wire_reader in(parts[r], "properties");
      while (!in.done()) {
        const auto k = in.u64();
        if (k >= computed.size() || owner[k] != r) throw confsgm::error("rank " + std::to_string(r) + " sent molecule " + std::to_string(k) + ", not dealt to it");
        for (auto* p : {&computed[k].first, &computed[k].second}) {
          p->energy_ev = in.f64s(), p->gap_ev = in.f64s();
          p->failed = in.u64(), p->first_failure = in.str();
        }
      }
    }
  }
  for (std::size_t k = 0; k < chosen.size(); ++k) {
    const auto& id = ids[chosen[k]];
    const auto& [rp, gp] = computed[k];
    failed_conformers += rp.failed + gp.failed;
    for (const auto* p : {&rp, &gp})
      if (p->failed) std::cerr << "error: " << id << ": " << p->failed << " conformer(s) failed, e.g. " << p->first_failure << "\n";
    if (rp.energy_ev.empty() || gp.energy_ev.empty()) {
      std::cerr << "error: " << id << ": no conformer with properties on one side; molecule left out\n";
      ++skipped;
      continue;
    }
    rs.push_back(confsgm::summarize_properties(rp.energy_ev, rp.gap_ev, avg));
    gs.push_back(confsgm::summarize_properties(gp.energy_ev, gp.gap_ev, avg));
    used.push_back(id);
  }
  const auto mae = confsgm::property_mae(rs, gs);
  std::cout << "Ensemble properties (GFN2-xTB " << (relax ? "after xtb relaxation of generated conformers, " : "")
            << "single points), MAE over " << mae.molecules << " molecules in eV; up to " << n_conf
            << " conformers per ensemble, " << average << " averages, seed " << seed << "\n\n"
            << "| Method | E | E_min | gap | gap_min | gap_max |\n|---|---|---|---|---|---|\n"
            << "| " << label << " | " << f4(mae.energy) << " | " << f4(mae.min_energy) << " | " << f4(mae.gap) << " | "
            << f4(mae.min_gap) << " | " << f4(mae.max_gap) << " |\n";
  if (per_molecule) {
    std::cout << "\n| molecule | n_ref | n_gen | E ref | E gen | E_min ref | E_min gen | gap ref | gap gen |\n"
              << "|---|---|---|---|---|---|---|---|---|\n";
    for (std::size_t m = 0; m < used.size(); ++m)
      std::cout << "| " << used[m] << " | " << rs[m].conformers << " | " << gs[m].conformers << " | "
                << f4(rs[m].mean_energy) << " | " << f4(gs[m].mean_energy) << " | " << f4(rs[m].min_energy) << " | "
                << f4(gs[m].min_energy) << " | " << f4(rs[m].mean_gap) << " | " << f4(gs[m].mean_gap) << " |\n";
  }
  if (!json_path.empty()) {
    std::ostringstream j;
    j << "{\"label\": " << json::quote(label) << ", \"molecules\": " << mae.molecules << ", \"conformers\": " << n_conf
      << ", \"seed\": " << seed << ", \"average\": " << json::quote(average) << ", \"relax\": " << (relax ? "true" : "false")
      << ", \"mae_ev\": {\"E\": " << json::number(mae.energy) << ", \"E_min\": " << json::number(mae.min_energy)
      << ", \"gap\": " << json::number(mae.gap) << ", \"gap_min\": " << json::number(mae.min_gap)
      << ", \"gap_max\": " << json::number(mae.max_gap) << "}, \"failed_conformers\": " << failed_conformers
      << ", \"molecules_left_out\": " << skipped << ", \"reference_molecules_without_generated\": " << missing << "}\n";
    confsgm::util::write_file_atomically(json_path, j.str());
  }
  std::cerr << "properties: " << mae.molecules << " molecules, " << failed_conformers << " conformers failed, " << skipped
            << " molecules left out, " << missing << " reference molecules had no generated conformers\n";
  return std::stoi(job.broadcast(std::to_string((rejected || failed_conformers || skipped) ? partial : ok)));
}

}  // namespace app
