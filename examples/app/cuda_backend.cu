// `--backend cuda`: the reference application's runs on the CUDA backend
// (declarations and contract in cuda_backend.hpp).
#include <confsgm/backend/cuda/langevin.cuh>
#include <confsgm/backend/cuda/torsion_sampler.cuh>
#include <confsgm/backend/cuda/torsion_training.cuh>
#if CONFSGM_HAS_NCCL
#include <confsgm/backend/cuda/nccl.cuh>
#endif

#include "cuda_backend.hpp"
#include "training_run.hpp"

namespace app::cuda_backend {

namespace {
/// Runs @p f, turning CUDA and cuBLAS errors into device_failure (fatal for the whole run).
template <class F>
auto on_device(F&& f) {
  try {
    return f();
  } catch (const confsgm::cuda::cuda_error& e) {
    throw device_failure(std::string("--backend cuda: ") + e.what());
  }
}
}  // namespace

void require(int host_eigen_alignment) {
  if (host_eigen_alignment != EIGEN_MAX_ALIGN_BYTES)
    throw confsgm::error("build error: the application's C++ objects use Eigen alignment " +
                         std::to_string(host_eigen_alignment) + " and its CUDA objects " +
                         std::to_string(EIGEN_MAX_ALIGN_BYTES) +
                         "; compile both for the same CPU (CONFSGM_NATIVE passes -march=native to both)");
  if (confsgm::cuda::device_count() == 0)
    throw usage_error("--backend cuda: no CUDA device found (no GPU, or no driver); run without --backend cuda");
}

int use_device_of_node_rank(int node_rank) {
  return on_device([&] { return confsgm::cuda::use_device_of_node_rank(node_rank); });
}

#if CONFSGM_HAS_MPI
confsgm::train::data_parallel gather_on_gpus([[maybe_unused]] const confsgm::mpi::communicator& comm,
                                             confsgm::train::data_parallel sharing) {
#if CONFSGM_HAS_NCCL
  return on_device([&] {
    if (!confsgm::cuda::each_rank_has_its_own_device(comm)) return sharing;
    auto group = std::make_shared<const confsgm::cuda::nccl_group>(comm);
    return sharing.gathering_on_device(confsgm::cuda::device_gather_of(std::move(group)));
  });
#else
  return sharing;
#endif
}
#endif

std::vector<confsgm::sample::langevin_result> confgf_sample(const distance_net& net, const params& p,
                                                            const confsgm::custom_schedule& schedule,
                                                            const std::vector<confsgm::sample::langevin_job>& jobs,
                                                            const confsgm::sample::langevin_options& o) {
  // Launches of at most this many conformers: the network's per-edge activations of 4,096 drug-sized conformers
  // take a few GB, and larger launches gain nothing (docs/performance.md: per-conformer cost flat from 1,024 on).
  constexpr std::size_t max_conformers_per_launch = 4096;
  return on_device([&] {
    confsgm::cuda::distance_network_gpu gpu(net, p);
    std::vector<confsgm::sample::langevin_result> out;
    std::vector<confsgm::cuda::langevin_job> launch;
    std::size_t in_launch = 0;
    const auto run = [&] {
      for (auto& r : confsgm::cuda::annealed_langevin_gpu(gpu, schedule, launch, o)) out.push_back(std::move(r));
      launch.clear();
      in_launch = 0;
    };
    for (const auto& j : jobs) {
      if (in_launch > 0 && in_launch + j.conformers > max_conformers_per_launch) run();
      launch.push_back(j);
      in_launch += j.conformers;
    }
    if (!launch.empty()) run();
    return out;
  });
}

confsgm::sample::torus_result torsional_sample(const torsion_net& net, const params& p,
                                               const confsgm::log_uniform_schedule& schedule,
                                               const std::vector<const confsgm::torsion_structure*>& samples,
                                               const confsgm::sample::torus_sampler_options& o,
                                               const std::vector<std::vector<double>>& start,
                                               const std::vector<std::uint32_t>& keys) {
  constexpr std::size_t max_samples_per_launch = 4096;
  return on_device([&] {
    confsgm::cuda::torsion_network_gpu gpu(net, p);
    confsgm::sample::torus_result out;
    for (std::size_t first = 0, last = 0; first < samples.size(); first = last) {
      last = std::min(samples.size(), first + max_samples_per_launch);
      // sigma-shift pools samples of one structure within a chunk of keys: a launch ends between pools.
      const auto same_pool = [&](std::size_t a, std::size_t b) {
        return samples[a] == samples[b] && (keys[a] - o.stream_offset) / o.chunk == (keys[b] - o.stream_offset) / o.chunk;
      };
      if (o.shift.active() && o.chunk > 0 && last < samples.size()) {
        std::size_t cut = last;
        while (cut > first + 1 && same_pool(cut - 1, cut)) --cut;
        if (!same_pool(cut - 1, cut)) last = cut;  // else one pool fills the launch: it is split
      }
      const auto part = [&](const auto& v) {
        return std::vector<typename std::decay_t<decltype(v)>::value_type>(v.begin() + std::ptrdiff_t(first),
                                                                           v.begin() + std::ptrdiff_t(last));
      };
      const auto sp = part(samples);
      const auto st = part(start);
      const auto ks = part(keys);
      auto r = confsgm::cuda::sample_torsions_gpu(gpu, schedule, sp, o, &st, &ks);
      for (auto& t : r.torsions) out.torsions.push_back(std::move(t));
      for (auto& s : r.status) out.status.push_back(std::move(s));
      out.diverged += r.diverged;
      out.network_evaluations += r.network_evaluations;
      out.shifted_evaluations += r.shifted_evaluations;
      out.seconds += r.seconds;
    }
    return out;
  });
}

confsgm::eval::bias_result distance_bias(const distance_net& net, const params& p,
                                         const confsgm::custom_schedule& schedule,
                                         const confsgm::sample::langevin_options& o,
                                         const std::vector<confsgm::eval::distance_sample>& samples,
                                         const confsgm::eval::bias_options& bo) {
  return on_device([&] {
    const confsgm::cuda::distance_model_gpu model(net, p);
    const confsgm::eval::distance_bias_problem<confsgm::cuda::distance_model_gpu, confsgm::custom_schedule> problem(
        model, schedule, o);
    return confsgm::eval::estimate_exposure_bias(problem, samples, bo);
  });
}

confsgm::eval::bias_result torsion_bias(const torsion_net& net, const params& p,
                                        const confsgm::log_uniform_schedule& schedule,
                                        confsgm::eval::zero_noise_update update,
                                        const std::vector<confsgm::eval::torsion_sample>& samples,
                                        const confsgm::eval::bias_options& bo) {
  return on_device([&] {
    const confsgm::cuda::torsion_model_gpu model(net, p);
    const confsgm::eval::torsion_bias_problem<confsgm::cuda::torsion_model_gpu, confsgm::log_uniform_schedule> problem(
        model, schedule, update);
    return confsgm::eval::estimate_exposure_bias(problem, samples, bo);
  });
}

int train_distance(const std::string& perturbation, double lambda, const confsgm::model::distance_network_config& cfg,
                   const confsgm::geometric_schedule& schedule, const confsgm::train::trainer_options& o,
                   const confsgm::train::training_set<confsgm::distance_space>& train,
                   const confsgm::train::training_set<confsgm::distance_space>& val, bool resume, cli_observer& obs) {
  return on_device([&] {
    return train_perturbation(perturbation, lambda, confsgm::cuda::distance_network_trainable(cfg), schedule, o, train,
                              val, resume, obs);
  });
}

int train_torsion(const std::string& perturbation, double lambda, const confsgm::model::torsion_network_config& cfg,
                  const confsgm::log_uniform_schedule& schedule, const confsgm::train::trainer_options& o,
                  const confsgm::train::training_set<confsgm::torsion_space>& train,
                  const confsgm::train::training_set<confsgm::torsion_space>& val, bool resume, cli_observer& obs) {
  return on_device([&] {
    return train_perturbation(perturbation, lambda, confsgm::cuda::torsion_network_trainable(cfg), schedule, o, train,
                              val, resume, obs);
  });
}

}  // namespace app::cuda_backend
