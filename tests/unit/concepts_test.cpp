// Compile-time checks of the public headers' types (negative checks live here
// as static_asserts so no compile-fail harness is needed).
#include <catch2/catch.hpp>

#include <confsgm/confsgm.hpp>

#include <type_traits>

static_assert(std::is_nothrow_move_constructible_v<confsgm::molecule_graph>);
static_assert(std::is_same_v<confsgm::conformer_batch<float>::scalar_type, float>);
static_assert(std::is_base_of_v<confsgm::error, confsgm::io_error>);
static_assert(std::is_base_of_v<std::runtime_error, confsgm::error>);
static_assert(confsgm::atomic_number("Cl").value() == 17);
static_assert(!confsgm::atomic_number("Xx").has_value());
static_assert(confsgm::element_symbol(8) == "O");

// The policies' concepts: the library's models satisfy them, other types do not.
static_assert(confsgm::StateSpace<confsgm::distance_space> && confsgm::StateSpace<confsgm::torsion_space>);
static_assert(!confsgm::StateSpace<int> && !confsgm::StateSpace<confsgm::distance_structure>);
static_assert(confsgm::model::ScoreNetwork<confsgm::model::distance_score_network<float>>);
static_assert(confsgm::model::ScoreNetwork<confsgm::model::torsion_score_network<double>>);
static_assert(!confsgm::model::ScoreNetwork<confsgm::distance_space> && !confsgm::model::ScoreNetwork<int>);
// score_model names the host's networks by space and scalar (the CUDA device's: tests/gpu, examples/compose/*_cuda.cu).
static_assert(std::is_same_v<confsgm::model::score_model<confsgm::distance_space, float>,
                             confsgm::model::distance_score_network<float>>);
static_assert(std::is_same_v<confsgm::model::score_model<confsgm::torsion_space, double, confsgm::backend::host>,
                             confsgm::model::torsion_score_network<double>>);
// Host networks train with the host's state; the trainer's state type follows the network's execution space.
static_assert(std::is_same_v<confsgm::backend::execution_of<confsgm::model::distance_score_network<float>>,
                             confsgm::backend::host>);
static_assert(confsgm::train::TrainableWith<confsgm::model::torsion_score_network<double>,
                                            confsgm::train::adam_state<double, confsgm::backend::host>>);
static_assert(std::is_same_v<confsgm::train::dsm_trainer<confsgm::model::distance_score_network<float>,
                                                         confsgm::geometric_schedule,
                                                         confsgm::no_perturbation>::state_type,
                             confsgm::train::adam_state<float, confsgm::backend::host>>);
static_assert(std::is_nothrow_move_constructible_v<confsgm::train::adam_state<float, confsgm::backend::host>>);
static_assert(confsgm::sample::SamplerDynamics<confsgm::sample::coordinate_dynamics>);
static_assert(confsgm::sample::SamplerDynamics<confsgm::sample::torus_dynamics>);
static_assert(!confsgm::sample::SamplerDynamics<confsgm::distance_space>);
static_assert(confsgm::sample::LevelUpdate<confsgm::sample::reverse_sde, confsgm::log_uniform_schedule>);
static_assert(!confsgm::sample::LevelUpdate<confsgm::sample::sample_status>);

TEST_CASE("version macros are set by CMake", "[core]") {
  CHECK(std::string(CONFSGM_VERSION_STRING).size() >= 5);
  CHECK(CONFSGM_VERSION_MAJOR >= 0);
}
