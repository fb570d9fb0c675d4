// `confsgm generate`: conformer ensembles for the molecules of a SMILES list,
// CSV or reference SDF, written as one multi-conformer SDF.
//
// The library does the work (confsgm/generate/generators.hpp: one Generator per method, each molecule with its
// own noise streams and the model whose training domain fits it); this file parses the options, reads the input,
// keeps the journal that --resume continues, spreads molecules over threads or shares GPU launches between them,
// and writes the conformers in input order.
#include <confsgm/confsgm.hpp>
#include <confsgm/generate/generators.hpp>
#include <confsgm/generate/refine.hpp>
#include <confsgm/generate/select.hpp>
#include <confsgm/generate/shared_batches.hpp>
#include <confsgm/rdkit/etkdg.hpp>
#include <confsgm/rdkit/sdf.hpp>
#include <confsgm/util/deal.hpp>
#include <confsgm/util/parse.hpp>
#include <RDGeneral/versions.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <variant>

#include "cli.hpp"
#include "cuda_backend.hpp"
#include "generate_journal.hpp"
#include "generate_parts.hpp"
#include "job.hpp"
#include "shipped_models.hpp"

namespace app {

namespace {

namespace gen = confsgm::generate;
using confsgm::rdkit::generated_conformers;
using confgf_generator = gen::distance_generator<>;
using torsional_generator = gen::torsion_generator<>;
using any_generator = std::variant<gen::etkdg_generator, confgf_generator, torsional_generator>;
using any_refiner = std::variant<std::monostate, gen::mmff_refiner, gen::xtb_refiner>;  // monostate: --relax none
using any_selector = std::variant<std::monostate, gen::energy_selector, gen::diverse_selector>;  // monostate: no --select

/// Everything `generate` was asked to do, checked.
struct generate_request {
  std::string method, input, output, group_by, backend, sampler, relax = "none";
  unsigned relax_iterations = 2000;
  std::string relax_level = "normal";  ///< xtb's optimisation level (gfnff, gfn2)
  bool keep_changed = false;
  std::size_t oversample = 1;          ///< pool = oversample x the requested count, then --select keeps the count
  std::string select;                  ///< "", "energy" or "diverse"
  std::optional<double> energy_window; ///< kcal/mol (--energy-window)
  long num = 0;
  double multiplier = 2.0;
  bool allow_fragments = false, quiet = false, reuse_local = false, resume = false, gpu = false;
  confsgm::rdkit::etkdg_options etkdg;
  confsgm::sample::langevin_options langevin;
  confsgm::sample::torus_sampler_options torus;
  std::size_t steps = 20;
  confsgm::rdkit::mirror_images mirrors = confsgm::rdkit::mirror_images::reflect;
  std::vector<std::string> model_files;
  /// Sampling-time compensation, part by part; parts not given follow each model file's recommendation unless
  /// --sampling-defaults none (langevin/torus above hold the parts given).
  confsgm::sample::compensation_request compensation;
  bool confgf() const { return method == "confgf"; }
  bool torsional() const { return method == "torsional"; }
};

generate_request parse_request(arguments& args) {
  generate_request q;
  q.method = args.str("method", "etkdg");
  q.input = args.required("input");
  q.output = args.required("output");
  q.num = args.integer("num", 0);
  q.multiplier = args.number("multiplier", 2.0);
  const long seed = args.integer("seed", 42);
  const long threads = args.integer("threads", 0);
  auto& eo = q.etkdg;
  eo.mmff = args.flag("mmff");
  eo.mmff_max_iterations = args.count<unsigned>("mmff-iterations", 2000);
  eo.prune_rms = args.number("prune-rms", -1.0);
  eo.use_random_coords = args.flag("random-coords");
  q.allow_fragments = args.flag("allow-fragments");
  q.quiet = args.flag("quiet");
  q.group_by = args.str("group-by", "mol_id");
  const auto model_path = args.str("model");
  auto& lo = q.langevin;
  lo.steps_per_level = args.count("steps-per-level", 100);
  lo.step_size = args.number("step-size", 2.4e-6);
  lo.clip = args.number("clip", 1000.0);
  lo.init_std = args.number("init-std", 1.0);
  auto& to = q.torus;
  q.sampler = args.str("sampler", "sde");
  q.steps = args.count("steps", 20);
  to.steps_per_level = args.count("langevin-steps", 10);
  to.step_size = args.number("langevin-step-size", 2e-4);
  q.reuse_local = args.flag("reuse-local");
  q.backend = args.str("backend", "cpu");
  const auto mirror_option = args.str("mirror-images");
  q.resume = args.flag("resume");
  q.relax = args.str("relax", "none");
  q.relax_iterations = args.count<unsigned>("relax-iterations", 2000);
  q.relax_level = args.str("relax-level", "normal");
  q.keep_changed = args.flag("keep-changed");
  const auto guidance_name = args.str("particle-guidance");
  q.compensation = read_compensation(args, "model");
  if (!guidance_name.empty()) {
    const auto g = confsgm::sample::particle_guidance::preset(guidance_name);
    if (!g)
      throw usage_error("--particle-guidance must be one of " + confsgm::sample::particle_guidance::preset_list() +
                        " (S, C: numbers > 0), got '" + guidance_name + "'");
    q.compensation.guidance = *g;
  }
  const auto compensation = q.compensation.resolve();  // the parts given
  auto unguided = compensation;  // guidance goes to the sampler of its space only (checked below)
  unguided.guidance = {};
  (q.confgf() ? compensation : unguided).apply_to(lo);
  (q.torsional() ? compensation : unguided).apply_to(to);
  q.oversample = args.count("oversample", 1);
  q.select = args.str("select");
  if (args.has("energy-window")) q.energy_window = args.number("energy-window", 6.0);
  args.reject_unknown();
  if (q.oversample == 0) throw usage_error("--oversample must be >= 1");
  if (compensation.active() && q.method == "etkdg")
    throw usage_error(compensation_options_named(compensation) + ": sampling-time compensation applies to a score "
                      "model's sampler (--method confgf or torsional)");
  if (q.torsional() && compensation.scaling.active()) {  // lambda at t = 1 and t = L (the line's ends), before any work
    const double low = std::min(compensation.scaling.b + compensation.scaling.k,
                                compensation.scaling.b + compensation.scaling.k * static_cast<double>(q.steps));
    if (!(low > 0))
      throw usage_error("Epsilon Scaling's lambda = k t + b must be > 0 at every level (t = 1 .. --steps); --epsilon-k " +
                        std::to_string(compensation.scaling.k) + " --epsilon-b " + std::to_string(compensation.scaling.b) +
                        " gives " + std::to_string(low));
  }
  if (compensation.guidance.active()) {
    using kind = confsgm::sample::particle_guidance::space_kind;
    if (!q.torsional() && !q.confgf())
      throw usage_error("--particle-guidance applies to a score model's sampler (--method confgf or torsional)");
    const kind sampled = q.confgf() ? kind::distance : kind::torsion;
    if (compensation.guidance.space != sampled)
      throw usage_error("--particle-guidance " + guidance_name + " is set for the " +
                        confsgm::sample::particle_guidance::space_name(compensation.guidance.space) + " space; --method " +
                        q.method + " samples the " + confsgm::sample::particle_guidance::space_name(sampled) +
                        " space (presets: " + confsgm::sample::particle_guidance::preset_list() + ")");
    if (q.torsional() && q.sampler != "sde") throw usage_error("--particle-guidance runs with --sampler sde");
    if (cuda_backend::selected(q.backend)) throw usage_error("--particle-guidance runs on --backend cpu for now");
  }
  if (compensation.shift.active() && q.confgf() && cuda_backend::selected(q.backend))
    throw usage_error("--sigma-shift-window with --method confgf runs on --backend cpu (the GPU distance sampler "
                      "gives every conformer one sigma; torsional shifts on both)");
  if (!q.select.empty() && q.select != "energy" && q.select != "diverse")
    throw usage_error("--select must be 'energy' (lowest energies, duplicates removed) or 'diverse' (farthest-point "
                      "RMSD), got '" + q.select + "'");
  if (q.oversample > 1 && q.select.empty())
    throw usage_error("--oversample " + std::to_string(q.oversample) + " generates a pool: say how to keep the requested "
                      "number with --select energy|diverse");
  if (q.select == "energy" && q.relax == "none" && !eo.mmff)
    throw usage_error("--select energy needs energies: refine the conformers (--relax mmff94|mmff94s|gfnff|gfn2, or "
                      "--mmff for ETKDG), or use --select diverse");
  if (q.energy_window && (q.select.empty() || (q.relax == "none" && !eo.mmff)))
    throw usage_error("--energy-window needs --select and energies (--relax or --mmff)");
  if (q.energy_window && !(*q.energy_window >= 0 && std::isfinite(*q.energy_window)))
    throw usage_error("--energy-window must be a finite number >= 0 (kcal/mol)");
  if (q.relax != "none" && q.relax != "mmff94" && q.relax != "mmff94s" && q.relax != "gfnff" && q.relax != "gfn2")
    throw usage_error("--relax must be none, mmff94, mmff94s, gfnff or gfn2, got '" + q.relax + "'");
  if (q.relax != "none" && eo.mmff)
    throw usage_error("--mmff relaxes ETKDG's conformers with MMFF94 already; give --relax or --mmff, not both");
  if (q.relax == "none" && (q.keep_changed || args.has("relax-iterations")))
    throw usage_error("--keep-changed and --relax-iterations need --relax");
  if (q.relax_iterations == 0) throw usage_error("--relax-iterations must be > 0");
  if (args.has("relax-level") && q.relax != "gfnff" && q.relax != "gfn2")
    throw usage_error("--relax-level sets xtb's optimisation level: it needs --relax gfnff or gfn2");
  if (!confsgm::xtb::is_optimization_level(q.relax_level))
    throw usage_error("--relax-level must be crude, sloppy, loose, normal, tight, vtight or extreme, got '" +
                      q.relax_level + "'");
  if (!mirror_option.empty() && mirror_option != "reflect" && mirror_option != "keep")
    throw usage_error("--mirror-images must be 'reflect' (default) or 'keep' (ConfGF as published), got '" +
                      mirror_option + "'");
  if (!mirror_option.empty()) q.mirrors = confsgm::rdkit::parse_mirror_images(mirror_option);
  if (!mirror_option.empty() && !q.confgf())
    throw usage_error("--mirror-images applies to --method confgf only (ETKDG and torsional sampling keep the "
                      "input's chirality by construction)");
  if (q.method != "etkdg" && !q.confgf() && !q.torsional())
    throw usage_error("--method '" + q.method + "' is not available; this build offers: etkdg, confgf, torsional");
  if (q.backend == "cuda" && q.method == "etkdg")
    throw usage_error("--backend cuda runs the score models (--method confgf or torsional)");
  // A GPU run samples every molecule up front in shared launches; their grouping (and with it the fp32 rounding,
  // which a trajectory amplifies) would change with the resume point.
  if (q.resume && q.backend == "cuda")
    throw usage_error("--resume is for --backend cpu: a GPU run samples all molecules up front in shared launches, "
                      "so a resumed one would not equal an uninterrupted one (and GPU runs take minutes)");
  q.gpu = cuda_backend::selected(q.backend);
  // --model FILE or a shipped model's name. By default the shipped IP models of the method's state space, one
  // per data family where shipped (QM9, Drugs); each molecule then goes to the one whose training domain fits it
  // best (generate::choose_model).
  if (q.method != "etkdg") {
    const std::string space = q.confgf() ? "distance" : "torsion";
    if (!model_path.empty()) {
      q.model_files.push_back(resolve_model(model_path, ""));
    } else {
      for (const std::string family : {"qm9", "drugs"}) {
        const auto shipped = std::filesystem::path(model_dir()) / (family + "-" + space + "-ip.bin");
        if (std::filesystem::is_regular_file(shipped)) q.model_files.push_back(shipped.string());
      }
      if (q.model_files.empty()) q.model_files.push_back(resolve_model("", "qm9-" + space + "-ip"));  // names what is missing
    }
  }
  to.method = confsgm::sample::parse_torus_method(q.sampler);
  if (q.steps == 0) throw usage_error("--steps must be > 0");
  if (lo.steps_per_level == 0 || !(lo.step_size > 0)) throw usage_error("--steps-per-level and --step-size must be > 0");
  if (seed <= 0 || seed > 2147483647) throw usage_error("--seed must be in 1..2147483647 (RDKit seeds conformer i with seed*(i+1))");
  if (threads < 0) throw usage_error("--threads must be >= 0");
  if (q.num < 0) throw usage_error("--num must be >= 0");
  if (static_cast<std::size_t>(q.num) > gen::max_conformers_per_molecule)
    throw usage_error("--num must be at most " + std::to_string(gen::max_conformers_per_molecule) + " per molecule and run");
  if (!(q.multiplier > 0) || !std::isfinite(q.multiplier)) throw usage_error("--multiplier must be a finite number > 0");
  eo.seed = static_cast<std::uint32_t>(seed);
  eo.threads = static_cast<unsigned>(threads);
  lo.seed = to.seed = eo.seed;
  return q;
}

/// The request's refiner (--relax).
any_refiner make_refiner(const generate_request& q) {
  if (q.relax == "mmff94" || q.relax == "mmff94s")
    return gen::mmff_refiner(q.relax == "mmff94" ? gen::mmff_refiner::variant::mmff94 : gen::mmff_refiner::variant::mmff94s,
                             q.relax_iterations);
  if (q.relax == "gfnff" || q.relax == "gfn2") {
    confsgm::xtb::program_options xo;
    xo.method = q.relax == "gfnff" ? confsgm::xtb::hamiltonian::gfnff : confsgm::xtb::hamiltonian::gfn2;
    xo.optimization_level = q.relax_level;
    xo.max_cycles = q.relax_iterations;
    if (confsgm::xtb::version(xo).empty())
      throw usage_error("--relax " + q.relax + " runs the xtb program, which is not on PATH (Debian: apt-get install xtb)");
    return gen::xtb_refiner(xo);
  }
  return std::monostate{};
}

/// The request's selector (--select), with its energy window (--energy-window; energy rule: 6 kcal/mol by default).
any_selector make_selector(const generate_request& q) {
  if (q.select == "energy") {
    confsgm::data::ensemble_filter_options fo;
    if (q.energy_window) fo.energy_window_kcal = *q.energy_window;
    return gen::energy_selector(fo);
  }
  if (q.select == "diverse") return gen::diverse_selector(q.energy_window);
  return std::monostate{};
}

/// The request's generator, owning its models.
any_generator make_generator(const generate_request& q) {
  if (q.confgf()) {
    confgf_generator g(gen::model_set<confgf_generator::network_type>::load(q.model_files), q.langevin, q.mirrors,
                       q.compensation);
    for (std::size_t i = 0; q.gpu && i < g.models().size(); ++i) {
      if (g.options(i).shift.active())
        throw usage_error(q.model_files[i] + " recommends sigma-shift, which --method confgf runs on --backend cpu "
                          "only; give --sigma-shift-window 0 (or --sampling-defaults none) to sample without it");
      if (g.options(i).guidance.active())
        throw usage_error(q.model_files[i] + " recommends particle guidance, which --method confgf runs on --backend "
                          "cpu only; give --particle-guidance none (or --sampling-defaults none) to sample without it");
    }
    return g;
  }
  if (q.torsional()) {
    auto models = gen::model_set<torsional_generator::network_type>::load(q.model_files);
    auto request = q.compensation;
    // A model's recommended particle guidance runs with the reverse SDE on the CPU only: another sampler or a GPU
    // run samples without it, and says so (the records name what each conformer was sampled with).
    if ((q.gpu || q.sampler != "sde") && !request.guidance) {
      request.guidance = confsgm::sample::particle_guidance{};
      for (std::size_t i = 0; i < models.size(); ++i)
        if (models.recommended(i).guidance.active() && job::current().root())
          std::cerr << "note: " << q.model_files[i] << " recommends particle guidance ("
                    << models.recommended(i).guidance.name << "), which runs with --sampler sde on --backend cpu "
                    << "only; this run samples without it\n";
    }
    return torsional_generator(std::move(models), q.torus, q.steps, q.reuse_local, request);
  }
  return gen::etkdg_generator(q.etkdg);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

/// The input's molecules (with their reference counts where the input is an SDF); rejected records are reported
/// and counted in @p rejected.
std::vector<confsgm::rdkit::molecule> read_molecules(const generate_request& q, std::size_t& rejected, bool report) {
  std::ostringstream ignored;
  std::ostream& log = report ? std::cerr : ignored;
  std::vector<confsgm::rdkit::molecule> mols;
  const std::string plain_name = ends_with(q.input, ".gz") ? q.input.substr(0, q.input.size() - 3) : q.input;
  if (ends_with(plain_name, ".sdf") || ends_with(plain_name, ".sd") || ends_with(plain_name, ".mol")) {
    confsgm::rdkit::sdf_read_options ro;
    ro.group_by = q.group_by;
    ro.allow_fragments = q.allow_fragments;
    const auto r = confsgm::rdkit::read_sdf(q.input, ro);
    for (const auto& e : r.errors) log << "error: " << e.what() << "\n";
    for (const auto& e : r.dropped) log << "note: " << e.what() << "\n";
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
    so.allow_fragments = q.allow_fragments;
    auto r = confsgm::rdkit::read_smiles_file(q.input, so);
    for (const auto& e : r.errors) log << "error: " << e.what() << "\n";
    rejected += r.errors.size();
    mols = std::move(r.molecules);
  }
  return mols;
}

/// Conformers to generate for each molecule (--num, or --multiplier times the reference count; 0 when unknown).
/// A huge --multiplier saturates at `too_many` (refused per molecule) instead of overflowing the conversion.
constexpr std::size_t too_many = std::size_t{1} << 52;
std::vector<std::size_t> wanted_counts(const generate_request& q, const std::vector<confsgm::rdkit::molecule>& mols) {
  std::vector<std::size_t> wanted(mols.size(), 0);
  for (std::size_t k = 0; k < mols.size(); ++k) {
    if (q.num > 0) {
      wanted[k] = static_cast<std::size_t>(q.num);
    } else if (mols[k].n_reference) {
      const double n = std::round(q.multiplier * static_cast<double>(*mols[k].n_reference));
      wanted[k] = n >= static_cast<double>(too_many) ? too_many : std::max<std::size_t>(1, static_cast<std::size_t>(n));
    }
  }
  return wanted;
}

/// Warns when molecules are larger than any their model was trained on. The shipped QM9 models lose to ETKDG
/// on drug-sized molecules (docs/results.md), and a user should not learn that by accident.
template <class Models>
void warn_outside_training_domains(const Models& models, const std::vector<std::string>& model_files,
                                   const std::vector<confsgm::rdkit::molecule>& mols) {
  for (std::size_t i = 0; i < models.size(); ++i) {
    std::vector<std::size_t> served, heavy;
    for (std::size_t k = 0; k < mols.size(); ++k)
      if (models.choose(mols[k]) == i) served.push_back(k), heavy.push_back(mols[k].graph.num_heavy_atoms());
    const auto excess = gen::outside_training_domain(models.domain(i), heavy);
    if (!excess) continue;
    const auto& largest = mols[served[excess->largest_index]];
    std::cerr << "warning: " << excess->larger << " of " << excess->served << " molecules have more heavy atoms than "
              << "any molecule the model " << model_files[i] << " was trained on (at most " << *models.domain(i)
              << "; largest here: " << largest.id << " with " << largest.graph.num_heavy_atoms() << "). The model "
              << "extrapolates there and may do worse than ETKDG (docs/results.md, Drugs test set)\n";
  }
}

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

/// The settings that decide the output: a journaled run resumes only under the same ones.
/// @p compensation_per_model: what each model samples with ("file: setting, ..."; compensation_by_model()).
run_settings settings_of(const generate_request& q, std::size_t molecules, const std::string& compensation_per_model) {
  const auto& eo = q.etkdg;
  const auto& lo = q.langevin;
  const auto& to = q.torus;
  run_settings settings = {{"method", q.method}, {"input", file_fingerprint(q.input)}, {"molecules", std::to_string(molecules)},
                           {"seed", std::to_string(eo.seed)}, {"num", std::to_string(q.num)}, {"multiplier", exact(q.multiplier)},
                           {"group-by", q.group_by}, {"allow-fragments", q.allow_fragments ? "yes" : "no"},
                           {"build", build_fingerprint()}};
  if (q.confgf() || q.torsional()) {
    std::string models;
    // The file name too: every record names its model.
    for (const auto& f : q.model_files)
      models += (models.empty() ? "" : " ") + std::filesystem::path(f).filename().string() + "=" + file_fingerprint(f);
    settings.insert(settings.end(), {{"models", models}, {"backend", q.backend}});
    if (lo.scaling.active())
      settings.insert(settings.end(), {{"epsilon-k", exact(lo.scaling.k)}, {"epsilon-b", exact(lo.scaling.b)}});
    if (lo.corrector.active())
      settings.insert(settings.end(), {{"corrector-steps", std::to_string(lo.corrector.steps)},
                                       {"corrector-step-size", exact(lo.corrector.step_size)}});
    if (lo.shift.active())
      settings.insert(settings.end(), {{"sigma-shift-window", std::to_string(lo.shift.window)},
                                       {"sigma-shift-cutoff", exact(lo.shift.cutoff)}});
    // What each model samples with, its recommendation included (a restamped model file changes its fingerprint
    // too; this names the reason).
    settings.push_back({"compensation", compensation_per_model});
  }
  if (q.confgf())
    settings.insert(settings.end(), {{"steps-per-level", std::to_string(lo.steps_per_level)}, {"step-size", exact(lo.step_size)},
                                     {"clip", exact(lo.clip)}, {"init-std", exact(lo.init_std)},
                                     {"mirror-images", confsgm::rdkit::to_string(q.mirrors)}});
  if (q.torsional())
    settings.insert(settings.end(), {{"sampler", q.sampler}, {"steps", std::to_string(q.steps)},
                                     {"langevin-steps", std::to_string(to.steps_per_level)},
                                     {"langevin-step-size", exact(to.step_size)}, {"reuse-local", q.reuse_local ? "yes" : "no"}});
  if (!q.confgf() && !q.torsional())
    settings.insert(settings.end(), {{"mmff", eo.mmff ? "yes" : "no"}, {"mmff-iterations", std::to_string(eo.mmff_max_iterations)},
                                     {"prune-rms", exact(eo.prune_rms)}, {"random-coords", eo.use_random_coords ? "yes" : "no"}});
  if (q.relax != "none")
    settings.insert(settings.end(), {{"relax", q.relax}, {"relax-iterations", std::to_string(q.relax_iterations)},
                                     {"keep-changed", q.keep_changed ? "yes" : "no"}});
  if (q.relax == "gfnff" || q.relax == "gfn2") settings.push_back({"relax-level", q.relax_level});
  if (!q.select.empty())
    settings.insert(settings.end(), {{"oversample", std::to_string(q.oversample)}, {"select", q.select},
                                     {"energy-window", q.energy_window ? exact(*q.energy_window) : "default"}});
  return settings;
}

/// The sampler options model @p i of @p generator samples with (none for ETKDG).
template <class Generator>
auto sampler_options_of(const Generator& g, std::size_t i) {
  if constexpr (requires { g.options(i); }) return std::optional(g.options(i));
  else return std::optional<confsgm::sample::torus_sampler_options>();
}

/// The compensation model @p i samples with (none for ETKDG).
confsgm::sample::sampling_compensation compensation_of(const any_generator& generator, std::size_t i) {
  return std::visit([&](const auto& g) {
    confsgm::sample::sampling_compensation c;
    if (const auto o = sampler_options_of(g, i)) {
      c = {o->scaling, o->corrector, o->shift};
      if constexpr (requires { o->guidance; }) c.guidance = o->guidance;
    }
    return c;
  }, generator);
}

/// "qm9-torsion-ip.bin: none, drugs-torsion-ip.bin: sigma-shift window=4 cutoff=0": each model's compensation.
std::string compensation_by_model(const generate_request& q, const any_generator& generator) {
  std::string s;
  for (std::size_t i = 0; i < q.model_files.size(); ++i)
    s += (s.empty() ? "" : ", ") + std::filesystem::path(q.model_files[i]).filename().string() + ": " +
         gen::describe(compensation_of(generator, i));
  return s;
}

/// `--backend cuda` with distance models: every molecule's samples before the output loop, many molecules per
/// launch (one launch sequence per model: generate/shared_batches.hpp), each molecule with its own noise streams
/// (the CPU's). Entry k stays empty where molecule k cannot be sampled (no or too many conformers wanted, no
/// distance structure).
std::vector<std::optional<confsgm::sample::langevin_result>> sample_confgf_on_gpu(
    const confgf_generator& g, const std::vector<confsgm::rdkit::molecule>& mols, const std::vector<std::size_t>& wanted) {
  std::vector<std::optional<confsgm::sample::langevin_result>> results(mols.size());
  std::vector<std::optional<confsgm::distance_structure>> structures(mols.size());
  for (std::size_t k = 0; k < mols.size(); ++k) {
    if (!gen::samplable(wanted[k])) continue;
    try {
      structures[k] = confsgm::distance_space::describe(mols[k].graph);
    } catch (const std::exception&) {
      // the per-molecule path reports why
    }
  }
  const auto& models = g.models();
  for (const auto& b : gen::distance_batches(g, mols, structures, wanted)) {
    auto all = cuda_backend::confgf_sample(models[b.model].network, models[b.model].parameters, g.schedule(b.model),
                                           b.jobs, g.options(b.model));
    for (std::size_t j = 0; j < b.jobs.size(); ++j) results[b.molecules[j]] = std::move(all[j]);
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
/// threads, then every molecule's samples in shared launches (generate/shared_batches.hpp), each with its own
/// start state and noise streams (the CPU's). Molecules that cannot be sampled keep an empty result, with the
/// ETKDG error where there was one.
std::vector<torsional_on_gpu> sample_torsional_on_gpu(const torsional_generator& g,
                                                      const std::vector<confsgm::rdkit::molecule>& mols,
                                                      const std::vector<std::size_t>& wanted, unsigned threads) {
  std::vector<torsional_on_gpu> out(mols.size());
  std::vector<std::vector<confsgm::torsion_structure>> local(mols.size());
  confsgm::parallel_for(mols.size(), threads, [&](std::size_t k) {
    if (!gen::samplable(wanted[k])) return;
    try {
      local[k] = g.local_structures(mols[k], k, wanted[k]);
    } catch (const std::exception& e) {
      out[k].error = e.what();
    }
  });
  const auto& models = g.models();
  for (const auto& b : gen::torsion_batches(g, mols, local, wanted)) {
    auto parts = b.split(cuda_backend::torsional_sample(models[b.model].network, models[b.model].parameters,
                                                         g.schedule(b.model), b.samples, g.options(b.model), b.start,
                                                         b.keys));
    for (std::size_t s = 0; s < b.spans.size(); ++s) out[b.spans[s].molecule].result = std::move(parts[s]);
  }
  for (std::size_t k = 0; k < mols.size(); ++k) out[k].local = std::move(local[k]);
  return out;
}

/// Seconds one molecule spent in each stage (wall time on the thread or threads that ran it).
struct stage_seconds {
  double generation = 0, refinement = 0, selection = 0;
  stage_seconds& operator+=(const stage_seconds& o) {
    generation += o.generation, refinement += o.refinement, selection += o.selection;
    return *this;
  }
};

/// One molecule's conformers: computed on a worker thread, written in input order by the calling thread, so the
/// output (file and messages) does not depend on the thread count.
struct molecule_output {
  std::optional<generated_conformers> res;  ///< empty: the molecule failed (reason in messages)
  stage_seconds seconds;
  std::string messages;
  std::size_t requested = 0;
  std::size_t changed = 0;  ///< conformers whose bonds or stereo changed in refinement
  std::optional<gen::selection> selected;  ///< with --select: what it kept of the pool
};

/// Precomputed GPU samples of every molecule (empty on the CPU).
struct gpu_samples {
  std::vector<std::optional<confsgm::sample::langevin_result>> confgf;
  std::vector<torsional_on_gpu> torsional;
};

/// Molecule @p k's conformers by @p generator (on the CPU with @p threads, or collected from @p gpu).
/// With --oversample K the generator makes a pool of @p pool = K x @p n conformers, refined, and the selector keeps n.
molecule_output generate_molecule(const generate_request& q, const any_generator& generator, const any_refiner& refiner,
                                  const any_selector& selector, gpu_samples& gpu, const confsgm::rdkit::molecule& m,
                                  std::size_t k, std::size_t n, std::size_t pool, unsigned threads) {
  molecule_output out;
  std::ostringstream msg;
  out.requested = n;
  if (n == 0) {
    msg << "error: " << m.id << ": no --num given and the input lists no reference count\n";
    out.messages = msg.str();
    return out;
  }
  // More conformers than the molecule's noise streams would repeat samples (ETKDG shares the cap: no run needs
  // more, and it keeps a typo in --multiplier from asking for billions).
  if (pool > gen::max_conformers_per_molecule) {
    msg << "error: " << m.id << ": " << (pool >= too_many ? "more than 2^52" : std::to_string(pool))
        << " conformers requested" << (q.oversample > 1 ? " (with --oversample " + std::to_string(q.oversample) + ")" : "")
        << "; at most " << gen::max_conformers_per_molecule
        << " per molecule and run (run again with another --seed for more)\n";
    out.messages = msg.str();
    return out;
  }
  using clock = std::chrono::steady_clock;
  auto stage_start = clock::now();
  const auto lap = [&](double& into) {
    const auto now = clock::now();
    into += std::chrono::duration<double>(now - stage_start).count();
    stage_start = now;
  };
  try {
    if (!q.gpu) {
      out.res = std::visit([&](const auto& g) { return g.generate(m, k, pool, threads); }, generator);
    } else if (q.confgf()) {
      if (!gpu.confgf[k]) throw confsgm::error("no GPU result for this molecule");
      out.res = std::get<confgf_generator>(generator).collect(m, pool, *gpu.confgf[k]);
    } else {
      auto& on_gpu = gpu.torsional[k];
      if (!on_gpu.error.empty()) throw confsgm::error(on_gpu.error);
      if (on_gpu.local.empty()) throw confsgm::error("ETKDG produced no local structure with the input's stereo (also not from random-coordinate starts)");
      if (!on_gpu.result) throw confsgm::error("no GPU result for this molecule");
      out.res = std::get<torsional_generator>(generator).collect(m, on_gpu.local, pool, *on_gpu.result);
    }
    lap(out.seconds.generation);
    for (const auto& d : out.res->dropped)
      msg << "error: " << m.id << " conformer " << d.index << ": " << to_string(d.status) << "; not written\n";
    std::visit([&](const auto& r) {
      if constexpr (!std::is_same_v<std::decay_t<decltype(r)>, std::monostate>) {
        gen::refine_options ro;
        ro.threads = threads;
        ro.keep_changed = q.keep_changed;
        const auto report = gen::refine_conformers(r, m, *out.res, ro);
        out.changed = report.problems.size();
        for (const auto& p : report.problems)
          msg << "warning: " << p << (q.keep_changed ? "; kept (--keep-changed)" : "; not written") << "\n";
      }
    }, refiner);
    lap(out.seconds.refinement);
    std::visit([&](const auto& s) {
      if constexpr (!std::is_same_v<std::decay_t<decltype(s)>, std::monostate>)
      {
        out.selected = gen::select_conformers(s, m, *out.res, n, threads);
        const auto& sel = *out.selected;
        if (sel.filled)
          msg << "note: " << m.id << ": " << q.select << " selection kept " << sel.kept.size() << " of a pool of " << sel.pool
              << " (" << sel.outside_window << " outside the energy window, " << sel.duplicates << " duplicates): "
              << sel.filled << " of them only to reach the count\n";
      }
    }, selector);
    lap(out.seconds.selection);
  } catch (const cuda_backend::device_failure&) {
    throw;  // the device is unusable: stop the run
  } catch (const std::exception& e) {
    out.res.reset();
    msg << "error: " << m.id << ": " << (q.confgf() ? "confgf sampling" : q.torsional() ? "torsional sampling" : "ETKDG")
        << (q.relax == "none" ? "" : " or " + q.relax + " relaxation") << (q.select.empty() ? "" : " or " + q.select + " selection")
        << " failed: " << e.what() << "\n";
  }
  out.messages = msg.str();
  return out;
}

/// The SD records of one molecule's conformers, in generation order, with their energy rank.
molecule_tally write_molecule(const generate_request& q, const any_generator& generator,
                              const confsgm::rdkit::molecule& m, const molecule_output& out,
                              confsgm::rdkit::sdf_writer& writer, std::ostream& log) {
  molecule_tally tally;
  log << out.messages;
  if (!out.res) {
    tally.failed = 1;
    return tally;
  }
  const auto& res = *out.res;
  tally.diverged = res.dropped.size();
  tally.changed = out.changed;
  tally.reflected = res.reflected;
  const std::size_t n = out.requested;
  if (res.embedded == 0) {
    log << "error: " << m.id << ": " << q.method << " produced none of " << n << " conformers\n";
    tally.failed = 1;
    return tally;
  }
  if (res.embedded < n)
    log << "warning: " << m.id << ": " << q.method << " produced " << res.embedded << " of " << n << " conformers\n";
  if (res.mmff_parameters_missing)
    log << "warning: " << m.id << ": MMFF94 has no parameters for this molecule; conformers not relaxed\n";
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
  const std::size_t model_index = std::visit(
      [&](const auto& g) -> std::size_t {
        if constexpr (requires { g.models(); }) return g.models().choose(m);
        else return 0;
      },
      generator);
  const std::string model_file =
      q.model_files.empty() ? std::string() : std::filesystem::path(q.model_files[model_index]).filename().string();
  const auto compensation = compensation_of(generator, model_index);  // the model's, its recommendation included
  const std::string method = (q.confgf() ? "confgf" : q.torsional() ? "torsional-" + q.sampler : q.etkdg.mmff ? "etkdg+mmff" : "etkdg") +
                             (q.relax == "none" ? "" : "+" + q.relax);
  for (std::size_t c = 0; c < res.conformers.size(); ++c) {
    const auto& info = res.conformers.info[c];
    // The samplers report divergence themselves; this guards every method (ETKDG + MMFF included) so that one bad
    // conformer costs itself, not the run (the writer refuses non-finite coordinates).
    if (!res.conformers.conformers.is_finite(c)) {
      log << "error: " << info.title << ": non-finite coordinates; conformer not written\n";
      ++tally.diverged;
      continue;
    }
    std::vector<std::pair<std::string, std::string>> props = {
        {"mol_id", m.id}, {"conf_index", std::to_string(c)}, {"method", method},
        {"seed", std::to_string(q.etkdg.seed)}, {"smiles", m.smiles},
    };
    if (!model_file.empty()) props.emplace_back("model", model_file);
    if (compensation.scaling.active())
      props.emplace_back("epsilon_scaling", "k=" + confsgm::shortest_text(compensation.scaling.k) +
                                                " b=" + confsgm::shortest_text(compensation.scaling.b));
    if (compensation.corrector.active())
      props.emplace_back("corrector", "steps=" + std::to_string(compensation.corrector.steps) +
                                          " step_size=" + confsgm::shortest_text(compensation.corrector.step_size));
    if (compensation.shift.active())
      props.emplace_back("sigma_shift", "window=" + std::to_string(compensation.shift.window) +
                                            " cutoff=" + confsgm::shortest_text(compensation.shift.cutoff));
    if (compensation.guidance.active()) props.emplace_back("particle_guidance", compensation.guidance.name);
    if (info.energy) props.emplace_back("energy", fixed(*info.energy, 6));
    if (info.energy) props.emplace_back("energy_unit", res.energy_unit);
    props.emplace_back("rank", std::to_string(rank[c]));
    if (out.selected) {  // the last `filled` conformers were kept only to reach the count
      const bool filled = c + out.selected->filled >= res.conformers.size();
      props.emplace_back("selection", filled ? q.select + ", filled up" : q.select);
      props.emplace_back("pool", std::to_string(out.selected->pool));
    }
    props.emplace_back("status", info.status);
    writer.write(*res.mol, res.conformers.conformers[c], info.title, props);
    ++tally.written;
    if (info.status.rfind("stereo", 0) == 0) {
      ++tally.stereo_bad;
      log << "warning: " << info.title << ": " << info.status << "\n";
    }
  }
  return tally;
}

/// Generates molecules @p order (input indices, increasing) in that order and hands each result to
/// @p done(k, output) on the calling thread. A molecule with at least a full network batch per thread runs alone
/// on all threads (its sampler splits the conformers); runs of smaller molecules are spread over the threads, one
/// molecule per thread. Either way a molecule's conformers do not depend on the threads it got.
template <class Done>
void generate_in_order(const generate_request& q, const any_generator& generator, const any_refiner& refiner,
                       const any_selector& selector, gpu_samples& gpu, const std::vector<confsgm::rdkit::molecule>& mols,
                       const std::vector<std::size_t>& wanted, const std::vector<std::size_t>& pooled,
                       const std::vector<std::size_t>& order, Done&& done) {
  const unsigned threads_used = q.gpu ? 1u : confsgm::resolve_threads(q.etkdg.threads);
  const std::size_t batch = q.confgf() ? q.langevin.chunk : q.torsional() ? q.torus.chunk : 1;
  const auto runs_alone = [&](std::size_t k) { return threads_used <= 1 || pooled[k] >= batch * threads_used; };
  for (std::size_t first = 0; first < order.size();) {
    std::size_t last = first + 1;
    if (!runs_alone(order[first]))
      while (last < order.size() && last - first < 4 * threads_used && !runs_alone(order[last])) ++last;
    std::vector<molecule_output> outs(last - first);
    const auto one = [&](std::size_t k, unsigned threads) {
      return generate_molecule(q, generator, refiner, selector, gpu, mols[k], k, wanted[k], pooled[k], threads);
    };
    if (outs.size() == 1) {
      outs[0] = one(order[first], q.etkdg.threads);
    } else {
      std::atomic<std::size_t> next{0};
      confsgm::parallel_for(threads_used, threads_used, [&](std::size_t) {
        for (std::size_t i = next.fetch_add(1); i < outs.size(); i = next.fetch_add(1)) outs[i] = one(order[first + i], 1);
      });
    }
    for (std::size_t i = 0; i < outs.size(); ++i) done(order[first + i], outs[i]);
    first = last;
  }
}

/// The run's last line: what was written and what was not. @p where: "" alone, " on N ranks" under mpirun.
void print_summary(const generate_request& q, const molecule_tally& totals, std::size_t molecules, std::size_t rejected,
                   const std::string& where) {
  std::cerr << "wrote " << totals.written << " conformers of " << (molecules - totals.failed) << " molecules to "
            << q.output << where << " (" << totals.failed << " molecules failed, " << rejected
            << " input records rejected, " << totals.stereo_bad << " conformers with a stereo mismatch, "
            << totals.diverged << " conformers diverged and not written, " << totals.reflected
            << " mirror images reflected"
            << (q.relax == "none" ? "" : ", " + std::to_string(totals.changed) + " conformers whose bonds or stereo "
                                         "changed in " + q.relax + " relaxation" + (q.keep_changed ? " kept" : " not written"))
            << ")\n";
}

/// `generate` under mpirun (docs/scale.md): the molecules that no process of this run finished yet are dealt to
/// the ranks by cost (atoms x conformers, confsgm/util/deal.hpp); each rank writes its own part and journal
/// (generate_parts.hpp) and rank 0 joins the parts in input order. A molecule's conformers depend on its input
/// index only, so the output is byte for byte the single-process run's, for any number of ranks, and a killed job
/// resumes with any number of ranks.
int run_generate_sharded(const generate_request& q, const any_generator& generator, const any_refiner& refiner,
                         const any_selector& selector, const std::vector<confsgm::rdkit::molecule>& mols,
                         const std::vector<std::size_t>& wanted, const std::vector<std::size_t>& pooled,
                         std::size_t rejected, const run_settings& settings) {
  namespace fs = std::filesystem;
  const auto& job = job::current();
  job.refuse_gpu(q.gpu);
  std::vector<std::string> ids;
  for (const auto& m : mols) ids.push_back(m.id);
  const std::string folder = part_journal::folder_of(q.output);
  if (job.root()) {
    if (!q.resume) {
      // As a single-process run replaces an earlier run's journal: this run starts afresh.
      std::error_code ec;
      if (fs::exists(folder) || fs::exists(q.output + ".journal"))
        std::cerr << "note: the state of an earlier, unfinished run (" << folder << ", " << q.output << ".journal) was "
                  << "replaced: this run starts afresh (--resume continues such a run)\n";
      fs::remove_all(folder, ec);
      fs::remove(q.output + ".journal", ec);
      fs::remove(q.output + ".partial", ec);
    }
    fs::create_directories(folder);
  }
  job.barrier();
  const auto earlier = scan_finished(q.output, settings, ids);
  job.barrier();  // every rank has read the journals before any rank writes one
  std::vector<bool> finished(mols.size(), false);
  molecule_tally resumed_totals;
  for (const auto& m : earlier) finished[m.index] = true, resumed_totals += m.tally;
  if (job.root() && q.resume && earlier.empty())
    std::cerr << "note: --resume: no state of an earlier run (" << folder << " or " << q.output
              << ".journal); generating every molecule\n";
  if (job.root() && !earlier.empty())
    std::cerr << "resumed: " << earlier.size() << " of " << mols.size() << " molecules already generated ("
              << resumed_totals.written << " conformers), the rest dealt to " << job.size() << " ranks\n";
  std::vector<std::size_t> remaining;
  std::vector<std::uint64_t> cost;
  for (std::size_t k = 0; k < mols.size(); ++k)
    if (!finished[k]) {
      remaining.push_back(k);
      const auto conformers = std::min<std::size_t>(pooled[k], gen::max_conformers_per_molecule);
      cost.push_back(std::max<std::uint64_t>(1, mols[k].graph.num_atoms() * std::max<std::size_t>(conformers, 1)));
    }
  const auto owner = confsgm::util::deal_by_cost(cost, static_cast<unsigned>(job.size()));
  std::vector<std::size_t> mine;
  for (std::size_t i = 0; i < remaining.size(); ++i)
    if (owner[i] == static_cast<unsigned>(job.rank())) mine.push_back(remaining[i]);

  // This rank's part of an earlier run with as many ranks goes on where its journal ends.
  const std::string stem = folder + "/" + part_journal::stem_of(job.rank(), job.size());
  std::vector<finished_molecule> kept;
  std::optional<std::uintmax_t> resume_at;
  for (const auto& m : earlier)
    if (m.file == stem + ".sdf.partial") {
      kept.push_back(m);
      resume_at = std::max(resume_at.value_or(0), m.end);
    }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  {
    part_journal journal(stem + ".journal", settings, kept, ids);
    confsgm::rdkit::sdf_writer writer(stem + ".sdf", {.keep_partial = true, .resume_at = resume_at});
    std::uintmax_t start = resume_at.value_or(0);
    progress prog("generate", mine.size(), !q.quiet && job.root());
    std::size_t done = 0;
    gpu_samples gpu;
    generate_in_order(q, generator, refiner, selector, gpu, mols, wanted, pooled, mine,
                      [&](std::size_t k, const molecule_output& out) {
                        const auto& m = mols[k];
                        std::ostringstream log;  // one write per molecule: ranks do not interleave within a line
                        const auto tally = write_molecule(q, generator, m, out, writer, log);
                        std::cerr << log.str() << std::flush;
                        const auto end = writer.flush();
                        journal.record(k, m.id, start, end, tally);
                        start = end;
                        prog.step(++done, "of rank 0's molecules (" + m.id + ": " + std::to_string(tally.written) +
                                              " conformers)");
                      });
  }
  job.barrier();  // every part is complete
  int code = ok;
  if (job.root()) {
    const auto all = scan_finished(q.output, settings, ids);
    if (all.size() != mols.size())
      throw confsgm::error("the parts in " + folder + " list " + std::to_string(all.size()) + " of " +
                           std::to_string(mols.size()) + " molecules after every rank finished");
    merge_parts(q.output, all);
    std::error_code ec;
    fs::remove(q.output + ".journal", ec);
    fs::remove(q.output + ".partial", ec);
    fs::remove_all(folder, ec);
    molecule_tally totals;
    for (const auto& m : all) totals += m.tally;
    print_summary(q, totals, mols.size(), rejected,
                  " on " + std::to_string(job.size()) + (job.size() == 1 ? " rank" : " ranks"));
    code = (totals.failed || rejected || totals.diverged) ? partial : ok;
  }
  return std::stoi(job.broadcast(std::to_string(code)));
}

}  // namespace

int run_generate(arguments& args) {
  const auto q = parse_request(args);
  // Before any work: inputs present, the output writable and not an input, no other process writing it.
  std::vector<std::string> inputs = q.model_files;
  inputs.push_back(q.input);
  // Under mpirun rank 0 holds the lock for the job (a second job writing the output is refused there).
  const auto& job = job::current();
  const confsgm::util::output_guard guard(job.root() ? std::vector<std::string>{q.output} : std::vector<std::string>{},
                                          inputs);
  const auto generator = make_generator(q);
  const auto refiner = make_refiner(q);
  const auto selector = make_selector(q);
  std::size_t rejected = 0;
  const auto mols = read_molecules(q, rejected, job.root());  // every rank reads the input; one reports on it
  if (mols.empty()) throw confsgm::io_error(q.input, std::nullopt, std::nullopt, "no usable molecule");
  // Molecule k owns the noise streams [k << 16, (k + 1) << 16): one more molecule would reuse molecule 0's.
  if (q.method != "etkdg" && mols.size() > gen::max_molecules_per_run)
    throw confsgm::io_error(q.input, std::nullopt, std::nullopt,
                            std::to_string(mols.size()) + " molecules; " + q.method + " takes at most " +
                                std::to_string(gen::max_molecules_per_run) +
                                " per run (their noise streams would repeat): split the input");
  if (job.root())
    std::visit([&](const auto& g) {
      if constexpr (requires { g.models(); }) warn_outside_training_domains(g.models(), q.model_files, mols);
    }, generator);
  const auto wanted = wanted_counts(q, mols);
  // The pool each molecule's generator makes (--oversample K: K x wanted, saturating like wanted_counts).
  std::vector<std::size_t> pooled(wanted.size());
  for (std::size_t k = 0; k < wanted.size(); ++k)
    pooled[k] = wanted[k] >= too_many / q.oversample ? too_many : wanted[k] * q.oversample;

  std::vector<std::string> ids;
  for (const auto& m : mols) ids.push_back(m.id);
  const auto settings = settings_of(q, mols.size(), compensation_by_model(q, generator));
  if (job.sharded()) return run_generate_sharded(q, generator, refiner, selector, mols, wanted, pooled, rejected, settings);
  if (std::filesystem::exists(part_journal::folder_of(q.output))) {
    if (q.resume)
      throw usage_error("--resume: " + part_journal::folder_of(q.output) + " holds the state of a run under mpirun; "
                        "resume it under mpirun, with any number of ranks (mpirun -n 1 included)");
    std::filesystem::remove_all(part_journal::folder_of(q.output));  // this run starts afresh, as below
  }
  generate_journal journal(q.output + ".journal", settings, q.resume, ids);
  const std::size_t resume_from = journal.finished().size();
  molecule_tally totals;
  for (const auto& e : journal.finished()) totals += e.tally;
  if (journal.discarded_earlier_run())
    std::cerr << "note: " << journal.path() << " of an earlier, unfinished run was replaced: this run starts afresh "
              << "(--resume continues such a run)\n";
  if (q.resume && !journal.resumed())
    std::cerr << "note: --resume: no journal " << journal.path() << "; generating every molecule\n";
  if (journal.resumed())
    std::cerr << "resumed: " << resume_from << " of " << mols.size() << " molecules already generated ("
              << totals.written << " conformers, from " << journal.path() << ")\n";

  // --backend cuda samples every molecule up front, many per launch; generate_molecule then only collects the
  // results. (A GPU run never resumes, so every molecule is wanted.)
  gpu_samples gpu;
  if (q.gpu && q.confgf()) gpu.confgf = sample_confgf_on_gpu(std::get<confgf_generator>(generator), mols, pooled);
  if (q.gpu && q.torsional())
    gpu.torsional = sample_torsional_on_gpu(std::get<torsional_generator>(generator), mols, pooled,
                                            confsgm::resolve_threads(q.etkdg.threads));
  // The partial output stays when the run stops early: with the journal it is where --resume continues.
  const auto writer = [&] {
    try {
      return std::make_unique<confsgm::rdkit::sdf_writer>(
          q.output, confsgm::rdkit::sdf_writer_options{
                        .keep_partial = true,
                        .resume_at = resume_from ? std::optional<std::uintmax_t>(journal.finished().back().end)
                                                 : std::nullopt});
    } catch (const confsgm::io_error& e) {
      if (!resume_from) throw;
      throw confsgm::io_error(e.file(), e.line(), e.record(),
                              e.reason() + " (journal " + journal.path() + "; delete it and the partial file, or run "
                              "without --resume, to start over)");
    }
  }();
  progress prog("generate", mols.size(), !q.quiet, resume_from);
  std::vector<std::size_t> order(mols.size() - resume_from);
  std::iota(order.begin(), order.end(), resume_from);
  stage_seconds stages;
  generate_in_order(q, generator, refiner, selector, gpu, mols, wanted, pooled, order,
                    [&](std::size_t k, const molecule_output& out) {
                      const auto& m = mols[k];
                      stages += out.seconds;
                      const auto tally = write_molecule(q, generator, m, out, *writer, std::cerr);
                      if (out.res && out.res->embedded)
                        prog.step(k + 1, "molecules (" + m.id + ": " + std::to_string(tally.written) + " conformers)");
                      totals += tally;
                      journal.record(m.id, writer->flush(), tally);
                    });
  // The journal goes first: a run stopped between the two steps starts again rather than resuming from a partial
  // file that is no longer there.
  journal.remove();
  writer->commit();
  // Where the time went, for comparing pipelines (docs/cli.md): molecules sampled side by side on several threads
  // each count their own wall time, so the sum can exceed the run's; the shares between stages are what it tells.
  std::ostringstream time_by_stage;
  time_by_stage << std::fixed << std::setprecision(3) << "time by stage (s, summed over the " << order.size()
                << " molecules this run generated): generation " << stages.generation << ", refinement "
                << stages.refinement << ", selection " << stages.selection << "\n";
  std::cerr << time_by_stage.str();
  print_summary(q, totals, mols.size(), rejected, "");
  return (totals.failed || rejected || totals.diverged) ? partial : ok;
}

}  // namespace app
