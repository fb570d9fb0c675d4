// confsgm::mpi::communicator under mpirun (CTest: mpi:communicator_collectives, 3 ranks): every collective call
// gives the documented result on every rank; the ordered sum is the same bits for any split of the work.
// Exit status 0 on every rank when all checks pass.
#include <confsgm/mpi/communicator.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {
int failures = 0;
void check(bool ok, const char* what, int rank) {
  if (ok) return;
  std::fprintf(stderr, "rank %d: FAIL: %s\n", rank, what);
  ++failures;
}
}  // namespace

int main() {
  confsgm::mpi::environment env;
  const confsgm::mpi::communicator comm;
  const int r = comm.rank(), n = comm.size();
  check(n >= 2, "run with at least 2 ranks", r);

  check(comm.sum(static_cast<std::uint64_t>(r + 1)) == static_cast<std::uint64_t>(n * (n + 1) / 2), "sum", r);
  check(comm.any(r == n - 1), "any (true on the last rank)", r);
  check(!comm.any(false), "any (false everywhere)", r);
  // One node here (CTest runs every rank on this machine): the node rank is the rank.
  check(comm.node_rank() == r, "node_rank (one node: equals the rank)", r);

  // Values of very different magnitudes: the order of the additions decides the bits.
  std::vector<double> v = {1e16 * (r % 2 ? -1 : 1), 1.0 + r, std::ldexp(1.0, -60) * (r + 1)};
  auto ordered = v;
  comm.sum_in_rank_order(ordered);
  std::vector<double> expected(3, 0.0);
  for (int q = 0; q < n; ++q) {
    const std::vector<double> vq = {1e16 * (q % 2 ? -1 : 1), 1.0 + q, std::ldexp(1.0, -60) * (q + 1)};
    for (std::size_t i = 0; i < 3; ++i) expected[i] = q == 0 ? vq[i] : expected[i] + vq[i];
  }
  check(std::memcmp(ordered.data(), expected.data(), sizeof(double) * 3) == 0, "sum_in_rank_order bits", r);
  std::vector<double> empty;
  comm.sum_in_rank_order(empty);

  const auto gathered = comm.gather("rank " + std::to_string(r) + std::string(static_cast<std::size_t>(r) * 1000, 'x'));
  if (r == 0) {
    check(static_cast<int>(gathered.size()) == n, "gather: one string per rank on the root", r);
    for (int q = 0; q < n && q < static_cast<int>(gathered.size()); ++q)
      check(gathered[static_cast<std::size_t>(q)] == "rank " + std::to_string(q) + std::string(static_cast<std::size_t>(q) * 1000, 'x'),
            "gather: rank order and content", r);
  } else {
    check(gathered.empty(), "gather: nothing on other ranks", r);
  }
  const auto everyone = comm.all_gather(std::string(static_cast<std::size_t>(r), static_cast<char>('a' + r)));
  check(static_cast<int>(everyone.size()) == n, "all_gather: one string per rank", r);
  for (int q = 0; q < n && q < static_cast<int>(everyone.size()); ++q)
    check(everyone[static_cast<std::size_t>(q)] == std::string(static_cast<std::size_t>(q), static_cast<char>('a' + q)),
          "all_gather: rank order and content (rank 0 sends nothing)", r);
  check(comm.broadcast(r == 0 ? std::string("from the root\0with a zero", 25) : std::string("other")) ==
            std::string("from the root\0with a zero", 25),
        "broadcast (bytes, zeros included)", r);
  comm.barrier();
  const auto all_failures = comm.sum(static_cast<std::uint64_t>(failures));
  if (r == 0) std::printf("%s: %d ranks\n", all_failures ? "FAILED" : "ok", n);
  return all_failures ? 1 : 0;
}
