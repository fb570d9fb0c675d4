// `confsgm train`: denoising-score-matching training of the distance-space
// model (paper Algorithm 3) on multi-conformer SDF files, with or without
// Input Perturbation; resumable from its checkpoint.
#include <confsgm/confsgm.hpp>
#include <confsgm/rdkit/sdf.hpp>

#include <fstream>
#include <iostream>

#include "cli.hpp"
#include "confgf.hpp"

namespace app {

namespace {

std::vector<confsgm::ensemble<double>> read_ensembles(const std::string& path, const std::string& what) {
  auto r = confsgm::rdkit::read_sdf(path);
  for (const auto& e : r.errors) std::cerr << "error: " << e.what() << "\n";
  for (const auto& e : r.dropped) std::cerr << "note: " << e.what() << "\n";
  if (r.molecules.empty())
    throw confsgm::io_error(path, std::nullopt, std::nullopt, "no usable molecule in the " + what + " set");
  std::vector<confsgm::ensemble<double>> out;
  for (auto& m : r.molecules) out.push_back(std::move(m.data));
  return out;
}

/// Prints progress and appends the loss curve to a CSV file.
class cli_observer : public confsgm::train::training_observer {
 public:
  cli_observer(const std::string& log_path, bool quiet, std::size_t every, bool append)
      : quiet_(quiet), every_(every) {
    if (!log_path.empty()) {
      log_.open(log_path, append ? std::ios::app : std::ios::trunc);
      if (!log_) throw confsgm::io_error(log_path, std::nullopt, std::nullopt, "cannot open the log for writing");
      if (!append) log_ << "kind,epoch,step,train_loss,validation_loss,learning_rate,grad_norm,seconds\n";
    }
  }
  void on_step(const confsgm::train::step_report& r) override {
    if (log_.is_open() && r.step % every_ == 0)
      log_ << "step," << r.epoch << "," << r.step << "," << r.loss << ",," << r.learning_rate << "," << r.grad_norm
           << "," << r.seconds << "\n";
    if (!quiet_ && r.step % every_ == 0)
      std::cerr << "[train] step " << r.step << " epoch " << r.epoch << " loss " << r.loss << " |g| " << r.grad_norm
                << " lr " << r.learning_rate << "  " << static_cast<long>(r.seconds) << " s\n";
  }
  void on_epoch(const confsgm::train::epoch_report& r) override {
    if (log_.is_open()) {
      log_ << "epoch," << r.epoch << ",," << r.train_loss << "," << r.validation_loss << "," << r.learning_rate
           << ",," << r.seconds << "\n";
      log_.flush();
    }
    if (!quiet_)
      std::cerr << "[train] epoch " << r.epoch << " train " << r.train_loss << " validation " << r.validation_loss
                << (r.improved ? " (best)" : "") << " lr " << r.learning_rate << "  " << static_cast<long>(r.seconds)
                << " s\n";
  }

 private:
  bool quiet_;
  std::size_t every_;
  std::ofstream log_;
};

template <confsgm::Perturbation P>
int train_with(P pert, const confsgm::model::distance_network_config& cfg, const confsgm::train::trainer_options& o,
               const confsgm::train::training_set<confsgm::distance_space>& train,
               const confsgm::train::training_set<confsgm::distance_space>& val, bool resume, cli_observer& obs,
               const confsgm::geometric_schedule& schedule) {
  confsgm::train::dsm_trainer<confgf_network, confsgm::geometric_schedule, P> t(confgf_network(cfg), schedule, pert, o);
  if (resume) {
    t.resume(o.checkpoint_path);
    std::cerr << "[train] resumed from " << o.checkpoint_path << " at step " << t.step() << ", epoch " << t.epoch()
              << "\n";
  }
  std::cerr << "[train] " << train.size() << " training molecules (" << train.num_conformers() << " conformers), "
            << val.size() << " validation molecules; " << t.network().num_parameters() << " parameters; perturbation "
            << pert.name() << "\n";
  t.fit(train, val.size() ? &val : nullptr, &obs);
  std::cerr << "[train] done: step " << t.step() << ", epoch " << t.epoch() << ", best validation loss "
            << t.best_validation_loss() << "; model " << o.best_model_path << "\n";
  return ok;
}

}  // namespace

int run_train(arguments& args) {
  const auto train_path = args.required("train");
  const auto val_path = args.str("val");
  const auto out = args.required("out");
  const auto pert_name = args.str("perturbation", "none");
  const double lambda = args.number("lambda", 0.1);
  confsgm::model::distance_network_config cfg;
  cfg.hidden = static_cast<std::size_t>(args.integer("hidden", 128));
  cfg.layers = static_cast<std::size_t>(args.integer("layers", 4));
  confsgm::train::trainer_options o;
  o.seed = static_cast<std::uint64_t>(args.integer("seed", 2021));
  o.epochs = static_cast<std::size_t>(args.integer("epochs", 100));
  o.max_seconds = 60.0 * args.number("max-minutes", 0);
  o.batch_molecules = static_cast<std::size_t>(args.integer("batch", 32));
  o.micro_batch = static_cast<std::size_t>(args.integer("micro-batch", 8));
  o.learning_rate = args.number("lr", 1e-3);
  o.clip_grad_norm = args.number("clip-grad", 100.0);
  o.plateau_patience = static_cast<std::size_t>(args.integer("patience", 10));
  o.threads = static_cast<unsigned>(args.integer("threads", 0));
  o.checkpoint_every_steps = static_cast<std::size_t>(args.integer("checkpoint-every", 200));
  o.checkpoint_path = args.str("checkpoint", out + ".ckpt");
  o.best_model_path = out;
  const auto log = args.str("log", out + ".log.csv");
  const auto per_mol = static_cast<std::size_t>(args.integer("conformers-per-molecule", 5));
  const double sigma_max = args.number("sigma-max", 10.0), sigma_min = args.number("sigma-min", 0.01);
  const auto levels = static_cast<std::size_t>(args.integer("levels", 50));
  const bool resume = args.flag("resume");
  const bool quiet = args.flag("quiet");
  const auto log_every = static_cast<std::size_t>(args.integer("log-every", 50));
  args.reject_unknown();
  if (pert_name != "none" && pert_name != "ip" && pert_name != "td-ip")
    throw usage_error("--perturbation must be none, ip (paper Eq. 4) or td-ip (TD-IP code), got '" + pert_name + "'");
  if (cfg.hidden < 2 || cfg.layers < 1) throw usage_error("--hidden must be >= 2 and --layers >= 1");
  if (o.batch_molecules == 0 || o.micro_batch == 0 || per_mol == 0 || log_every == 0)
    throw usage_error("--batch, --micro-batch, --conformers-per-molecule and --log-every must be >= 1");
  if (resume && !std::filesystem::exists(o.checkpoint_path))
    throw usage_error("--resume given but the checkpoint " + o.checkpoint_path + " does not exist");

  const auto train = confsgm::train::distance_training_set(read_ensembles(train_path, "training"), per_mol);
  confsgm::train::training_set<confsgm::distance_space> val;
  if (!val_path.empty()) val = confsgm::train::distance_training_set(read_ensembles(val_path, "validation"), per_mol);
  cli_observer obs(log, quiet, log_every, resume);
  const confsgm::geometric_schedule schedule(sigma_max, sigma_min, levels);
  if (pert_name == "none") return train_with(confsgm::no_perturbation{}, cfg, o, train, val, resume, obs, schedule);
  if (pert_name == "ip") return train_with(confsgm::input_perturbation{lambda}, cfg, o, train, val, resume, obs, schedule);
  return train_with(confsgm::absolute_perturbation{lambda}, cfg, o, train, val, resume, obs, schedule);
}

}  // namespace app
