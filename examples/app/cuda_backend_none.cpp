// `--backend cuda` in a build without CUDA: every entry point says how to get it.
#include "cuda_backend.hpp"
#include "training_run.hpp"

namespace app::cuda_backend {

namespace {
[[noreturn]] void unavailable() {
  throw usage_error("--backend cuda: this confsgm was built without CUDA; install the CUDA toolkit and configure "
                    "with -DCONFSGM_ENABLE_CUDA=ON, or run without --backend cuda");
}
}  // namespace

void require(int) { unavailable(); }
int use_device_of_node_rank(int) { unavailable(); }
#if CONFSGM_HAS_MPI
confsgm::train::data_parallel gather_on_gpus(const confsgm::mpi::communicator&, confsgm::train::data_parallel) {
  unavailable();
}
#endif
std::vector<confsgm::sample::langevin_result> confgf_sample(const distance_net&, const params&,
                                                            const confsgm::custom_schedule&,
                                                            const std::vector<confsgm::sample::langevin_job>&,
                                                            const confsgm::sample::langevin_options&) {
  unavailable();
}
confsgm::sample::torus_result torsional_sample(const torsion_net&, const params&, const confsgm::log_uniform_schedule&,
                                               const std::vector<const confsgm::torsion_structure*>&,
                                               const confsgm::sample::torus_sampler_options&,
                                               const std::vector<std::vector<double>>&,
                                               const std::vector<std::uint32_t>&) {
  unavailable();
}
confsgm::eval::bias_result distance_bias(const distance_net&, const params&, const confsgm::custom_schedule&,
                                         const confsgm::sample::langevin_options&,
                                         const std::vector<confsgm::eval::distance_sample>&,
                                         const confsgm::eval::bias_options&) {
  unavailable();
}
confsgm::eval::bias_result torsion_bias(const torsion_net&, const params&, const confsgm::log_uniform_schedule&,
                                        confsgm::eval::zero_noise_update,
                                        const std::vector<confsgm::eval::torsion_sample>&,
                                        const confsgm::eval::bias_options&) {
  unavailable();
}
int train_distance(const std::string&, double, const confsgm::model::distance_network_config&,
                   const confsgm::geometric_schedule&, const confsgm::train::trainer_options&,
                   const confsgm::train::training_set<confsgm::distance_space>&,
                   const confsgm::train::training_set<confsgm::distance_space>&, bool, cli_observer&) {
  unavailable();
}
int train_torsion(const std::string&, double, const confsgm::model::torsion_network_config&,
                  const confsgm::log_uniform_schedule&, const confsgm::train::trainer_options&,
                  const confsgm::train::training_set<confsgm::torsion_space>&,
                  const confsgm::train::training_set<confsgm::torsion_space>&, bool, cli_observer&) {
  unavailable();
}

}  // namespace app::cuda_backend
