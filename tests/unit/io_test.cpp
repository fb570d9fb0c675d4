// NumPy I/O round trips and its error reports.
#include <catch2/catch.hpp>

#include <confsgm/confsgm.hpp>
#include <confsgm/io/npy.hpp>

#include <filesystem>
#include <fstream>

using namespace confsgm;

TEST_CASE("conformer batches and matrices survive a .npy round trip", "[io][npy]") {
  const auto dir = std::filesystem::temp_directory_path();
  const auto path = (dir / "confsgm_batch.npy").string();
  conformer_batch<float> b(5);
  for (int c = 0; c < 3; ++c) b.push_back(coordinates<double>::Random(5, 3));
  io::write_npy(path, b);
  CHECK_FALSE(std::filesystem::exists(path + ".partial"));
  const auto back = io::read_conformers_npy<float>(path, 5);
  REQUIRE(back.size() == 3);
  CHECK((back[2].array() == b[2].array()).all());
  CHECK_THROWS_WITH(io::read_conformers_npy<float>(path, 6), Catch::Contains("confsgm_batch.npy") &&
                                                                 Catch::Contains("is not (conformers, 6, 3)"));
  CHECK_THROWS_WITH(io::read_conformers_npy<double>(path), Catch::Contains("not a readable .npy file of float64"));

  Eigen::MatrixXd m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  const auto mpath = (dir / "confsgm_matrix.npy").string();
  io::write_npy(mpath, m);
  CHECK(io::read_matrix_npy(mpath) == m);
  CHECK_THROWS_WITH(io::read_conformers_npy<double>(mpath), Catch::Contains("expected a 3-d array"));

  // A truncated file is refused, not read as garbage.
  const auto size = std::filesystem::file_size(mpath);
  std::filesystem::resize_file(mpath, size - 20);
  CHECK_THROWS_WITH(io::read_matrix_npy(mpath), Catch::Contains("truncated"));
  CHECK_THROWS_WITH(io::read_matrix_npy((dir / "confsgm_missing.npy").string()), Catch::Contains("no such file"));
  std::filesystem::remove(path);
  std::filesystem::remove(mpath);
}
