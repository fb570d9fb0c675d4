// Where this process stands in a job: rank r of n under an MPI launcher (mpirun, srun), or the only process
// otherwise (and in a build without MPI), where every command runs exactly as it would without MPI.
// Sharded commands deal molecules to ranks (confsgm/util/deal.hpp), talk through the few collective calls below,
// and write their output once, from rank 0 (docs/scale.md).
#pragma once

#include <confsgm/train/data_parallel.hpp>

#include "cli.hpp"
#include "cuda_backend.hpp"

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#if CONFSGM_HAS_MPI
#include <confsgm/mpi/communicator.hpp>
#endif

namespace app {

class job {
 public:
  /// The job of this process: started by an MPI launcher (in a build with MPI) or alone.
  static job& current() {
    static job j;
    return j;
  }

  /// Whether the command runs sharded: under an MPI launcher, whatever the number of ranks (-n 1 included, so
  /// that a run can be resumed with any number of ranks).
  bool sharded() const noexcept { return sharded_; }
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  bool root() const noexcept { return rank_ == 0; }
  /// The ranks as a train::Collective for work shared bit for bit (bias draws); alone without MPI. Refuses the
  /// GPU backend under mpirun (refuse_gpu).
  confsgm::train::data_parallel sharing(bool gpu) const;
  /// The same for training, where the GPU backend runs under mpirun too: each rank takes its node's GPU
  /// node_rank mod the GPU count (docs/scale.md). A micro-batch's gradient does not depend on the rank that computes
  /// it, so the weights are the one-process weights bit for bit on the CPU and on one kind of GPU alike.
  confsgm::train::data_parallel training_sharing(bool gpu) const;
  /// Throws the one usage error for --backend cuda under mpirun in generate and bias: their GPU launches mix the
  /// molecules of a rank's share, and a launch's size changes a GPU's rounding, so N ranks would not write what one
  /// process writes.
  void refuse_gpu(bool gpu) const;
  /// This process's rank among the ranks on its node (0 alone).
  int node_rank() const noexcept { return node_rank_; }

  /// "rank 1 of 4: " in a sharded run, else empty: the prefix of a message only one rank prints.
  std::string prefix() const { return sharded_ ? "rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ": " : ""; }

#if CONFSGM_HAS_MPI
  void barrier() const { if (comm_) comm_->barrier(); }
  bool any(bool mine) const { return comm_ ? comm_->any(mine) : mine; }
  std::uint64_t sum(std::uint64_t mine) const { return comm_ ? comm_->sum(mine) : mine; }
  std::vector<std::string> gather(const std::string& mine) const {
    return comm_ ? comm_->gather(mine) : std::vector<std::string>{mine};
  }
  std::string broadcast(std::string text) const { return comm_ ? comm_->broadcast(std::move(text)) : text; }
  /// Ends every rank with @p code (a rank that cannot go on while the others wait for it).
  [[noreturn]] void abort(int code) const {
    if (comm_) comm_->abort(code);
    std::exit(code);
  }
#else
  void barrier() const {}
  bool any(bool mine) const { return mine; }
  std::uint64_t sum(std::uint64_t mine) const { return mine; }
  std::vector<std::string> gather(const std::string& mine) const { return {mine}; }
  std::string broadcast(std::string text) const { return text; }
  [[noreturn]] void abort(int code) const { std::exit(code); }
#endif

 private:
  job() {
#if CONFSGM_HAS_MPI
    if (!confsgm::mpi::launched_by_mpi()) return;
    env_ = std::make_unique<confsgm::mpi::environment>();
    comm_ = std::make_unique<confsgm::mpi::communicator>();
    sharded_ = true;
    rank_ = comm_->rank();
    size_ = comm_->size();
    node_rank_ = comm_->node_rank();
#endif
  }

  bool sharded_ = false;
  int rank_ = 0, size_ = 1, node_rank_ = 0;
#if CONFSGM_HAS_MPI
  std::unique_ptr<confsgm::mpi::environment> env_;
  std::unique_ptr<confsgm::mpi::communicator> comm_;
#endif
};

inline void job::refuse_gpu(bool gpu) const {
  if (sharded_ && gpu)
    throw usage_error("--backend cuda runs under mpirun for train only: here a sharded run would not write what one "
                      "process writes (a GPU launch's size changes its rounding); run one process per GPU, or the "
                      "CPU backend under mpirun");
}

inline confsgm::train::data_parallel job::sharing(bool gpu) const {
  refuse_gpu(gpu);
  return training_sharing(false);
}

inline confsgm::train::data_parallel job::training_sharing(bool gpu) const {
  if (sharded_ && gpu) cuda_backend::use_device_of_node_rank(node_rank_);
#if CONFSGM_HAS_MPI
  if (comm_) {
    auto sharing = confsgm::train::data_parallel::over(*comm_);
    return gpu ? cuda_backend::gather_on_gpus(*comm_, std::move(sharing)) : sharing;
  }
#endif
  return {};
}

/// While it lives, std::cerr says nothing unless @p speaks: the other ranks of a sharded command leave the
/// messages to rank 0. Errors still reach stderr: main() prints them after the object is gone.
class silence_unless {
 public:
  explicit silence_unless(bool speaks) {
    if (!speaks) saved_ = std::cerr.rdbuf(nullptr);
  }
  silence_unless(const silence_unless&) = delete;
  silence_unless& operator=(const silence_unless&) = delete;
  ~silence_unless() {
    if (saved_) std::cerr.rdbuf(saved_);
  }

 private:
  std::streambuf* saved_ = nullptr;
};

}  // namespace app
