// `confsgm train`: denoising-score-matching training of the distance-space
// model (paper Algorithm 3) on multi-conformer SDF files, with or without
// Input Perturbation; resumable from its checkpoint.
#include <confsgm/confsgm.hpp>
#include <confsgm/rdkit/sdf.hpp>

#include <fstream>
#include <iostream>

#include "cli.hpp"
#include "job.hpp"
#include "confgf.hpp"
#include "cuda_backend.hpp"
#include "torsional.hpp"
#include "training_run.hpp"

namespace app {

namespace {

std::vector<confsgm::rdkit::sdf_molecule> read_molecules(const std::string& path, const std::string& what) {
  confsgm::rdkit::sdf_read_options ro;
  ro.min_atom_distance = confsgm::rdkit::physical_min_atom_distance;  // coinciding atoms: an error per record
  auto r = confsgm::rdkit::read_sdf(path, ro);
  for (const auto& e : r.errors) std::cerr << "error: " << e.what() << "\n";
  for (const auto& e : r.dropped) std::cerr << "note: " << e.what() << "\n";
  if (r.molecules.empty())
    throw confsgm::io_error(path, std::nullopt, std::nullopt, "no usable molecule in the " + what + " set");
  return std::move(r.molecules);
}

std::vector<confsgm::ensemble<double>> read_ensembles(const std::string& path, const std::string& what) {
  std::vector<confsgm::ensemble<double>> out;
  for (auto& m : read_molecules(path, what)) out.push_back(std::move(m.data));
  return out;
}

/// Conformer matching for the torsion model, with its RMSD distribution reported.
confsgm::train::training_set<confsgm::torsion_space> torsion_set(const std::string& path, const std::string& what,
                                                                  std::size_t per_mol, std::uint32_t seed,
                                                                  confsgm::rotatable_rule rule, unsigned threads,
                                                                  const std::string& report, bool matched) {
  auto d = torsion_training_data(read_molecules(path, what), per_mol, seed, rule, threads, matched);
  if (matched) {
    for (const auto& n : d.dropped) std::cerr << "note: " << n << "\n";
  for (const auto& n : d.notes) std::cerr << "note: " << n << "\n";
    if (d.set.size() == 0)
      throw confsgm::io_error(path, std::nullopt, std::nullopt, "no molecule of the " + what + " set has a rotatable bond");
    std::cerr << "[train] " << what << ": " << d.set.num_conformers() << " conformers taken as matched (confsgm match)\n";
    return std::move(d.set);
  }
  for (const auto& n : d.dropped) std::cerr << "note: " << n << "\n";
  for (const auto& n : d.notes) std::cerr << "note: " << n << "\n";
  if (d.set.size() == 0)
    throw confsgm::io_error(path, std::nullopt, std::nullopt, "no molecule of the " + what + " set has a rotatable bond");
  std::vector<double> r;
  for (const auto& m : d.matching) r.push_back(m.heavy_rmsd);
  std::sort(r.begin(), r.end());
  const auto q = [&](double f) { return r[std::min(r.size() - 1, static_cast<std::size_t>(f * r.size()))]; };
  std::cerr << "[train] conformer matching (" << what << "): " << r.size() << " conformers of " << d.set.size()
            << " molecules; heavy-atom RMSD to the reference median " << q(0.5) << " A, 90th percentile " << q(0.9)
            << " A, max " << r.back() << " A (" << d.notes.size() << " molecules left out)\n";
  if (!report.empty()) write_matching(report, d.matching);
  return std::move(d.set);
}

}  // namespace

int run_train(arguments& args) {
  const auto train_path = args.required("train");
  const auto val_path = args.str("val");
  const auto out = args.required("out");
  const auto pert_name = args.str("perturbation", "none");
  const auto space = args.str("space", "distance");
  const bool torsion = space == "torsion";
  const double lambda = args.number("lambda", 0.1);
  confsgm::model::distance_network_config cfg;
  cfg.hidden = args.count("hidden", torsion ? 64 : 128);
  cfg.layers = args.count("layers", 4);
  const auto rule_arg = args.str("rotatable", "stereo-safe");
  const bool matched = args.flag("matched");
  const double cutoff = args.number("cutoff", 5.0);
  const auto radial = args.count("radial", 16);
  confsgm::train::trainer_options o;
  o.seed = args.count<std::uint64_t>("seed", 2021);
  o.epochs = args.count("epochs", 100);
  o.max_seconds = 60.0 * args.number("max-minutes", 0);
  o.batch_molecules = args.count("batch", 32);
  o.micro_batch = args.count("micro-batch", 8);
  o.learning_rate = args.number("lr", 1e-3);
  o.clip_grad_norm = args.number("clip-grad", 100.0);
  // ReduceLROnPlateau as the references: ConfGF 0.6 / 10 epochs, Torsional Diffusion 0.7 / 20 epochs.
  o.plateau_patience = args.count("patience", torsion ? 20 : 10);
  o.plateau_factor = args.number("plateau-factor", torsion ? 0.7 : 0.6);
  o.early_stop_patience = args.count("early-stop", 0);
  o.threads = args.count<unsigned>("threads", 0);
  o.checkpoint_every_steps = args.count("checkpoint-every", 200);
  o.checkpoint_path = args.str("checkpoint", out + ".ckpt");
  o.best_model_path = out;
  const auto log = args.str("log", out + ".log.csv");
  // Conformers per molecule: Torsional Diffusion takes the first 30, ConfGF the 5 most probable (the data sets list
  // a molecule's conformers by energy, so the first 5 are those).
  const auto per_mol = args.count("conformers-per-molecule", torsion ? 30 : 5);
  const double sigma_max = args.number("sigma-max", torsion ? 3.14 : 10.0);
  const double sigma_min = args.number("sigma-min", torsion ? 0.0314 : 0.01);
  const auto levels = args.count("levels", 50);
  const bool resume = args.flag("resume");
  const bool quiet = args.flag("quiet");
  const auto log_every = args.count("log-every", 50);
  const auto backend = args.str("backend", "cpu");
  args.reject_unknown();
  const bool gpu = cuda_backend::selected(backend);
  if (space != "distance" && space != "torsion") throw usage_error("--space must be distance or torsion, got '" + space + "'");
  const auto rule = confsgm::parse_rotatable_rule(rule_arg);
  if (pert_name != "none" && pert_name != "ip" && pert_name != "td-ip")
    throw usage_error("--perturbation must be none, ip (paper Eq. 4) or td-ip (TD-IP code), got '" + pert_name + "'");
  if (cfg.hidden < 2 || cfg.layers < 1) throw usage_error("--hidden must be >= 2 and --layers >= 1");
  if (o.batch_molecules == 0 || o.micro_batch == 0 || per_mol == 0 || log_every == 0)
    throw usage_error("--batch, --micro-batch, --conformers-per-molecule and --log-every must be >= 1");
  if (resume && !std::filesystem::exists(o.checkpoint_path))
    throw usage_error("--resume given but the checkpoint " + o.checkpoint_path + " does not exist");
  // Under mpirun every rank reads the data and shares each batch (confsgm/train/data_parallel.hpp): the weights are
  // the single-process run's, bit for bit; rank 0 holds the locks, writes the files and reports (docs/scale.md).
  const auto& job = job::current();
  o.sharing = job.training_sharing(gpu);
  // Before any work: inputs present, outputs writable, none of them an input, no other process writing them.
  const confsgm::util::output_guard guard(
      job.root() ? std::vector<std::string>{out, o.checkpoint_path, log} : std::vector<std::string>{},
      {train_path, val_path});
  silence_unless quiet_rank(job.root());  // the other ranks leave the messages to rank 0

  cli_observer obs(job.root() ? log : std::string(), quiet || !job.root(), log_every, resume);
  if (torsion) {
    // Conformer matching is seeded by --seed, so a resumed run rebuilds the same training data.
    o.extra_header["conformers_per_molecule"] = std::to_string(per_mol);
    const auto mseed = static_cast<std::uint32_t>(o.seed % 2147483647u);
    const auto train =
        torsion_set(train_path, "training", per_mol, mseed, rule, o.threads, job.root() ? out + ".matching.tsv" : "", matched);
    confsgm::train::training_set<confsgm::torsion_space> val;
    if (!val_path.empty()) val = torsion_set(val_path, "validation", per_mol, mseed + 17u, rule, o.threads, "", matched);
    o.extra_header["training_data"] = matched ? "matched by confsgm match" : "matched at training time";
    o.extra_header.merge(confsgm::train::training_domain_header(train));
    confsgm::model::torsion_network_config tc;
    tc.hidden = cfg.hidden;
    tc.layers = cfg.layers;
    tc.cutoff = cutoff;
    tc.radial = radial;
    const confsgm::log_uniform_schedule schedule(sigma_max, sigma_min);
    if (gpu) return cuda_backend::train_torsion(pert_name, lambda, tc, schedule, o, train, val, resume, obs);
    return train_perturbation(pert_name, lambda, torsional_network(tc), schedule, o, train, val, resume, obs);
  }
  const auto train = confsgm::train::distance_training_set(read_ensembles(train_path, "training"), per_mol);
  confsgm::train::training_set<confsgm::distance_space> val;
  if (!val_path.empty()) val = confsgm::train::distance_training_set(read_ensembles(val_path, "validation"), per_mol);
  o.extra_header.merge(confsgm::train::training_domain_header(train));
  const confsgm::geometric_schedule schedule(sigma_max, sigma_min, levels);
  if (gpu) return cuda_backend::train_distance(pert_name, lambda, cfg, schedule, o, train, val, resume, obs);
  return train_perturbation(pert_name, lambda, confgf_network(cfg), schedule, o, train, val, resume, obs);
}

}  // namespace app
