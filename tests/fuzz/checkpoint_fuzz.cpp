// Fuzz target: the model/checkpoint file reader (train/checkpoint.hpp), the model-file reader on top of it
// (train/model_file.hpp: kind, network configuration, parameter count, sigmas, schedule, rotatable rule) and the
// trainer's resume from a checkpoint (train/trainer.hpp). Every input is read twice: as it is, and with its last
// 8 bytes replaced by the right checksum, so that mutations reach the header and body parsers behind the checksum.
#include "fuzz_target.hpp"
#include "tiny_models.hpp"

#include <confsgm/train/model_file.hpp>

#include <cstring>

namespace {

template <class Network, class Trainer>
void read_as(const confsgm::train::checkpoint<float>& c, Trainer& trainer) {
  const std::string name = "fuzz.bin";
  fuzz::accepted([&] {
    const auto m = confsgm::train::model_from_checkpoint<Network>(c, name);
    fuzz::accepted([&] { (void)m.trained_schedule(); });
    fuzz::accepted([&] { (void)m.sampling_schedule(20); });
    fuzz::accepted([&] { (void)m.rotatable_rule(); });
    fuzz::accepted([&] { (void)m.number("training_heavy_atoms_max"); });
  });
  fuzz::accepted([&] { trainer.resume(c, name); });
}

void read(const std::string& bytes) {
  static auto distance = fuzz::tiny_distance_trainer();
  static auto torsion = fuzz::tiny_torsion_trainer();
  fuzz::accepted([&] { (void)confsgm::train::parse_checkpoint<double>(bytes, "fuzz.bin"); });
  fuzz::accepted([&] {
    const auto c = confsgm::train::parse_checkpoint<float>(bytes, "fuzz.bin");
    read_as<fuzz::distance_net>(c, distance);
    read_as<fuzz::torsion_net>(c, torsion);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input = fuzz::bytes(data, size);
  read(input);
  if (input.size() >= 8 + 8) {
    const auto sum = confsgm::train::detail::fnv1a(input.substr(0, input.size() - 8));
    if (std::memcmp(input.data() + input.size() - 8, &sum, 8) != 0) {  // else the same bytes again
      std::memcpy(input.data() + input.size() - 8, &sum, 8);
      read(input);
    }
  }
  return 0;
}
