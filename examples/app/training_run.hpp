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
  }

 private:
  bool quiet_;
  std::size_t every_;
  std::ofstream log_;
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
            << t.best_validation_loss() << "; model " << o.best_model_path << "\n";
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
