// The reference application's training run, shared by the CPU build and the
// CUDA backend (cuda_backend.cu): progress observer, and one DSM trainer run
// for any network, schedule and perturbation. No RDKit here, so nvcc compiles it.
#pragma once

#include <confsgm/train/trainer.hpp>

#include <fstream>
#include <iostream>
#include <string>

#include "cli.hpp"

namespace app {

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
    if (epochs_seen_ == 0 || r.learning_rate < lowest_rate_) {
      lowest_rate_ = r.learning_rate;
      lowest_since_ = r.epoch;
    }
    last_epoch_ = r.epoch;
    ++epochs_seen_;
  }
  /// Epochs this run reported (a resumed run: since it resumed).
  std::size_t epochs_seen() const noexcept { return epochs_seen_; }
  /// How many of them ended with the learning rate at @p floor (the trainer's min_learning_rate); 0 if none did.
  std::size_t epochs_at_floor(double floor) const noexcept {
    return epochs_seen_ && lowest_rate_ <= floor * (1 + 1e-9) ? last_epoch_ - lowest_since_ + 1 : 0;
  }

 private:
  bool quiet_;
  std::size_t every_;
  std::ofstream log_;
  double lowest_rate_ = 0;
  std::size_t lowest_since_ = 0, last_epoch_ = 0, epochs_seen_ = 0;
};

template <class Network, class Schedule, confsgm::Perturbation P>
int train_with(Network net, Schedule schedule, P pert, const confsgm::train::trainer_options& o,
               const confsgm::train::training_set<typename Network::space_type>& train,
               const confsgm::train::training_set<typename Network::space_type>& val, bool resume, cli_observer& obs) {
  confsgm::train::dsm_trainer<Network, Schedule, P> t(std::move(net), schedule, pert, o);
  if (resume) {
    t.resume(o.checkpoint_path);
    std::cerr << "[train] resumed from " << o.checkpoint_path << " at step " << t.step() << ", epoch " << t.epoch()
              << "\n";
  }
  std::cerr << "[train] " << train.size() << " training molecules (" << train.num_conformers() << " conformers, "
            << Network::space_type::name() << " space), "
            << val.size() << " validation molecules; " << t.network().num_parameters() << " parameters; perturbation "
            << pert.name() << "\n";
  t.fit(train, val.size() ? &val : nullptr, &obs);
  std::cerr << "[train] done: step " << t.step() << ", epoch " << t.epoch() << ", best validation loss "
            << t.best_validation_loss()
            << (t.best_epoch_recorded() ? " at epoch " + std::to_string(t.best_epoch())
                                        : " (reached before the resume; the checkpoint did not record its epoch)")
            << "; model " << o.best_model_path << "\n";
  if (t.stopped_early())
    std::cerr << "[train] stopped early: " << o.early_stop_patience << " epochs without a better validation loss\n";
  // The plateau patience counts epochs: on a small training set (few steps per epoch) the rate can reach its floor
  // early and waste most of the budget there, as the first Drugs runs did (docs/results.md).
  const auto at_floor = obs.epochs_at_floor(o.min_learning_rate);
  if (o.learning_rate > o.min_learning_rate && at_floor > 1 && 2 * at_floor > obs.epochs_seen())
    std::cerr << "warning: the learning rate was at its floor (" << o.min_learning_rate << ") for the last "
              << at_floor << " of the " << obs.epochs_seen() << " epochs of this run; with few optimizer steps per "
              << "epoch, a larger --patience keeps it higher for longer (docs/cli.md)\n";
  return ok;
}

template <class Network, class Schedule>
int train_perturbation(const std::string& pert_name, double lambda, Network net, Schedule schedule,
                       const confsgm::train::trainer_options& o,
                       const confsgm::train::training_set<typename Network::space_type>& train,
                       const confsgm::train::training_set<typename Network::space_type>& val, bool resume,
                       cli_observer& obs) {
  if (pert_name == "none") return train_with(std::move(net), schedule, confsgm::no_perturbation{}, o, train, val, resume, obs);
  if (pert_name == "ip")
    return train_with(std::move(net), schedule, confsgm::input_perturbation{lambda}, o, train, val, resume, obs);
  return train_with(std::move(net), schedule, confsgm::absolute_perturbation{lambda}, o, train, val, resume, obs);
}

}  // namespace app
