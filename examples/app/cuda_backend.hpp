// `--backend cuda` of the reference application: the same training, sampling
// and exposure-bias runs with the CUDA backend's networks and samplers. Plain
// C++ declarations: the definitions are in cuda_backend.cu when the build has
// CUDA (confsgm::cuda), else in cuda_backend_none.cpp, which says how to get it.
#pragma once

#include <confsgm/eval/exposure_bias.hpp>
#include <confsgm/model/distance_score_network.hpp>
#include <confsgm/model/torsion_score_network.hpp>
#include <confsgm/sample/langevin.hpp>
#include <confsgm/sample/torus_sampler.hpp>
#include <confsgm/schedule/noise_schedule.hpp>
#include <confsgm/train/trainer.hpp>
#if CONFSGM_HAS_MPI
#include <confsgm/mpi/communicator.hpp>
#endif

#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"

namespace app {

class cli_observer;

namespace cuda_backend {

using distance_net = confsgm::model::distance_score_network<float>;
using torsion_net = confsgm::model::torsion_score_network<float>;
using params = confsgm::model::parameter_vector<float>;

/// Throws usage_error naming why `--backend cuda` cannot run here: a build without CUDA, or no device. Also checks
/// that the calling (g++) objects and the CUDA objects agree on Eigen's heap alignment (@p host_eigen_alignment,
/// taken where it is called): they share Eigen's inline functions, so a mismatch would corrupt the heap.
void require(int host_eigen_alignment = EIGEN_MAX_ALIGN_BYTES);

/// Makes the @p node_rank-th process of a node use GPU node_rank mod the node's GPU count (training under mpirun:
/// one GPU per rank, ranks sharing cards round-robin when a node has fewer). Returns the device's ordinal.
int use_device_of_node_rank(int node_rank);

#if CONFSGM_HAS_MPI
/// Training's ranks with their gradients gathered GPU to GPU by NCCL, where the build has it (confsgm::nccl) and
/// every rank has a GPU of its own (NCCL refuses two ranks on one); else @p sharing as it is (through the host).
/// Collective.
confsgm::train::data_parallel gather_on_gpus(const confsgm::mpi::communicator& comm,
                                             confsgm::train::data_parallel sharing);
#endif

/// A CUDA or cuBLAS failure during a --backend cuda run: the device is unusable, so the whole run stops
/// (unlike a per-molecule failure, after which the next molecule is tried).
struct device_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The value of --backend: false for cpu, true for cuda once require() has passed; anything else is a usage error.
inline bool selected(const std::string& backend) {
  if (backend != "cpu" && backend != "cuda") throw usage_error("--backend must be cpu or cuda, got '" + backend + "'");
  if (backend == "cuda") require(EIGEN_MAX_ALIGN_BYTES);
  return backend == "cuda";
}

/// Annealed Langevin (Algorithm 1) on the GPU for many molecules at once (a library batch's jobs, in launches of
/// up to 4,096 conformers): result j equals sample::annealed_langevin for job j's molecule with o and the job's
/// stream_offset.
std::vector<confsgm::sample::langevin_result> confgf_sample(const distance_net& net, const params& p,
                                                            const confsgm::custom_schedule& schedule,
                                                            const std::vector<confsgm::sample::langevin_job>& jobs,
                                                            const confsgm::sample::langevin_options& o);

/// The torus samplers on the GPU for the samples of many molecules (up to 4,096 per launch): sample c starts from
/// start[c] and draws its noise from stream keys[c], so each molecule's share equals its own CPU run.
confsgm::sample::torus_result torsional_sample(const torsion_net& net, const params& p,
                                               const confsgm::log_uniform_schedule& schedule,
                                               const std::vector<const confsgm::torsion_structure*>& samples,
                                               const confsgm::sample::torus_sampler_options& o,
                                               const std::vector<std::vector<double>>& start,
                                               const std::vector<std::uint32_t>& keys);

/// Algorithm 2 with the zero-noise sampler on the GPU (the estimator itself is the CPU's, unchanged).
confsgm::eval::bias_result distance_bias(const distance_net& net, const params& p,
                                         const confsgm::custom_schedule& schedule,
                                         const confsgm::sample::langevin_options& o,
                                         const std::vector<confsgm::eval::distance_sample>& samples,
                                         const confsgm::eval::bias_options& bo);
confsgm::eval::bias_result torsion_bias(const torsion_net& net, const params& p,
                                        const confsgm::log_uniform_schedule& schedule,
                                        confsgm::eval::zero_noise_update update,
                                        const std::vector<confsgm::eval::torsion_sample>& samples,
                                        const confsgm::eval::bias_options& bo);

/// One DSM training run (train_perturbation) with the network's forward and backward passes on the GPU.
int train_distance(const std::string& perturbation, double lambda, const confsgm::model::distance_network_config& cfg,
                   const confsgm::geometric_schedule& schedule, const confsgm::train::trainer_options& o,
                   const confsgm::train::training_set<confsgm::distance_space>& train,
                   const confsgm::train::training_set<confsgm::distance_space>& val, bool resume, cli_observer& obs);
int train_torsion(const std::string& perturbation, double lambda, const confsgm::model::torsion_network_config& cfg,
                  const confsgm::log_uniform_schedule& schedule, const confsgm::train::trainer_options& o,
                  const confsgm::train::training_set<confsgm::torsion_space>& train,
                  const confsgm::train::training_set<confsgm::torsion_space>& val, bool resume, cli_observer& obs);

}  // namespace cuda_backend
}  // namespace app
