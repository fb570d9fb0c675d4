// `confsgm evaluate`: reference SDF vs generated SDF -> COV/MAT table (paper
// layout) and JSON.
#include <confsgm/util/wire.hpp>
#include <confsgm/confsgm.hpp>
#include <confsgm/rdkit/sdf.hpp>
#include <confsgm/util/deal.hpp>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#if CONFSGM_HAS_IO
#include <confsgm/io/npy.hpp>
#endif

#include "cli.hpp"
#include "job.hpp"

namespace app {

/// A file name for molecule @p id's RMSD matrix: ids become file names, so they are kept portable.
static std::string matrix_file(const std::string& dir, std::string id) {
  for (auto& c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) c = '_';
  return dir + "/" + id + ".npy";
}

static void write_matrix(const std::string& dir, const confsgm::molecule_evaluation& m) {
#if CONFSGM_HAS_IO
  if (!dir.empty()) confsgm::io::write_npy(matrix_file(dir, m.coverage.id), m.rmsd);
#else
  (void)dir, (void)m;
#endif
}

/// `evaluate` under mpirun (docs/scale.md): reference molecules dealt to the ranks by cost (reference x generated
/// conformers x atoms), each rank evaluating its own (and writing their RMSD matrices), rank 0 collecting every
/// molecule's result, bit for bit, in reference order. Other ranks get an empty list.
static std::vector<confsgm::molecule_evaluation> evaluate_sharded(
    const std::vector<confsgm::ensemble<double>>& refs, const std::vector<const confsgm::ensemble<double>*>& paired,
    const confsgm::evaluation_options& opts, const std::string& rmsd_dir, progress& prog) {
  const auto& job = job::current();
  std::vector<std::uint64_t> cost;
  for (std::size_t i = 0; i < refs.size(); ++i)
    cost.push_back(std::max<std::uint64_t>(1, refs[i].size() * (paired[i] ? paired[i]->size() : 1) * refs[i].graph.num_atoms()));
  const auto owner = confsgm::util::deal_by_cost(cost, static_cast<unsigned>(job.size()));
  confsgm::util::wire_writer out;
  std::size_t done = 0;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    if (owner[i] != static_cast<unsigned>(job.rank())) continue;
    const auto m = confsgm::evaluate_molecule(refs[i], paired[i], opts);
    write_matrix(rmsd_dir, m);
    const auto& c = m.coverage;
    out.u64(i);
    out.str(c.id);
    out.u64(c.n_ref), out.u64(c.n_gen), out.u64(c.n_gen_failed), out.u64(c.missing);
    out.f64(c.cov_r), out.f64(c.mat_r), out.f64(c.cov_p), out.f64(c.mat_p);
    out.f64s(c.cov_r_sweep), out.f64s(c.cov_p_sweep);
    out.u64(m.n_automorphisms), out.u64(m.automorphisms_truncated);
    out.str(m.problem);
    prog.step(++done, "of rank 0's molecules (" + c.id + ": " + std::to_string(c.n_ref) + " ref x " +
                          std::to_string(c.n_gen) + " gen)");
  }
  const auto parts = job.gather(out.bytes());
  std::vector<confsgm::molecule_evaluation> molecules(job.root() ? refs.size() : 0);
  std::vector<bool> seen(molecules.size(), false);
  for (const auto& part : parts) {
    confsgm::util::wire_reader in(part, "evaluate");
    while (!in.done()) {
      const auto i = in.u64();
      if (i >= molecules.size() || seen[i]) throw confsgm::error("a rank sent molecule " + std::to_string(i) + " twice or out of range");
      seen[i] = true;
      auto& m = molecules[i];
      auto& c = m.coverage;
      c.id = in.str();
      c.n_ref = in.u64(), c.n_gen = in.u64(), c.n_gen_failed = in.u64(), c.missing = in.u64() != 0;
      c.cov_r = in.f64(), c.mat_r = in.f64(), c.cov_p = in.f64(), c.mat_p = in.f64();
      c.cov_r_sweep = in.f64s(), c.cov_p_sweep = in.f64s();
      m.n_automorphisms = in.u64(), m.automorphisms_truncated = in.u64() != 0;
      m.problem = in.str();
    }
  }
  for (std::size_t i = 0; i < seen.size(); ++i)
    if (!seen[i]) throw confsgm::error("no rank evaluated molecule " + std::to_string(i + 1));
  return molecules;
}

static void print_rejections(const std::string& what, const confsgm::rdkit::sdf_read_result& r) {
  for (const auto& e : r.errors) std::cerr << "error: " << what << ": " << e.what() << "\n";
  for (const auto& e : r.dropped) std::cerr << "note: " << what << ": " << e.what() << "\n";
}

static std::string pct(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << 100.0 * v;
  return std::isfinite(v) ? s.str() : "n/a";
}
static std::string ang(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(4) << v;
  return std::isfinite(v) ? s.str() : "n/a";
}

int run_evaluate(arguments& args) {
  const auto ref_path = args.required("ref");
  const auto gen_path = args.required("gen");
  confsgm::evaluation_options opts;
  opts.coverage.threshold = args.number("threshold", 1.25);
  const auto op = args.str("op", "lt");
  if (op == "lt") opts.coverage.comparison = confsgm::threshold_comparison::less;
  else if (op == "le") opts.coverage.comparison = confsgm::threshold_comparison::less_equal;
  else throw usage_error("--op must be 'lt' (paper, TD) or 'le' (ConfGF/GeoDiff), got '" + op + "'");
  const auto missing = args.str("missing", "uncovered");
  if (missing == "uncovered") opts.coverage.missing = confsgm::missing_molecule_policy::count_as_uncovered;
  else if (missing == "exclude") opts.coverage.missing = confsgm::missing_molecule_policy::exclude;
  else throw usage_error("--missing must be 'uncovered' or 'exclude', got '" + missing + "'");
  if (args.flag("sweep"))
    for (int k = 0; k < 20; ++k) opts.coverage.sweep.push_back(0.125 * k);  // TD's 0..2.375 grid
  opts.rmsd.symmetrize_conjugated_terminal_groups = !args.flag("no-symmetrize-terminal");
  const auto atoms = args.str("atoms", "heavy");
  if (atoms != "heavy" && atoms != "removehs")
    throw usage_error("--atoms must be 'heavy' (strictly heavy atoms, default) or 'removehs' (the atoms RDKit's "
                      "RemoveHs keeps, as Torsional Diffusion and GeoMol score), got '" + atoms + "'");
  opts.rmsd.atoms = confsgm::parse_compared_atoms(atoms);
  const long threads = args.integer("threads", 0);
  if (threads < 0) throw usage_error("--threads must be >= 0");
  opts.threads = static_cast<unsigned>(threads);
  const auto json_path = args.str("json");
  const auto rmsd_dir = args.str("rmsd-dir");
#if !CONFSGM_HAS_IO
  if (!rmsd_dir.empty())
    throw usage_error("--rmsd-dir needs a build with confsgm::io (CMake option CONFSGM_ENABLE_IO, package libxtensor-dev)");
#endif
  opts.keep_matrices = !rmsd_dir.empty();
  const auto label_opt = args.str("label");
  confsgm::rdkit::sdf_read_options ro;
  ro.group_by = args.str("group-by", "mol_id");
  const bool quiet = args.flag("quiet");
  const bool per_molecule = args.flag("per-molecule");
  args.reject_unknown();
  if (!(opts.coverage.threshold >= 0)) throw usage_error("--threshold must be >= 0");
  // Under mpirun rank 0 holds the lock for the job and writes the reports.
  const auto& job = job::current();
  const confsgm::util::output_guard guard(job.root() ? std::vector<std::string>{json_path} : std::vector<std::string>{},
                                          {ref_path, gen_path});

  const auto refs = confsgm::rdkit::read_sdf(ref_path, ro);
  const auto gens = confsgm::rdkit::read_sdf(gen_path, ro);
  if (job.root()) {
    print_rejections("reference", refs);
    print_rejections("generated", gens);
  }
  if (refs.molecules.empty()) throw confsgm::io_error(ref_path, std::nullopt, std::nullopt, "no usable reference molecule");
  std::vector<confsgm::ensemble<double>> ref_sets, gen_sets;
  for (const auto& m : refs.molecules) ref_sets.push_back(m.data);
  for (const auto& m : gens.molecules) gen_sets.push_back(m.data);
  std::string label = label_opt;
  if (label.empty() && !gen_sets.empty() && !gen_sets[0].info.empty())
    label = gen_sets[0].info[0].property("method").value_or("");
  if (label.empty()) label = gen_path.substr(gen_path.find_last_of('/') + 1);

  progress prog("evaluate", ref_sets.size(), !quiet && job.root());
  confsgm::evaluation_report report;
  if (job.sharded()) {
    if (!rmsd_dir.empty() && job.root()) std::filesystem::create_directories(rmsd_dir);
    job.barrier();
    auto [paired, unpaired] = confsgm::pair_by_id(ref_sets, gen_sets);
    report.options = opts;
    report.generated_without_reference = std::move(unpaired);
    report.molecules = evaluate_sharded(ref_sets, paired, opts, rmsd_dir, prog);
    if (!job.root()) return std::stoi(job.broadcast(""));
    report.summary = confsgm::summarize_evaluations(report.molecules, opts);
  } else {
    report = confsgm::evaluate_ensembles<double>(
        ref_sets, gen_sets, opts, [&](std::size_t i, std::size_t, const confsgm::molecule_evaluation& m) {
          prog.step(i + 1, "molecules (" + m.coverage.id + ": " + std::to_string(m.coverage.n_ref) + " ref x " +
                               std::to_string(m.coverage.n_gen) + " gen)");
        });
  }
  for (const auto& id : report.generated_without_reference)
    std::cerr << "note: generated molecule '" << id << "' has no reference and is not evaluated\n";
  for (const auto& m : report.molecules)
    if (!m.problem.empty())
      std::cerr << "warning: molecule '" << m.coverage.id << "' counts as missing: " << m.problem << "\n";

  if (!rmsd_dir.empty() && !job.sharded()) {  // a sharded run's ranks wrote their molecules' matrices
    std::filesystem::create_directories(rmsd_dir);
    for (const auto& m : report.molecules) write_matrix(rmsd_dir, m);
  }
  const auto& s = report.summary;
  const char* opname = opts.coverage.comparison == confsgm::threshold_comparison::less ? "<" : "<=";
  std::cout << "COV/MAT over " << s.n_molecules << " molecules (" << s.n_missing
            << " without generated conformers), "
            << (opts.rmsd.atoms == confsgm::compared_atoms::heavy ? "heavy-atom" : "RemoveHs-atom (heavy + stereo H)")
            << " symmetry-aware RMSD, covered if RMSD " << opname
            << " " << opts.coverage.threshold << " A\n\n";
  std::cout << "| Method | COV-R Mean (%) | COV-R Median (%) | MAT-R Mean (A) | MAT-R Median (A) | COV-P Mean (%) | "
               "COV-P Median (%) | MAT-P Mean (A) | MAT-P Median (A) |\n";
  std::cout << "|---|---|---|---|---|---|---|---|---|\n";
  std::cout << "| " << label << " | " << pct(s.cov_r_mean) << " | " << pct(s.cov_r_median) << " | "
            << ang(s.mat_r_mean) << " | " << ang(s.mat_r_median) << " | " << pct(s.cov_p_mean) << " | "
            << pct(s.cov_p_median) << " | " << ang(s.mat_p_mean) << " | " << ang(s.mat_p_median) << " |\n";
  if (per_molecule) {
    std::cout << "\n| molecule | n_ref | n_gen | COV-R (%) | MAT-R (A) | COV-P (%) | MAT-P (A) | automorphisms |\n"
              << "|---|---|---|---|---|---|---|---|\n";
    for (const auto& m : report.molecules) {
      const auto& c = m.coverage;
      std::cout << "| " << c.id << " | " << c.n_ref << " | " << c.n_gen << " | " << pct(c.cov_r) << " | "
                << ang(c.mat_r) << " | " << pct(c.cov_p) << " | " << ang(c.mat_p) << " | " << m.n_automorphisms
                << " |\n";
    }
  }
  if (!s.cov_r_sweep_mean.empty()) {
    std::cout << "\n| threshold (A) | COV-R Mean (%) | COV-P Mean (%) |\n|---|---|---|\n";
    for (std::size_t k = 0; k < opts.coverage.sweep.size(); ++k)
      std::cout << "| " << opts.coverage.sweep[k] << " | " << pct(s.cov_r_sweep_mean[k]) << " | "
                << pct(s.cov_p_sweep_mean[k]) << " |\n";
  }

  if (!json_path.empty()) {
    std::ofstream j(json_path + ".partial");
    j << "{\n  \"tool\": \"confsgm evaluate\", \"version\": " << json::quote(CONFSGM_VERSION_STRING)
      << ",\n  \"method\": " << json::quote(label) << ", \"reference\": " << json::quote(ref_path)
      << ", \"generated\": " << json::quote(gen_path) << ",\n  \"threshold\": " << json::number(opts.coverage.threshold)
      << ", \"op\": " << json::quote(op) << ", \"missing_policy\": " << json::quote(missing)
      << ", \"atoms\": " << json::quote(atoms) << ", \"symmetrize_terminal_groups\": " << (opts.rmsd.symmetrize_conjugated_terminal_groups ? "true" : "false")
      << ",\n  \"n_molecules\": " << s.n_molecules << ", \"n_missing\": " << s.n_missing
      << ",\n  \"rejected_reference_records\": " << refs.errors.size()
      << ", \"dropped_reference_records\": " << refs.dropped.size()
      << ", \"rejected_generated_records\": " << gens.errors.size() << ",\n  \"molecules\": {";
    bool first = true;
    for (const auto& m : report.molecules) {
      const auto& c = m.coverage;
      j << (first ? "\n" : ",\n") << "    " << json::quote(c.id) << ": {\"n_ref\": " << c.n_ref
        << ", \"n_gen\": " << c.n_gen << ", \"n_gen_failed\": " << c.n_gen_failed
        << ", \"missing\": " << (c.missing ? "true" : "false") << ", \"cov_r\": " << json::number(c.cov_r)
        << ", \"mat_r\": " << json::number(c.mat_r) << ", \"cov_p\": " << json::number(c.cov_p)
        << ", \"mat_p\": " << json::number(c.mat_p) << ", \"automorphisms\": " << m.n_automorphisms << "}";
      first = false;
    }
    j << "\n  },\n  \"aggregate\": {\"cov_r_mean\": " << json::number(s.cov_r_mean)
      << ", \"cov_r_median\": " << json::number(s.cov_r_median) << ", \"mat_r_mean\": " << json::number(s.mat_r_mean)
      << ", \"mat_r_median\": " << json::number(s.mat_r_median) << ", \"cov_p_mean\": " << json::number(s.cov_p_mean)
      << ", \"cov_p_median\": " << json::number(s.cov_p_median) << ", \"mat_p_mean\": " << json::number(s.mat_p_mean)
      << ", \"mat_p_median\": " << json::number(s.mat_p_median) << "}";
    if (!opts.coverage.sweep.empty()) {
      j << ",\n  \"sweep\": [";
      for (std::size_t k = 0; k < opts.coverage.sweep.size(); ++k)
        j << (k ? ", " : "") << "{\"threshold\": " << json::number(opts.coverage.sweep[k])
          << ", \"cov_r_mean\": " << json::number(s.cov_r_sweep_mean[k])
          << ", \"cov_p_mean\": " << json::number(s.cov_p_sweep_mean[k]) << "}";
      j << "]";
    }
    j << "\n}\n";
    j.close();
    if (!j) throw confsgm::io_error(json_path, std::nullopt, std::nullopt, "could not write the JSON report");
    std::filesystem::rename(json_path + ".partial", json_path);
  }
  const bool rejected = !refs.errors.empty() || !gens.errors.empty();
  return std::stoi(job.broadcast(std::to_string(rejected ? partial : ok)));
}

}  // namespace app
