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

TEST_CASE("version macros are set by CMake", "[core]") {
  CHECK(std::string(CONFSGM_VERSION_STRING).size() >= 5);
  CHECK(CONFSGM_VERSION_MAJOR >= 0);
}
