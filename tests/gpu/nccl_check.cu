// NCCL between GPUs under mpirun (CTest gpu:nccl_training_equals_host_exchange, 2 ranks; docs/scale.md): the
// group's all-gather puts every rank's floats in rank order, and data-parallel training whose gradients are gathered
// GPU to GPU ends with the weights of the same ranks exchanging them through the host, bit for bit. Needs one GPU
// per rank (NCCL refuses two ranks on one device): exit 77 (skipped) where a node has fewer GPUs than ranks.
#include <confsgm/backend/cuda/distance_training.cuh>
#include <confsgm/backend/cuda/nccl.cuh>

#include "../unit/support.hpp"

#include <cstdio>
#include <vector>

using namespace confsgm;

int main() {
  mpi::environment env;
  const mpi::communicator world;
  const int rank = world.rank(), n = world.size();
  const bool enough = cuda::device_count() >= n;  // one node (CTest): every rank sees the same count
  if (world.any(!enough)) {
    if (rank == 0) std::printf("fewer GPUs than the %d ranks: NCCL check skipped\n", n);
    return 77;
  }
  int failures = 0;
  const auto expect = [&](bool ok, const char* what) {
    if (rank == 0 || !ok) std::printf("rank %d: %s %s\n", rank, ok ? "ok  " : "FAIL", what);
    failures += !ok;
  };
  try {
    cuda::use_device_of_node_rank(world.node_rank());
    expect(cuda::each_rank_has_its_own_device(world), "each rank has its own device");
    const auto group = std::make_shared<const cuda::nccl_group>(world);
    // The group's gather: rank r sends {r, r + 0.5}.
    cuda::device_buffer<float> mine(std::vector<float>{float(rank), float(rank) + 0.5f}), all(std::size_t(2 * n));
    group->all_gather(mine.data(), all.data(), 2);
    const auto got = all.download();
    bool in_order = got.size() == std::size_t(2 * n);
    for (int r = 0; in_order && r < n; ++r) in_order = got[2 * r] == float(r) && got[2 * r + 1] == float(r) + 0.5f;
    expect(in_order, "all_gather: every rank's floats in rank order");
    // Training: 2 micro-batches per rank and step, gradients through the host, then through NCCL.
    std::mt19937_64 rng(7);
    const auto s = distance_space::describe(test_support::butanol_graph());
    train::training_set<distance_space> data;
    for (int m = 0; m < 12; ++m) {
      std::vector<double> dc(s.edges.size());
      distance_space::distances(s, test_support::random_points(s.n_atoms, rng, 1.5), dc.data());
      data.ids.push_back("m" + std::to_string(m));
      data.structures.push_back(s);
      data.clean.push_back({dc});
    }
    const model::distance_network_config small{.hidden = 32, .layers = 2};
    const auto weights_after = [&](train::data_parallel sharing) {
      train::trainer_options o{.batch_molecules = 12, .micro_batch = 3, .epochs = 3, .threads = 1};
      o.sharing = std::move(sharing);
      train::dsm_trainer<cuda::distance_network_trainable, geometric_schedule, input_perturbation> t(
          cuda::distance_network_trainable(small), geometric_schedule(), input_perturbation(0.1), o);
      t.fit(data);
      return t.parameters();
    };
    const auto through_host = weights_after(train::data_parallel::over(world));
    const auto through_nccl =
        weights_after(train::data_parallel::over(world).gathering_on_device(cuda::device_gather_of(group)));
    expect(through_host == through_nccl, "training: NCCL gather = host exchange, weights bit for bit");
    const auto everyone = world.all_gather(std::string(reinterpret_cast<const char*>(through_nccl.data()),
                                                       through_nccl.size() * sizeof(float)));
    bool same = true;
    for (const auto& w : everyone) same &= w == everyone.front();
    expect(same, "training: every rank holds the same weights");
  } catch (const std::exception& e) {
    std::printf("rank %d: FAIL exception: %s\n", rank, e.what());
    world.abort(1);
  }
  return world.any(failures > 0) ? 1 : 0;
}
