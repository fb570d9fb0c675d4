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
  CHECK_THROWS_WITH(io::read_conformers_npy<double>(path), Catch::Contains("holds '<f4', not float64"));

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

namespace {
/// A .npy file's bytes: version 1.0 header @p dict (padded as NumPy pads it) and @p payload.
std::string npy_bytes(const std::string& dict, const std::string& payload) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + payload;
}
template <class T>
std::string raw(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);
  return s;
}
}  // namespace

TEST_CASE("the .npy reader: Fortran order, and every malformed header, size or type refused by name", "[io]") {
  // np.asfortranarray([[1, 2, 3], [4, 5, 6]]) is stored column by column.
  const auto fortran = npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", raw({1., 4., 2., 5., 3., 6.}));
  Eigen::MatrixXd expected(2, 3);
  expected << 1, 2, 3, 4, 5, 6;
  CHECK(io::parse_matrix_npy(fortran, "f.npy") == expected);
  const auto c_order = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", raw({1., 2., 3., 4., 5., 6.}));
  CHECK(io::parse_matrix_npy(c_order, "c.npy") == expected);
  CHECK(io::parse_matrix_npy(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", ""), "e.npy").rows() == 0);

  const auto refused = [](const std::string& bytes, const std::string& why) {
    CHECK_THROWS_WITH(io::parse_matrix_npy(bytes, "bad.npy"), Catch::Contains("bad.npy") && Catch::Contains(why));
  };
  refused(c_order.substr(0, c_order.size() - 1), "truncated or has trailing bytes");
  refused(c_order + "x", "truncated or has trailing bytes");
  refused(c_order.substr(0, 40), "truncated .npy header");
  refused("NUMPY", "no \\x93NUMPY magic");
  refused(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 1), }", raw({1., 2., 3., 4., 5., 6.})),
          "expected a 2-d array, found 3-d");
  refused(npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1), }", raw({1.})), "holds '<i8'");
  refused(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,,3), }", raw({1.})), "not a tuple of whole numbers");
  refused(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 3), }", raw({1.})), "not a tuple of whole numbers");
  refused(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape':  }", ""), "lacks 'descr', 'fortran_order' or 'shape'");
  refused(npy_bytes("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1, 1), }", raw({1.})), "'fortran_order' is Maybe");
  // A zero-size array with a huge dimension (found by fuzzing: copying it walked 7e13 empty columns).
  refused(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 70045069596460), }", ""), "beyond 2^32 - 1");
  // A shape whose element count overflows size_t is a size error, not an allocation.
  refused(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967295, 4294967295), }", raw({1.})),
          "truncated or has trailing bytes");
}
