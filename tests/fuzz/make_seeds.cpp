// Writes the binary seeds of the fuzz corpus (tests/fuzz/corpus/): checkpoints and model files of the tiny
// trainers of tiny_models.hpp, and .npy files. The text seeds are hand-written or copied from real runs.
//   make_seeds tests/fuzz/corpus
#include "tiny_models.hpp"

#include <confsgm/io/npy.hpp>

#include <filesystem>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds CORPUS_DIR\n";
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path dir = argv[1];
  fs::create_directories(dir / "checkpoint");
  fs::create_directories(dir / "npy");
  const auto distance = fuzz::tiny_distance_trainer();
  distance.save_checkpoint_file((dir / "checkpoint" / "distance_checkpoint.bin").string());
  distance.save_weights((dir / "checkpoint" / "distance_model.bin").string());
  const auto torsion = fuzz::tiny_torsion_trainer();
  torsion.save_checkpoint_file((dir / "checkpoint" / "torsion_checkpoint.bin").string());
  torsion.save_weights((dir / "checkpoint" / "torsion_model.bin").string());

  confsgm::conformer_batch<double> batch(3, 2);
  for (std::size_t i = 0; i < 18; ++i) batch.data()[i] = 0.25 * static_cast<double>(i) - 1.0;
  confsgm::io::write_npy((dir / "npy" / "conformers_2x3.npy").string(), batch);
  confsgm::conformer_batch<float> batch32(3, 1);
  for (std::size_t i = 0; i < 9; ++i) batch32.data()[i] = 0.5f * static_cast<float>(i);
  confsgm::io::write_npy((dir / "npy" / "conformers_float32_1x3.npy").string(), batch32);
  Eigen::MatrixXd rmsd(2, 3);
  rmsd << 0.0, 0.4, 1.2, 0.4, 0.0, 0.9;
  confsgm::io::write_npy((dir / "npy" / "matrix_2x3.npy").string(), rmsd);
  std::cout << "seeds written to " << dir.string() << "\n";
  return 0;
}
