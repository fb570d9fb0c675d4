// confsgm/mpi/communicator.hpp: the little of MPI that confsgm's sharded commands and data-parallel training use,
// with errors as exceptions and reductions whose result does not depend on the MPI library's algorithm.
// Component confsgm::mpi (CMake: find_package(MPI), Debian libopenmpi-dev).
#pragma once

#include "confsgm/error.hpp"

#include <mpi.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

namespace confsgm::mpi {

/// Whether an MPI launcher (mpirun/mpiexec of Open MPI or MPICH, srun with PMI or PMIx) started this process. A
/// program asks before it touches MPI: started alone it runs as it would in a build without MPI.
inline bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

namespace detail {
inline void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw error(std::string("confsgm::mpi: ") + call + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}
inline int count_of(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw invalid_argument(std::string("confsgm::mpi: ") + what + " of " + std::to_string(n) +
                           " elements exceeds MPI's count limit (2^31 - 1)");
  return static_cast<int>(n);
}
}  // namespace detail

/// MPI for the lifetime of the object: initialised unless it already is (thread level "funneled": only the thread
/// that made the environment calls MPI, worker threads compute), and finalised by the object that initialised it.
class environment {
 public:
  environment() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;
    int provided = 0;
    detail::check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    owner_ = true;
    // Errors come back as codes (turned into exceptions) instead of ending every rank from inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;
  ~environment() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owner_ && !finalized) MPI_Finalize();
  }

 private:
  bool owner_ = false;
};

/// A group of ranks (MPI_COMM_WORLD by default). Every call is collective unless it says otherwise: each rank of
/// the group must make it, in the same order.
class communicator {
 public:
  explicit communicator(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    detail::check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    detail::check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }

  /// This process's rank, 0 .. size() - 1 (not collective).
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  MPI_Comm native() const noexcept { return comm_; }

  void barrier() const { detail::check(MPI_Barrier(comm_), "MPI_Barrier"); }

  /// This process's rank among the ranks on its node (shared memory), 0 .. ranks on the node - 1: which of the
  /// node's GPUs is its own. Collective: every rank calls it.
  int node_rank() const {
    MPI_Comm node = MPI_COMM_NULL;
    detail::check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
    int r = 0;
    const int code = MPI_Comm_rank(node, &r);
    MPI_Comm_free(&node);
    detail::check(code, "MPI_Comm_rank");
    return r;
  }

  /// Whether @p mine is true on any rank.
  bool any(bool mine) const {
    int in = mine ? 1 : 0, out = 0;
    detail::check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LOR, comm_), "MPI_Allreduce");
    return out != 0;
  }

  /// The sum of @p mine over all ranks (integers: exact, in any order).
  std::uint64_t sum(std::uint64_t mine) const {
    std::uint64_t out = 0;
    detail::check(MPI_Allreduce(&mine, &out, 1, MPI_UINT64_T, MPI_SUM, comm_), "MPI_Allreduce");
    return out;
  }

  /// Replaces @p values, on every rank, by their element-wise sum over the ranks, added in rank order
  /// ((v0 + v1) + v2 ...). MPI_Allreduce may add in any order (and its choice changes with the message size and
  /// the library's tuning); this sum is the same bits on every rank and in every run with the same number of ranks.
  /// Costs an all-gather: size() x values.size() doubles of memory on each rank.
  void sum_in_rank_order(std::span<double> values) const {
    const int n = detail::count_of(values.size(), "sum_in_rank_order");
    std::vector<double> all(values.size() * static_cast<std::size_t>(size_));
    detail::check(MPI_Allgather(values.data(), n, MPI_DOUBLE, all.data(), n, MPI_DOUBLE, comm_), "MPI_Allgather");
    for (std::size_t i = 0; i < values.size(); ++i) {
      double s = all[i];
      for (int r = 1; r < size_; ++r) s += all[static_cast<std::size_t>(r) * values.size() + i];
      values[i] = s;
    }
  }

  /// Every rank's @p mine, in rank order, on @p root (other ranks get an empty vector).
  std::vector<std::string> gather(const std::string& mine, int root = 0) const {
    const int length = detail::count_of(mine.size(), "gather");
    std::vector<int> lengths(rank_ == root ? static_cast<std::size_t>(size_) : 0);
    detail::check(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, comm_), "MPI_Gather");
    const auto offsets = offsets_of(lengths, "gather");
    std::string all(total_of(lengths, offsets), '\0');
    detail::check(MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                              root, comm_),
                  "MPI_Gatherv");
    return split(all, lengths, offsets);
  }

  /// Every rank's @p mine, in rank order, on every rank.
  std::vector<std::string> all_gather(const std::string& mine) const {
    const int length = detail::count_of(mine.size(), "all_gather");
    std::vector<int> lengths(static_cast<std::size_t>(size_));
    detail::check(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm_), "MPI_Allgather");
    const auto offsets = offsets_of(lengths, "all_gather");
    std::string all(total_of(lengths, offsets), '\0');
    detail::check(MPI_Allgatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                                 comm_),
                  "MPI_Allgatherv");
    return split(all, lengths, offsets);
  }

  /// @p root's @p text, on every rank.
  std::string broadcast(std::string text, int root = 0) const {
    std::uint64_t length = text.size();
    detail::check(MPI_Bcast(&length, 1, MPI_UINT64_T, root, comm_), "MPI_Bcast");
    text.resize(static_cast<std::size_t>(length));
    detail::check(MPI_Bcast(text.data(), detail::count_of(text.size(), "broadcast"), MPI_CHAR, root, comm_), "MPI_Bcast");
    return text;
  }

  /// Ends every rank of the job with exit status @p code (not collective): for a rank that cannot go on while
  /// the others wait for it in a collective call.
  [[noreturn]] void abort(int code) const {
    MPI_Abort(comm_, code);
    std::_Exit(code);  // MPI_Abort does not return; this keeps [[noreturn]] honest if a library's does
  }

 private:
  /// Where each rank's bytes start in the gathered buffer; the whole must fit MPI's int counts.
  static std::vector<int> offsets_of(const std::vector<int>& lengths, const char* call) {
    std::vector<int> offsets(lengths.size(), 0);
    std::size_t total = 0;
    for (std::size_t r = 0; r < lengths.size(); ++r) {
      offsets[r] = detail::count_of(total, call);
      total += static_cast<std::size_t>(lengths[r]);
    }
    detail::count_of(total, call);
    return offsets;
  }
  static std::size_t total_of(const std::vector<int>& lengths, const std::vector<int>& offsets) {
    return lengths.empty() ? 0 : static_cast<std::size_t>(offsets.back()) + static_cast<std::size_t>(lengths.back());
  }
  static std::vector<std::string> split(const std::string& all, const std::vector<int>& lengths,
                                        const std::vector<int>& offsets) {
    std::vector<std::string> out;
    for (std::size_t r = 0; r < lengths.size(); ++r)
      out.push_back(all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r])));
    return out;
  }

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace confsgm::mpi
