// `confsgm bias`: exposure bias per noise level (paper Algorithm 2) of a
// trained model (distance or torsion space, read from the model file) on
// reference conformers.
#include <confsgm/confsgm.hpp>
#include <confsgm/eval/exposure_bias.hpp>
#include <confsgm/eval/epsilon_calibration.hpp>
#include <confsgm/generate/recommended_sampling.hpp>
#include <confsgm/util/atomic_file.hpp>
#include <confsgm/rdkit/sdf.hpp>

#include <fstream>
#include <iomanip>
#include <sstream>
#include <iostream>

#include "cli.hpp"
#include "job.hpp"
#include "cuda_backend.hpp"
#include "confgf.hpp"
#include "torsional.hpp"

namespace app {

namespace {

void report(const confsgm::eval::bias_result& r, const std::string& label, const std::string& csv,
            const std::string& errors_csv, std::ostream& out) {
  out << "Exposure bias of " << label << " per level (paper Algorithm 2; mean ± sd over samples)\n\n| level | sigma | n | diverged |";
  for (const auto& m : r.metrics) out << " " << m << " |";
  out << "\n|---|---|---|---|";
  for (std::size_t m = 0; m < r.metrics.size(); ++m) out << "---|";
  out << "\n";
  for (std::size_t t = 0; t < r.levels.size(); ++t) {
    const auto& lv = r.levels[t];
    out << "| " << t << " | " << std::setprecision(5) << lv.sigma << " | " << lv.count << " | " << lv.failed << " |";
    for (std::size_t m = 0; m < r.metrics.size(); ++m)
      out << " " << std::fixed << std::setprecision(4) << lv.mean[m] << " ± " << lv.stddev[m] << std::defaultfloat
                << " |";
    out << "\n";
  }
  if (!csv.empty()) {
    std::ostringstream f;  // written whole, atomically: a killed run leaves no half table
    f << "model,level,sigma,count,diverged";
    for (const auto& m : r.metrics) f << "," << m << "_mean," << m << "_sd";
    f << "\n" << std::setprecision(10);
    for (std::size_t t = 0; t < r.levels.size(); ++t) {
      const auto& lv = r.levels[t];
      f << label << "," << t << "," << lv.sigma << "," << lv.count << "," << lv.failed;
      for (std::size_t m = 0; m < r.metrics.size(); ++m) f << "," << lv.mean[m] << "," << lv.stddev[m];
      f << "\n";
    }
    confsgm::util::write_file_atomically(csv, f.str());
  }
  if (!errors_csv.empty()) {  // every sample's error: the distribution of Fig. 1c
    std::ostringstream f;
    f << "model,level,sigma,metric,error\n" << std::setprecision(10);
    for (std::size_t t = 0; t < r.levels.size(); ++t)
      for (std::size_t m = 0; m < r.metrics.size(); ++m)
        for (const double e : r.levels[t].sample_errors[m])
          f << label << "," << t << "," << r.levels[t].sigma << "," << r.metrics[m] << "," << e << "\n";
    confsgm::util::write_file_atomically(errors_csv, f.str());
  }
}

}  // namespace

int run_bias(arguments& args) {
  const auto model_path = args.required("model");
  const auto data_path = args.required("data");
  confsgm::eval::bias_options o;
  o.samples_per_level = args.count("samples-per-level", 50);
  o.uniform_levels = args.flag("uniform-levels");
  o.seed = args.count<std::uint64_t>("seed", 2021);
  o.threads = args.count<unsigned>("threads", 0);
  const auto max_molecules = args.count("molecules", 0);
  const auto per_mol = args.count("conformers-per-molecule", 5);
  const auto update = args.str("update", "sde");
  const auto steps = args.count("steps", 20);
  confsgm::sample::langevin_options lo;
  lo.steps_per_level = args.count("steps-per-level", 100);
  lo.step_size = args.number("step-size", 2.4e-6);
  const auto csv = args.str("csv");
  const auto errors_csv = args.str("errors");
  const auto label = args.str("label", model_path);
  const auto backend = args.str("backend", "cpu");
  const auto calibrate = args.str("calibrate-epsilon");
  // `bias` measures the sampler the options describe: by default no compensation, whatever the model recommends
  // (--sampling-defaults model measures what `generate` runs).
  const auto request = read_compensation(args, "none");
  args.reject_unknown();
  const bool gpu = cuda_backend::selected(backend);
  // The compensation for a model file's header (its recommendation for the parts not given), refused on the GPU.
  const auto compensation_for = [&](const std::map<std::string, std::string>& header) {
    auto c = request.resolve(confsgm::generate::recommended_compensation(header, model_path));
    if (c.guidance.active()) {  // only a model's recommendation can bring it: `bias` has no --particle-guidance
      std::cerr << "note: " << model_path << " recommends particle guidance, which couples a molecule's conformers; "
                << "Algorithm 2 follows single samples, so the bias is measured without it\n";
      c.guidance = {};
    }
    if (gpu && c.active())
      throw usage_error(compensation_options_named(c) + " in `bias`" +
                        (request.complete() ? "" : " (what " + model_path + " recommends; --sampling-defaults none "
                                                   "measures without)") +
                        " run on --backend cpu for now (the GPU estimator takes no compensation yet)");
    return c;
  };
  if (gpu) compensation_for({});  // what the command line asks, before any work
  if (!calibrate.empty()) {
    if (gpu) throw usage_error("--calibrate-epsilon runs on --backend cpu");
    if (request.resolve().active())
      throw usage_error("--calibrate-epsilon measures the plain sampler: give no --epsilon-*, --corrector-* or "
                        "--sigma-shift-* options with it");
    if (update != "sde") throw usage_error("--calibrate-epsilon measures the reverse-SDE sampler (--update sde)");
  }
  if (update != "sde" && update != "ode") throw usage_error("--update must be sde or ode, got '" + update + "'");
  if (o.samples_per_level == 0 || per_mol == 0 || steps == 0 || lo.steps_per_level == 0)
    throw usage_error("--samples-per-level, --conformers-per-molecule, --steps and --steps-per-level must be >= 1");
  // Under mpirun the ranks share the draws (bias_options::sharing): every rank holds the single-process result,
  // rank 0 holds the locks, reports and writes the tables (docs/scale.md).
  const auto& job = job::current();
  o.sharing = job.sharing(gpu);
  // Before any work: inputs present, outputs writable, none of them an input, no other process writing them.
  const confsgm::util::output_guard guard(
      job.root() ? std::vector<std::string>{csv, errors_csv, calibrate} : std::vector<std::string>{},
      {model_path, data_path});
  silence_unless quiet_rank(job.root());  // the other ranks leave the messages to rank 0
  std::ostringstream elsewhere;  // the other ranks' tables go nowhere
  std::ostream& table = job.root() ? std::cout : elsewhere;
  const std::string csv_out = job.root() ? csv : "", errors_out = job.root() ? errors_csv : "";

  confsgm::rdkit::sdf_read_options ro;
  ro.min_atom_distance = confsgm::rdkit::physical_min_atom_distance;  // coinciding atoms: an error per record
  auto read = confsgm::rdkit::read_sdf(data_path, ro);
  for (const auto& e : read.errors) std::cerr << "error: " << e.what() << "\n";
  if (max_molecules && read.molecules.size() > max_molecules) read.molecules.resize(max_molecules);
  if (read.molecules.empty()) throw confsgm::io_error(data_path, std::nullopt, std::nullopt, "no usable molecule");
  const auto kind = confsgm::train::load_checkpoint<float>(model_path).at("model", model_path);
  if (kind == torsional_network::kind()) {
    const auto m = load_torsional_model(model_path);
    const auto mseed = static_cast<std::uint32_t>(o.seed % 2147483647u);
    const auto d = torsion_training_data(read.molecules, per_mol, mseed, m.rule, o.threads);
    for (const auto& n : d.dropped) std::cerr << "note: " << n << "\n";
    for (const auto& n : d.notes) std::cerr << "note: " << n << "\n";
    std::vector<confsgm::eval::torsion_sample> samples;
    for (std::size_t i = 0; i < d.set.size(); ++i)
      for (std::size_t c = 0; c < d.set.clean[i].size(); ++c)
        samples.push_back({&d.set.conformer_structures[i][c], d.set.clean[i][c]});
    if (samples.empty()) throw confsgm::io_error(data_path, std::nullopt, std::nullopt, "no conformer with a rotatable bond");
    const confsgm::log_uniform_schedule schedule(m.sigma_max, m.sigma_min, steps);
    if (!calibrate.empty()) {
      // Epsilon Scaling's factor from data (confsgm/eval/epsilon_calibration.hpp), instead of the bias estimate.
      confsgm::sample::torus_sampler_options so;
      so.seed = o.seed;
      so.threads = o.threads;
      const confsgm::sample::network_torsion_score<torsional_network> score(m.network, m.parameters);
      std::cerr << "[bias] calibrating Epsilon Scaling on " << samples.size() << " matched conformers of "
                << d.set.size() << " molecules\n";
      const auto c = confsgm::eval::calibrate_epsilon_scaling<float>(score, schedule, samples, so);
      std::ostringstream f, t;
      f << std::setprecision(17) << "level,sigma,sampled_square,training_square,kernel_square,lambda\n";
      t << std::setprecision(5) << "| level | sigma | E s^2 sampling | E s^2 perturbed references | E s^2 kernel | lambda |\n"
        << "|---|---|---|---|---|---|\n";
      for (std::size_t l = 0; l < c.sigma.size(); ++l) {
        f << l << "," << c.sigma[l] << "," << c.sampled_square[l] << "," << c.training_square[l] << ","
          << c.kernel_square[l] << "," << c.lambda[l] << "\n";
        t << "| " << l << " | " << c.sigma[l] << " | " << c.sampled_square[l] << " | " << c.training_square[l]
          << " | " << c.kernel_square[l] << " | " << c.lambda[l] << " |\n";
      }
      if (job.root()) confsgm::util::write_file_atomically(calibrate, f.str());
      t << std::setprecision(6) << "\nfit lambda = k t + b (t = levels left): --epsilon-k " << c.fit.k << " --epsilon-b "
        << c.fit.b << "\n";
      table << t.str();
      return ok;
    }
    const auto compensation = compensation_for(m.header);
    const auto zero_noise =
        update == "sde" ? confsgm::eval::zero_noise_update::sde_drift : confsgm::eval::zero_noise_update::probability_flow;
    std::cerr << "[bias] " << samples.size() << " matched conformers of " << d.set.size() << " molecules, "
              << o.samples_per_level << " samples per level\n";
    if (gpu) {
      report(cuda_backend::torsion_bias(m.network, m.parameters, schedule, zero_noise, samples, o), label, csv_out, errors_out, table);
      return ok;
    }
    const confsgm::sample::network_torsion_score<torsional_network> score(m.network, m.parameters);
    const confsgm::eval::torsion_bias_problem<decltype(score), confsgm::log_uniform_schedule> problem(
        score, schedule, zero_noise, 1, compensation);
    report(confsgm::eval::estimate_exposure_bias(problem, samples, o), label, csv_out, errors_out, table);
    return ok;
  }
  if (!calibrate.empty())
    throw usage_error("--calibrate-epsilon is for torsion models for now; " + model_path + " is a distance model");
  const auto m = load_confgf_model(model_path);
  compensation_for(m.header).apply_to(lo);
  std::vector<confsgm::distance_structure> structures;
  structures.reserve(read.molecules.size());  // samples point into it
  std::vector<confsgm::eval::distance_sample> samples;
  for (const auto& mol : read.molecules) {
    structures.push_back(confsgm::distance_space::describe(mol.data.graph));
    for (std::size_t c = 0; c < std::min(per_mol, mol.data.size()); ++c)
      samples.push_back({&structures.back(), mol.data.conformers[c]});
  }
  std::cerr << "[bias] " << samples.size() << " reference conformers of " << structures.size() << " molecules, "
            << o.samples_per_level << " samples per level\n";
  if (gpu) {
    report(cuda_backend::distance_bias(m.network, m.parameters, m.schedule, lo, samples, o), label, csv_out, errors_out, table);
    return ok;
  }
  const confsgm::sample::network_pair_score<confgf_network> score(m.network, m.parameters);
  const confsgm::eval::distance_bias_problem<decltype(score), confsgm::custom_schedule> problem(score, m.schedule, lo);
  report(confsgm::eval::estimate_exposure_bias(problem, samples, o), label, csv_out, errors_out, table);
  return ok;
}

}  // namespace app
