// confsgm/backend/cuda/nccl.cuh: the ranks of an MPI job as one NCCL communicator over their GPUs, so that
// data-parallel training gathers the micro-batch gradients device to device (target confsgm::nccl; docs/scale.md):
//
//   mpi::communicator world;
//   cuda::use_device_of_node_rank(world.node_rank());
//   auto group = std::make_shared<cuda::nccl_group>(world);
//   options.sharing = train::data_parallel::over(world).gathering_on_device(cuda::device_gather_of(group));
//
// NCCL needs one GPU per rank (it refuses two ranks on one device): cuda::each_rank_has_its_own_device says whether
// a job can use it.
#pragma once

#if !defined(CONFSGM_HAS_NCCL) || !CONFSGM_HAS_NCCL
#error "confsgm/backend/cuda/nccl.cuh needs NCCL: link the target confsgm::nccl (CUDA toolkit with NCCL, and MPI)"
#endif

#include "confsgm/backend/cuda/device_buffer.hpp"
#include "confsgm/mpi/communicator.hpp"
#include "confsgm/train/data_parallel.hpp"

#include <nccl.h>

#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <utility>

namespace confsgm::cuda {

inline void check(ncclResult_t r, const char* what, const char* file, int line) {
  if (r != ncclSuccess)
    throw cuda_error(std::string(what) + " failed: " + ncclGetErrorString(r) + " at " + file + ":" + std::to_string(line));
}

/// Whether every rank of @p comm uses a device no other rank uses (collective): the condition for NCCL.
inline bool each_rank_has_its_own_device(const mpi::communicator& comm) {
  char name[MPI_MAX_PROCESSOR_NAME];
  int length = 0;
  MPI_Get_processor_name(name, &length);
  const auto all = comm.all_gather(std::string(name, static_cast<std::size_t>(length)) + '\n' +
                                   std::to_string(current_device()));
  return std::set<std::string>(all.begin(), all.end()).size() == all.size();
}

/// One NCCL communicator over the ranks of @p comm, each on its current device (made collectively; the id travels
/// by MPI). Move-only; destroyed with the object.
class nccl_group {
 public:
  explicit nccl_group(const mpi::communicator& comm) : rank_(comm.rank()), size_(comm.size()) {
    require_device();
    device_ = current_device();
    ncclUniqueId id{};
    if (rank_ == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId", __FILE__, __LINE__);
    const auto bytes = comm.broadcast(rank_ == 0 ? std::string(reinterpret_cast<const char*>(&id), sizeof id) : "");
    if (bytes.size() != sizeof id)
      throw cuda_error("nccl_group: the root sent " + std::to_string(bytes.size()) + " bytes of NCCL id, not " +
                       std::to_string(sizeof id));
    std::memcpy(&id, bytes.data(), sizeof id);
    check(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank", __FILE__, __LINE__);
  }
  nccl_group(const nccl_group&) = delete;
  nccl_group& operator=(const nccl_group&) = delete;
  ~nccl_group() {
    if (comm_) ncclCommDestroy(comm_);
  }

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  int device() const noexcept { return device_; }

  /// Every rank's @p count floats at @p mine (device memory), in rank order, into @p all (size() * count floats on
  /// the device); returns when they are there. Collective.
  void all_gather(const float* mine, float* all, std::size_t count) const {
    use_device(device_);
    check(ncclAllGather(mine, all, count, ncclFloat, comm_, nullptr), "ncclAllGather", __FILE__, __LINE__);
    CONFSGM_CUDA_CHECK(cudaStreamSynchronize(nullptr));
  }

 private:
  int rank_, size_, device_ = 0;
  ncclComm_t comm_ = nullptr;
};

/// The trainer's device gather (train::data_parallel::gathering_on_device) through @p group, which it keeps alive.
inline train::data_parallel::device_gather device_gather_of(std::shared_ptr<const nccl_group> group) {
  return [group = std::move(group)](const float* mine, float* all, std::size_t count) {
    group->all_gather(mine, all, count);
  };
}

}  // namespace confsgm::cuda
