// confsgm/train/data_parallel.hpp: training on several processes (MPI ranks) that share each batch. A batch is
// already cut into fixed micro-batches whose gradients are summed in micro-batch order (trainer.hpp); with
// data_parallel the micro-batches are dealt round-robin to the ranks, each rank computes its own, and every rank
// receives every micro-batch's gradient and sums them in that same order. The weights after each step are
// therefore the single-process weights bit for bit, for any number of ranks (and a checkpoint resumes on any
// number), at the price of exchanging one gradient per micro-batch instead of one per rank. The gradients travel
// as bytes through the group's all_gather, or, for a trainer whose state is on a GPU and a group that can
// (gathering_on_device: NCCL, backend/cuda/nccl.cuh), device to device.
#pragma once

#include "confsgm/error.hpp"

#include <concepts>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace confsgm::train {

/// A group of processes that can each contribute bytes and receive everyone's, in rank order: the one collective
/// call data-parallel training needs. confsgm::mpi::communicator models it.
template <class C>
concept Collective = requires(const C& c, const std::string& bytes) {
  { c.rank() } -> std::convertible_to<int>;
  { c.size() } -> std::convertible_to<int>;
  { c.all_gather(bytes) } -> std::same_as<std::vector<std::string>>;
};

/// The ranks a dsm_trainer shares its batches with; the default is one process alone.
class data_parallel {
 public:
  data_parallel() = default;

  /// Shares batches over @p group (kept by reference: it must outlive the trainer's use of it).
  template <class C>
  static data_parallel over(const C& group) {
    static_assert(Collective<C>,
                  "data_parallel::over(group): the group must provide int rank(), int size() and "
                  "std::vector<std::string> all_gather(const std::string&) (every rank's bytes, in rank order)");
    data_parallel d;
    d.rank_ = group.rank();
    d.size_ = group.size();
    if (d.size_ < 1 || d.rank_ < 0 || d.rank_ >= d.size_)
      throw invalid_argument("data_parallel: rank " + std::to_string(d.rank_) + " of " + std::to_string(d.size_));
    d.all_gather_ = [&group](const std::string& bytes) { return group.all_gather(bytes); };
    return d;
  }

  /// A gather of float arrays that stay on the devices: gather(mine, all, count) puts every rank's @p count
  /// floats at @p mine, in rank order, into @p all (size() * count). Device memory on both sides.
  using device_gather = std::function<void(const float* mine, float* all, std::size_t count)>;

  /// The same ranks, with gradients of a device training state gathered by @p gather instead of all_gather.
  data_parallel gathering_on_device(device_gather gather) const {
    data_parallel d = *this;
    d.device_gather_ = std::move(gather);
    return d;
  }
  /// The device gather, empty when the gradients travel through all_gather.
  const device_gather& on_device() const noexcept { return device_gather_; }

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  /// Whether this process writes files (checkpoints, model files): rank 0 only.
  bool writes_files() const noexcept { return rank_ == 0; }
  /// Whether micro-batch @p mb is computed here.
  bool owns(std::size_t mb) const noexcept { return mb % static_cast<std::size_t>(size_) == static_cast<std::size_t>(rank_); }
  std::vector<std::string> all_gather(const std::string& bytes) const {
    return size_ == 1 ? std::vector<std::string>{bytes} : all_gather_(bytes);
  }

 private:
  int rank_ = 0, size_ = 1;
  std::function<std::vector<std::string>(const std::string&)> all_gather_;
  device_gather device_gather_;
};

}  // namespace confsgm::train
