// `confsgm generate`: conformer ensembles for the molecules of a SMILES list,
// CSV or reference SDF, written as one multi-conformer SDF.
#include <confsgm/confsgm.hpp>
#include <confsgm/rdkit/etkdg.hpp>
#include <confsgm/rdkit/sdf.hpp>
#include <confsgm/util/parse.hpp>
#include <RDGeneral/versions.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>

#include "cli.hpp"
#include "confgf.hpp"
#include "cuda_backend.hpp"
#include "generate_journal.hpp"
#include "shipped_models.hpp"
#include "torsional.hpp"

namespace app {

namespace {
/// Noise streams are keyed (molecule << stream_bits) + conformer in 32 bits: a run has at most 2^16 molecules for
/// the samplers, each with at most 2^16 conformers.
constexpr unsigned stream_bits = 16;
constexpr std::size_t max_conformers_per_molecule = std::size_t{1} << stream_bits;
constexpr std::size_t max_molecules_per_run = std::size_t{1} << (32 - stream_bits);

/// The largest molecule, in heavy atoms, a model was trained on (its file's training_heavy_atoms_max); none for
/// model files written before the entry existed.
std::optional<std::size_t> training_heavy_atoms_max(const std::map<std::string, std::string>& header,
                                                    const std::string& model_file) {
  const auto entry = header.find("training_heavy_atoms_max");
  if (entry == header.end()) return std::nullopt;
  const auto limit = confsgm::parse_whole_number<std::size_t>(entry->second);
  if (!limit)
    throw confsgm::io_error(model_file, std::nullopt, std::nullopt,
                            "entry 'training_heavy_atoms_max' is not a number ('" + entry->second + "')");
  return limit;
}

/// Which of the candidate models (their training domains; none = unknown, taken as unbounded) serves a molecule
/// of @p heavy_atoms: the smallest domain that holds it, a model trained on molecules like it; when none does,
/// the largest.
std::size_t choose_model(const std::vector<std::optional<std::size_t>>& domains, std::size_t heavy_atoms) {
  const auto size_of = [](const std::optional<std::size_t>& d) { return d.value_or(SIZE_MAX); };
  std::size_t best = 0;
  for (std::size_t i = 1; i < domains.size(); ++i) {
    const bool holds_best = size_of(domains[best]) >= heavy_atoms, holds_i = size_of(domains[i]) >= heavy_atoms;
    if (holds_i != holds_best ? holds_i
                              : holds_i ? size_of(domains[i]) < size_of(domains[best])
                                        : size_of(domains[i]) > size_of(domains[best]))
      best = i;
  }
  return best;
}

/// Warns when molecules are larger than any their model was trained on. The shipped QM9 models lose to ETKDG
/// on drug-sized molecules (docs/results.md), and a user should not learn that by accident.
void warn_outside_training_domain(std::optional<std::size_t> limit, const std::string& model_file,
                                  const std::vector<const confsgm::rdkit::molecule*>& mols) {
  if (!limit) return;
  std::size_t larger = 0;
  const confsgm::rdkit::molecule* largest = nullptr;
  for (const auto* m : mols) {
    if (m->graph.num_heavy_atoms() <= *limit) continue;
    ++larger;
    if (!largest || m->graph.num_heavy_atoms() > largest->graph.num_heavy_atoms()) largest = m;
  }
  if (larger)
    std::cerr << "warning: " << larger << " of " << mols.size() << " molecules have more heavy atoms than any "
              << "molecule the model " << model_file << " was trained on (at most " << *limit << "; largest here: "
              << largest->id << " with " << largest->graph.num_heavy_atoms() << "). The model extrapolates there and "
              << "may do worse than ETKDG (docs/results.md, Drugs test set)\n";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}
/// Sampled conformers into an ETKDG-style result: samples that did not finish are named and left out,
/// and every written conformer's R/S and E/Z labels are compared with the input's.
template <class Coordinates>
confsgm::rdkit::etkdg_result sampled_result(const confsgm::rdkit::molecule& m, std::size_t n,
                                            const std::vector<confsgm::sample::sample_status>& status, Coordinates&& coordinates,
                                            bool reflect_mirror_images, std::ostream& messages,
                                            std::size_t& reflected) {
  confsgm::rdkit::etkdg_result res;
  res.requested = n;
  res.mol = m.mol;
  res.conformers = confsgm::ensemble<double>(m.id, m.graph);
  const auto expected = confsgm::rdkit::specified_stereo(m.graph);
  RDKit::RWMol probe(*m.mol);
  for (std::size_t c = 0; c < n; ++c) {
    if (!status[c].ok()) {
      messages << "error: " << m.id << " conformer " << c << ": " << to_string(status[c]) << "; not written\n";
      continue;
    }
    confsgm::coordinates<double> xyz = coordinates(c);
    confsgm::conformer_info info;
    info.title = m.id + "_conf" + std::to_string(c);
    const auto problem_of = [&](const confsgm::coordinates<double>& x) {
      probe.clearConformers();
      confsgm::rdkit::set_coordinates(probe, x);
      return confsgm::rdkit::stereo_mismatch(expected, confsgm::rdkit::stereo_from_3d(probe), m.graph);
    };
    auto problem = problem_of(xyz);
    if (!problem.empty() && reflect_mirror_images) {
      // Distances cannot tell a conformer from its mirror image; the reflection has the same distances
      // and is taken when it has the input's stereo (E/Z errors and partly inverted centres remain).
      confsgm::coordinates<double> mirrored = xyz;
      mirrored.col(0) *= -1.0;
      if (problem_of(mirrored).empty()) {
        xyz = std::move(mirrored);
        problem.clear();
        info.status = "ok (mirror image of the sample)";
        ++reflected;
      }
    }
    if (!problem.empty()) info.status = "stereo mismatch: " + problem;
    res.conformers.add(xyz, std::move(info));
  }
  res.embedded = res.conformers.size();
  return res;
}

/// The first of molecule @p k's noise streams: noise is keyed by the molecule's index and the conformer's
/// (stream_offset, molecule_seed), never by the thread, so the thread count changes the speed only.
std::uint32_t stream_offset(std::size_t k) { return static_cast<std::uint32_t>(k) << stream_bits; }

/// What of the build can change the samples or the written text: a resumed file must not mix two builds (an SSE2
/// and an AVX-512 build sample different conformers from the same noise; docs/performance.md).
std::string build_fingerprint() {
  std::string isa;
#if defined(__AVX512F__)
  isa += " avx512f";
#endif
#if defined(__AVX2__)
  isa += " avx2";
#endif
#if defined(__FMA__)
  isa += " fma";
#endif
  return std::string("confsgm ") + CONFSGM_VERSION_STRING + ", g++ " + __VERSION__ + ", isa" + (isa.empty() ? " baseline" : isa) +
         ", rdkit " + RDKit::rdkitVersion;
}

/// `--backend cuda` with distance models: every molecule's conformers (@p wanted[k] of molecule k, from model
/// @p model_of[k]) sampled before the output loop, many molecules per launch, each molecule with its own noise
/// streams (the CPU's). Entry k stays empty where molecule k cannot be sampled (no or too many conformers
/// wanted, no distance structure): the per-molecule path then reports why.
std::vector<std::optional<confsgm::sample::langevin_result>> sample_confgf_on_gpu(
    const std::vector<confgf_model>& models, const std::vector<confsgm::rdkit::molecule>& mols,
    const std::vector<std::size_t>& model_of, const std::vector<std::size_t>& wanted,
    const confsgm::sample::langevin_options& o) {
  std::vector<std::optional<confsgm::sample::langevin_result>> results(mols.size());
  std::vector<confsgm::distance_structure> structures(mols.size());
  for (std::size_t i = 0; i < models.size(); ++i) {
    std::vector<cuda_backend::confgf_job> jobs;
    std::vector<std::size_t> job_molecule;
    for (std::size_t k = 0; k < mols.size(); ++k) {
      if (model_of[k] != i || wanted[k] == 0 || wanted[k] > max_conformers_per_molecule) continue;
      try {
        structures[k] = confsgm::distance_space::describe(mols[k].graph);
      } catch (const std::exception&) {
        continue;
      }
      jobs.push_back({&structures[k], wanted[k], stream_offset(k)});
      job_molecule.push_back(k);
    }
    if (jobs.empty()) continue;
    auto batch = cuda_backend::confgf_sample(models[i].network, models[i].parameters, models[i].schedule, jobs, o);
    for (std::size_t j = 0; j < jobs.size(); ++j) results[job_molecule[j]] = std::move(batch[j]);
  }
  return results;
}

/// One molecule of a `--backend cuda` torsional run: its ETKDG local structures, and the sampler's result or why
/// there is none.
struct torsional_on_gpu {
  std::vector<confsgm::torsion_structure> local;
  std::optional<confsgm::sample::torus_result> result;
  std::string error;
};

/// `--backend cuda` with torsion models: the ETKDG local structures of all molecules first, on @p threads host
/// threads, then every molecule's samples in shared launches, each with its own start state and noise streams
/// (the CPU's, seeded by @p o.seed). Molecules that cannot be sampled keep an empty result, with the ETKDG error
/// where there was one.
std::vector<torsional_on_gpu> sample_torsional_on_gpu(const std::vector<torsional_model>& models,
                                                      const std::vector<confsgm::rdkit::molecule>& mols,
                                                      const std::vector<std::size_t>& model_of,
                                                      const std::vector<std::size_t>& wanted,
                                                      const confsgm::sample::torus_sampler_options& o,
                                                      std::size_t steps, bool reuse_local, unsigned threads) {
  std::vector<torsional_on_gpu> out(mols.size());
  const auto sampled = [&](std::size_t k) { return wanted[k] > 0 && wanted[k] <= max_conformers_per_molecule; };
  confsgm::parallel_for(mols.size(), threads, [&](std::size_t k) {
    if (!sampled(k)) return;
    try {
      out[k].local = local_structures(mols[k], reuse_local ? 1 : wanted[k], molecule_seed(o.seed, k),
                                      models[model_of[k]].rule);
    } catch (const std::exception& e) {
      out[k].error = e.what();
    }
  });
  for (std::size_t i = 0; i < models.size(); ++i) {
    std::vector<const confsgm::torsion_structure*> samples;
    std::vector<std::vector<double>> start;
    std::vector<std::uint32_t> keys;
    std::vector<std::size_t> molecule_of_span, span_first;
    for (std::size_t k = 0; k < mols.size(); ++k) {
      const auto& local = out[k].local;
      if (model_of[k] != i || local.empty() || !sampled(k)) continue;
      std::vector<const confsgm::torsion_structure*> mine;
      for (std::size_t c = 0; c < wanted[k]; ++c) mine.push_back(&local[c % local.size()]);
      auto st = confsgm::sample::initial_torsions(mine, nullptr, o.seed, stream_offset(k), "generate");
      molecule_of_span.push_back(k);
      span_first.push_back(samples.size());
      for (std::size_t c = 0; c < wanted[k]; ++c) {
        samples.push_back(mine[c]);
        start.push_back(std::move(st[c]));
        keys.push_back(stream_offset(k) + static_cast<std::uint32_t>(c));
      }
    }
    if (samples.empty()) continue;
    const auto& model = models[i];
    const confsgm::log_uniform_schedule sched(model.sigma_max, model.sigma_min, steps);
    auto all = cuda_backend::torsional_sample(model.network, model.parameters, sched, samples, o, start, keys);
    span_first.push_back(samples.size());
    for (std::size_t m = 0; m < molecule_of_span.size(); ++m) {
      confsgm::sample::torus_result r;
      for (std::size_t c = span_first[m]; c < span_first[m + 1]; ++c) {
        r.torsions.push_back(std::move(all.torsions[c]));
        r.status.push_back(all.status[c]);
        r.diverged += !all.status[c].ok();
      }
      out[molecule_of_span[m]].result = std::move(r);
    }
  }
  return out;
}

}  // namespace

int run_generate(arguments& args) {
  const auto method = args.str("method", "etkdg");
  const auto input = args.required("input");
  const auto output = args.required("output");
  const long num = args.integer("num", 0);
  const double multiplier = args.number("multiplier", 2.0);
  confsgm::rdkit::etkdg_options eo;
  const long seed = args.integer("seed", 42);
  const long threads = args.integer("threads", 0);
  eo.mmff = args.flag("mmff");
  eo.mmff_max_iterations = args.count<unsigned>("mmff-iterations", 2000);
  eo.prune_rms = args.number("prune-rms", -1.0);
  eo.use_random_coords = args.flag("random-coords");
  const bool allow_fragments = args.flag("allow-fragments");
  const bool quiet = args.flag("quiet");
  const auto group_by = args.str("group-by", "mol_id");
  const auto model_path = args.str("model");
  confsgm::sample::langevin_options lo;
  lo.steps_per_level = args.count("steps-per-level", 100);
  lo.step_size = args.number("step-size", 2.4e-6);
  lo.clip = args.number("clip", 1000.0);
  lo.init_std = args.number("init-std", 1.0);
  confsgm::sample::torus_sampler_options to;
  const auto sampler = args.str("sampler", "sde");
  const auto steps = args.count("steps", 20);
  to.steps_per_level = args.count("langevin-steps", 10);
  to.step_size = args.number("langevin-step-size", 2e-4);
  const bool reuse_local = args.flag("reuse-local");
  const auto backend = args.str("backend", "cpu");
  const auto mirror_option = args.str("mirror-images");
  const bool resume = args.flag("resume");
  args.reject_unknown();
  const std::string mirror_images = mirror_option.empty() ? "reflect" : mirror_option;
  if (mirror_images != "reflect" && mirror_images != "keep")
    throw usage_error("--mirror-images must be 'reflect' (default) or 'keep' (ConfGF as published), got '" +
                      mirror_images + "'");
  if (!mirror_option.empty() && method != "confgf")
    throw usage_error("--mirror-images applies to --method confgf only (ETKDG and torsional sampling keep the "
                      "input's chirality by construction)");
  if (method != "etkdg" && method != "confgf" && method != "torsional")
    throw usage_error("--method '" + method + "' is not available; this build offers: etkdg, confgf, torsional");
  if (backend == "cuda" && method == "etkdg")
    throw usage_error("--backend cuda runs the score models (--method confgf or torsional)");
  // A GPU run samples every molecule up front in shared launches; their grouping (and with it the fp32 rounding,
  // which a trajectory amplifies) would change with the resume point.
  if (resume && backend == "cuda")
    throw usage_error("--resume is for --backend cpu: a GPU run samples all molecules up front in shared launches, "
                      "so a resumed one would not equal an uninterrupted one (and GPU runs take minutes)");
  const bool gpu = cuda_backend::selected(backend);
  // --model FILE or a shipped model's name. By default the shipped IP models of the method's state space, one
  // per data family where shipped (QM9, Drugs); each molecule then goes to the one whose training domain fits it
  // best (choose_model).
  std::vector<std::string> model_files;
  if (method != "etkdg") {
    const std::string space = method == "confgf" ? "distance" : "torsion";
    if (!model_path.empty()) {
      model_files.push_back(resolve_model(model_path, ""));
    } else {
      for (const std::string family : {"qm9", "drugs"}) {
        const auto shipped = std::filesystem::path(model_dir()) / (family + "-" + space + "-ip.bin");
        if (std::filesystem::is_regular_file(shipped)) model_files.push_back(shipped.string());
      }
      if (model_files.empty()) model_files.push_back(resolve_model("", "qm9-" + space + "-ip"));  // names what is missing
    }
  }
  to.method = confsgm::sample::parse_torus_method(sampler);
  if (steps == 0) throw usage_error("--steps must be > 0");
  if (lo.steps_per_level == 0 || !(lo.step_size > 0)) throw usage_error("--steps-per-level and --step-size must be > 0");
  const bool confgf = method == "confgf", torsional = method == "torsional";
  std::vector<confgf_model> confgf_models;
  std::vector<torsional_model> torsional_models;
  std::vector<std::optional<std::size_t>> domains;
  for (const auto& f : model_files) {
    if (confgf) confgf_models.push_back(load_confgf_model(f));
    if (torsional) torsional_models.push_back(load_torsional_model(f));
    domains.push_back(training_heavy_atoms_max(confgf ? confgf_models.back().header : torsional_models.back().header, f));
  }
  if (seed <= 0 || seed > 2147483647) throw usage_error("--seed must be in 1..2147483647 (RDKit seeds conformer i with seed*(i+1))");
  if (threads < 0) throw usage_error("--threads must be >= 0");
  if (num < 0) throw usage_error("--num must be >= 0");
  if (static_cast<std::size_t>(num) > max_conformers_per_molecule)
    throw usage_error("--num must be at most " + std::to_string(max_conformers_per_molecule) + " per molecule and run");
  if (!(multiplier > 0) || !std::isfinite(multiplier)) throw usage_error("--multiplier must be a finite number > 0");
  eo.seed = static_cast<std::uint32_t>(seed);
  eo.threads = static_cast<unsigned>(threads);

  // Molecules to generate for, with their reference counts where known.
  std::vector<confsgm::rdkit::molecule> mols;
  std::size_t rejected = 0;
  const std::string plain_name = ends_with(input, ".gz") ? input.substr(0, input.size() - 3) : input;
  if (ends_with(plain_name, ".sdf") || ends_with(plain_name, ".sd") || ends_with(plain_name, ".mol")) {
    confsgm::rdkit::sdf_read_options ro;
    ro.group_by = group_by;
    ro.allow_fragments = allow_fragments;
    const auto r = confsgm::rdkit::read_sdf(input, ro);
    for (const auto& e : r.errors) std::cerr << "error: " << e.what() << "\n";
    for (const auto& e : r.dropped) std::cerr << "note: " << e.what() << "\n";
    rejected += r.errors.size();
    for (const auto& m : r.molecules) {
      confsgm::rdkit::molecule x;
      x.id = m.data.id;
      x.mol = m.mol;
      x.graph = m.data.graph;
      x.smiles = confsgm::rdkit::canonical_smiles(*m.mol);
      x.n_reference = m.data.size();
      mols.push_back(std::move(x));
    }
  } else {
    confsgm::rdkit::smiles_options so;
    so.allow_fragments = allow_fragments;
    auto r = confsgm::rdkit::read_smiles_file(input, so);
    for (const auto& e : r.errors) std::cerr << "error: " << e.what() << "\n";
    rejected += r.errors.size();
    mols = std::move(r.molecules);
  }
  if (mols.empty()) {
    std::cerr << "error: " << input << ": no usable molecule\n";
    return input_failure;
  }
  // Molecule k owns the noise streams [k << 16, (k + 1) << 16): one more molecule would reuse molecule 0's.
  if (method != "etkdg" && mols.size() > max_molecules_per_run) {
    std::cerr << "error: " << input << ": " << mols.size() << " molecules; " << method << " takes at most "
              << max_molecules_per_run << " per run (their noise streams would repeat): split the input\n";
    return input_failure;
  }
  std::vector<std::size_t> model_of(mols.size(), 0);
  for (std::size_t k = 0; k < mols.size() && !model_files.empty(); ++k)
    model_of[k] = choose_model(domains, mols[k].graph.num_heavy_atoms());
  for (std::size_t i = 0; i < model_files.size(); ++i) {
    std::vector<const confsgm::rdkit::molecule*> served;
    for (std::size_t k = 0; k < mols.size(); ++k)
      if (model_of[k] == i) served.push_back(&mols[k]);
    warn_outside_training_domain(domains[i], model_files[i], served);
  }

  // One molecule's conformers: computed on a worker thread, written in input order by the calling thread,
  // so the output (file and messages) does not depend on the thread count.
  struct molecule_output {
    std::optional<confsgm::rdkit::etkdg_result> res;  ///< empty: the molecule failed (reason in messages)
    std::string messages;
    std::size_t requested = 0, diverged = 0, reflected = 0;
  };
  // Conformers to generate for each molecule; 0 when unknown.
  // Counts beyond the cap are only reported (the molecule is refused); a huge --multiplier saturates at
  // `too_many` instead of overflowing the conversion.
  constexpr std::size_t too_many = std::size_t{1} << 52;
  std::vector<std::size_t> wanted(mols.size(), 0);
  for (std::size_t k = 0; k < mols.size(); ++k) {
    if (num > 0) {
      wanted[k] = static_cast<std::size_t>(num);
    } else if (mols[k].n_reference) {
      const double n = std::round(multiplier * static_cast<double>(*mols[k].n_reference));
      wanted[k] = n >= static_cast<double>(too_many) ? too_many : std::max<std::size_t>(1, static_cast<std::size_t>(n));
    }
  }
  // The settings that decide the output: a journaled run resumes only under the same ones.
  run_settings settings = {{"method", method}, {"input", file_fingerprint(input)}, {"molecules", std::to_string(mols.size())},
                           {"seed", std::to_string(seed)}, {"num", std::to_string(num)}, {"multiplier", exact(multiplier)},
                           {"group-by", group_by}, {"allow-fragments", allow_fragments ? "yes" : "no"},
                           {"build", build_fingerprint()}};
  if (confgf || torsional) {
    std::string models;
    // The file name too: every record names its model.
    for (const auto& f : model_files)
      models += (models.empty() ? "" : " ") + std::filesystem::path(f).filename().string() + "=" + file_fingerprint(f);
    settings.insert(settings.end(), {{"models", models}, {"backend", backend}});
  }
  if (confgf)
    settings.insert(settings.end(), {{"steps-per-level", std::to_string(lo.steps_per_level)}, {"step-size", exact(lo.step_size)},
                                     {"clip", exact(lo.clip)}, {"init-std", exact(lo.init_std)}, {"mirror-images", mirror_images}});
  if (torsional)
    settings.insert(settings.end(), {{"sampler", sampler}, {"steps", std::to_string(steps)},
                                     {"langevin-steps", std::to_string(to.steps_per_level)},
                                     {"langevin-step-size", exact(to.step_size)}, {"reuse-local", reuse_local ? "yes" : "no"}});
  if (!confgf && !torsional)
    settings.insert(settings.end(), {{"mmff", eo.mmff ? "yes" : "no"}, {"mmff-iterations", std::to_string(eo.mmff_max_iterations)},
                                     {"prune-rms", exact(eo.prune_rms)}, {"random-coords", eo.use_random_coords ? "yes" : "no"}});
  std::vector<std::string> ids;
  for (const auto& m : mols) ids.push_back(m.id);
  generate_journal journal(output + ".journal", std::move(settings), resume, ids);
  const std::size_t resume_from = journal.finished().size();
  molecule_tally totals;
  for (const auto& e : journal.finished()) totals += e.tally;
  if (journal.discarded_earlier_run())
    std::cerr << "note: " << journal.path() << " of an earlier, unfinished run was replaced: this run starts afresh "
              << "(--resume continues such a run)\n";
  if (resume && !journal.resumed())
    std::cerr << "note: --resume: no journal " << journal.path() << "; generating every molecule\n";
  if (journal.resumed())
    std::cerr << "resumed: " << resume_from << " of " << mols.size() << " molecules already generated ("
              << totals.written << " conformers, from " << journal.path() << ")\n";

  // --backend cuda samples every molecule up front, many per launch; generate_one then only collects the results.
  // (A GPU run never resumes, so every molecule is wanted.)
  std::vector<std::optional<confsgm::sample::langevin_result>> gpu_confgf;
  std::vector<torsional_on_gpu> gpu_torsional;
  if (gpu && confgf) {
    auto o = lo;
    o.seed = eo.seed;
    gpu_confgf = sample_confgf_on_gpu(confgf_models, mols, model_of, wanted, o);
  }
  if (gpu && torsional) {
    auto o = to;
    o.seed = eo.seed;
    gpu_torsional = sample_torsional_on_gpu(torsional_models, mols, model_of, wanted, o, steps, reuse_local,
                                            confsgm::resolve_threads(eo.threads));
  }
  const auto generate_one = [&](std::size_t k, unsigned inner_threads) {
    const auto& m = mols[k];
    molecule_output out;
    std::ostringstream msg;
    const std::size_t n = wanted[k];
    out.requested = n;
    if (n == 0) {
      msg << "error: " << m.id << ": no --num given and the input lists no reference count\n";
      out.messages = msg.str();
      return out;
    }
    // More conformers than the molecule's noise streams would repeat samples (ETKDG shares the cap: no run
    // needs more, and it keeps a typo in --multiplier from asking for billions).
    if (n > max_conformers_per_molecule) {
      msg << "error: " << m.id << ": " << (n == too_many ? "more than 2^52" : std::to_string(n))
          << " conformers requested; at most " << max_conformers_per_molecule
          << " per molecule and run (run again with another --seed for more)\n";
      out.messages = msg.str();
      return out;
    }
    try {
      if (confgf) {
        const auto& model = confgf_models[model_of[k]];
        // Annealed Langevin (paper Algorithm 1) with the trained distance model.
        const auto st = confsgm::distance_space::describe(m.graph);
        auto o = lo;
        o.seed = eo.seed;
        o.threads = inner_threads;
        o.stream_offset = stream_offset(k);  // molecules draw different noise
        const confsgm::sample::network_pair_score<confgf_network> score(model.network, model.parameters);
        if (gpu && !gpu_confgf[k]) throw confsgm::error("no GPU result for this molecule");
        const auto r = gpu ? std::move(*gpu_confgf[k])
                           : confsgm::sample::annealed_langevin<float>(score, model.schedule, st, n, o);
        out.res = sampled_result(
            m, n, r.status, [&](std::size_t c) { return confsgm::coordinates<double>(r.conformers[c]); },
            mirror_images == "reflect", msg, out.reflected);
        out.diverged = r.diverged;
      } else if (torsional) {
        const auto& model = torsional_models[model_of[k]];
        // ETKDG local structures, dihedrals from the torus sampler (reverse SDE by default, 20 steps).
        if (gpu && !gpu_torsional[k].error.empty()) throw confsgm::error(gpu_torsional[k].error);
        const auto local = gpu ? std::move(gpu_torsional[k].local)
                               : local_structures(m, reuse_local ? 1 : n, molecule_seed(eo.seed, k), model.rule);
        if (local.empty()) throw confsgm::error("ETKDG produced no local structure with the input's stereo");
        std::vector<const confsgm::torsion_structure*> samples;
        for (std::size_t c = 0; c < n; ++c) samples.push_back(&local[c % local.size()]);
        auto o = to;
        o.seed = eo.seed;
        o.threads = inner_threads;
        o.stream_offset = stream_offset(k);
        const confsgm::log_uniform_schedule sched(model.sigma_max, model.sigma_min, steps);
        const confsgm::sample::network_torsion_score<torsional_network> score(model.network, model.parameters);
        if (gpu && !gpu_torsional[k].result) throw confsgm::error("no GPU result for this molecule");
        const auto r = gpu ? std::move(*gpu_torsional[k].result)
                           : confsgm::sample::sample_torsions<float>(score, sched, samples, o);
        out.res = sampled_result(
            m, n, r.status,
            [&](std::size_t c) { return confsgm::torsion_space::coordinates_of(*samples[c], r.torsions[c]); },
            false, msg, out.reflected);
        out.diverged = r.diverged;
      } else {
        auto o = eo;
        o.threads = inner_threads;
        out.res = confsgm::rdkit::generate_etkdg(m, n, o);
      }
    } catch (const cuda_backend::device_failure&) {
      throw;  // the device is unusable: stop the run
    } catch (const std::exception& e) {
      msg << "error: " << m.id << ": " << (confgf ? "confgf sampling" : torsional ? "torsional sampling" : "ETKDG")
          << " failed: " << e.what() << "\n";
    }
    out.messages = msg.str();
    return out;
  };
  // A molecule with at least a full network batch per thread runs alone on all threads (its sampler splits
  // the conformers); runs of smaller molecules are spread over the threads, one molecule per thread.
  const unsigned threads_used = gpu ? 1u : confsgm::resolve_threads(eo.threads);
  const std::size_t batch = confgf ? lo.chunk : torsional ? to.chunk : 1;
  const auto runs_alone = [&](std::size_t k) { return threads_used <= 1 || wanted[k] >= batch * threads_used; };

  // The partial output stays when the run stops early: with the journal it is where --resume continues.
  const auto open_output = [&] {
    try {
      return std::make_unique<confsgm::rdkit::sdf_writer>(
          output, confsgm::rdkit::sdf_writer_options{
                      .keep_partial = true,
                      .resume_at = resume_from ? std::optional<std::uintmax_t>(journal.finished().back().end)
                                               : std::nullopt});
    } catch (const confsgm::io_error& e) {
      if (!resume_from) throw;
      throw confsgm::io_error(e.file(), e.line(), e.record(),
                              e.reason() + " (journal " + journal.path() + "; delete it and the partial file, or run "
                              "without --resume, to start over)");
    }
  };
  const auto writer_ptr = open_output();
  auto& writer = *writer_ptr;
  progress prog("generate", mols.size(), !quiet, resume_from);
  // One molecule's conformers into the output; returns what it adds to the run's totals.
  const auto write_molecule = [&](std::size_t k, const molecule_output& out) {
    const auto& m = mols[k];
    molecule_tally tally;
    std::cerr << out.messages;
    tally.diverged = out.diverged;
    tally.reflected = out.reflected;
    if (!out.res) {
      tally.failed = 1;
      return tally;
    }
    const auto& res = *out.res;
    const std::size_t n = out.requested;
    if (res.embedded == 0) {
      std::cerr << "error: " << m.id << ": " << method << " produced none of " << n << " conformers\n";
      tally.failed = 1;
      return tally;
    }
    if (res.embedded < n)
      std::cerr << "warning: " << m.id << ": " << method << " produced " << res.embedded << " of " << n << " conformers\n";
    if (res.mmff_parameters_missing)
      std::cerr << "warning: " << m.id << ": MMFF94 has no parameters for this molecule; conformers not relaxed\n";
    // Rank 1 = lowest energy where energies exist, else generation order.
    std::vector<std::size_t> order(res.conformers.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const auto &ea = res.conformers.info[a].energy, &eb = res.conformers.info[b].energy;
      if (ea && eb) return *ea < *eb;
      return false;
    });
    std::vector<std::size_t> rank(order.size());
    for (std::size_t r = 0; r < order.size(); ++r) rank[order[r]] = r + 1;
    std::size_t written = 0;
    for (std::size_t c = 0; c < res.conformers.size(); ++c) {
      const auto& info = res.conformers.info[c];
      // The samplers report divergence themselves; this guards every method (ETKDG + MMFF included) so that one
      // bad conformer costs itself, not the run (the writer refuses non-finite coordinates).
      if (!res.conformers.conformers.is_finite(c)) {
        std::cerr << "error: " << info.title << ": non-finite coordinates; conformer not written\n";
        ++tally.diverged;
        continue;
      }
      std::vector<std::pair<std::string, std::string>> props = {
          {"mol_id", m.id},
          {"conf_index", std::to_string(c)},
          {"method", confgf ? "confgf" : torsional ? "torsional-" + sampler : eo.mmff ? "etkdg+mmff" : "etkdg"},
          {"seed", std::to_string(eo.seed)},
          {"smiles", m.smiles},
      };
      if (!model_files.empty())
        props.emplace_back("model", std::filesystem::path(model_files[model_of[k]]).filename().string());
      if (info.energy) props.emplace_back("energy", fixed(*info.energy, 6));
      if (info.energy) props.emplace_back("energy_unit", "kcal/mol (MMFF94)");
      props.emplace_back("rank", std::to_string(rank[c]));
      props.emplace_back("status", info.status);
      writer.write(*res.mol, res.conformers.conformers[c], info.title, props);
      ++written;
      if (info.status.rfind("stereo", 0) == 0) {
        ++tally.stereo_bad;
        std::cerr << "warning: " << info.title << ": " << info.status << "\n";
      }
    }
    tally.written = written;
    prog.step(k + 1, "molecules (" + m.id + ": " + std::to_string(written) + " conformers)");
    return tally;
  };
  for (std::size_t first = resume_from; first < mols.size();) {
    std::size_t last = first + 1;
    if (!runs_alone(first))
      while (last < mols.size() && last - first < 4 * threads_used && !runs_alone(last)) ++last;
    std::vector<molecule_output> outs(last - first);
    if (outs.size() == 1) {
      outs[0] = generate_one(first, eo.threads);
    } else {
      std::atomic<std::size_t> next{0};
      confsgm::parallel_for(threads_used, threads_used, [&](std::size_t) {
        for (std::size_t i = next.fetch_add(1); i < outs.size(); i = next.fetch_add(1)) outs[i] = generate_one(first + i, 1);
      });
    }
    for (std::size_t i = 0; i < outs.size(); ++i) {
      const auto tally = write_molecule(first + i, outs[i]);
      totals += tally;
      journal.record(mols[first + i].id, writer.flush(), tally);
    }
    first = last;
  }
  // The journal goes first: a run stopped between the two steps starts again rather than resuming from a
  // partial file that is no longer there.
  journal.remove();
  writer.commit();
  std::cerr << "wrote " << totals.written << " conformers of " << (mols.size() - totals.failed) << " molecules to "
            << output << " (" << totals.failed << " molecules failed, " << rejected << " input records rejected, "
            << totals.stereo_bad << " conformers with a stereo mismatch, " << totals.diverged
            << " conformers diverged and not written, " << totals.reflected << " mirror images reflected)\n";
  return (totals.failed || rejected || totals.diverged) ? partial : ok;
}

}  // namespace app
