// Fuzz target: the .npy readers (io/npy.hpp): conformer batches in float64 and float32, and 2-d matrices.
#include "fuzz_target.hpp"

#include <confsgm/io/npy.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = fuzz::bytes(data, size);
  fuzz::accepted([&] { (void)confsgm::io::parse_conformers_npy<double>(input, "fuzz.npy"); });
  fuzz::accepted([&] { (void)confsgm::io::parse_conformers_npy<float>(input, "fuzz.npy", 3); });
  fuzz::accepted([&] { (void)confsgm::io::parse_matrix_npy(input, "fuzz.npy"); });
  return 0;
}
