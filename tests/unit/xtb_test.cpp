// GFN2-xTB through libxtb: agreement with the xtb program on real GEOM
// conformers, thread independence, failure reporting; Table V statistics.
#include <catch2/catch.hpp>

#include <confsgm/eval/ensemble_properties.hpp>
#include <confsgm/rdkit/sdf.hpp>
#include <confsgm/xtb/library.hpp>
#include <confsgm/xtb/program.hpp>

#include <thread>

using namespace confsgm;

namespace {
const rdkit::sdf_read_result& geom() {
  static const auto r = rdkit::read_sdf(std::string(CONFSGM_TEST_DATA_DIR) + "/geom_drugs_train10.sdf");
  return r;
}
}  // namespace

TEST_CASE("libxtb single points agree with the xtb program on GEOM conformers (1e-6 Eh, gaps)", "[xtb]") {
  if (xtb::version().empty()) FAIL("the xtb program is not installed (apt-get install xtb)");
  std::size_t compared = 0;
  for (const auto& m : geom().molecules) {
    const auto& e = m.data;
    const int q = e.graph.net_charge();
    xtb::gfn2_calculator calc(e.graph, q);
    for (std::size_t c = 0; c < std::min<std::size_t>(2, e.size()); ++c) {
      const auto lib = calc.singlepoint(e.conformers[c]);
      const auto prog = xtb::singlepoint(e.graph, e.conformers[c], q);
      INFO(e.id << " conformer " << c << ": " << lib.message << prog.message);
      REQUIRE(lib.ok);
      REQUIRE(prog.ok);
      CHECK(std::abs(lib.energy_hartree - prog.energy_hartree) < 1e-6);
      REQUIRE(prog.homo_lumo_gap_ev);
      CHECK(lib.homo_lumo_gap_ev == Approx(*prog.homo_lumo_gap_ev).margin(1e-4));
      REQUIRE(prog.dipole_debye);
      CHECK(lib.dipole_debye == Approx(*prog.dipole_debye).margin(2e-3));
      ++compared;
    }
  }
  CHECK(compared == 20);
}

TEST_CASE("libxtb: calls from two threads at once give the serial results - bad conformers are reported", "[xtb]") {
  const auto& e = geom().molecules[5].data;
  ensemble<double> few(e.id, e.graph);
  for (std::size_t c = 0; c < std::min<std::size_t>(4, e.size()); ++c) few.add(e.conformers[c]);
  coordinates<double> bad = e.conformers[0];
  bad(0, 0) = std::nan("");
  few.add(bad);
  const auto a = xtb::singlepoints(few, e.graph.net_charge(), 0);
  std::vector<xtb::singlepoint_result> b, other;
  {
    std::thread t1([&] { b = xtb::singlepoints(few, e.graph.net_charge(), 0); });
    std::thread t2([&] { other = xtb::singlepoints(few, e.graph.net_charge(), 0); });
    t1.join();
    t2.join();
  }
  for (std::size_t c = 0; c + 1 < other.size(); ++c) CHECK(other[c].energy_hartree == a[c].energy_hartree);
  REQUIRE(a.size() == few.size());
  for (std::size_t c = 0; c + 1 < a.size(); ++c) {
    REQUIRE(a[c].ok);
    CHECK(a[c].energy_hartree == b[c].energy_hartree);
    CHECK(a[c].homo_lumo_gap_ev == b[c].homo_lumo_gap_ev);
  }
  CHECK_FALSE(a.back().ok);
  CHECK_THAT(a.back().message, Catch::Contains("non-finite"));
  xtb::gfn2_calculator calc(e.graph);
  CHECK_THROWS_AS(calc.singlepoint(coordinates<double>(2, 3)), shape_mismatch);
}

TEST_CASE("ensemble properties: Table V statistics and their mean absolute errors", "[xtb]") {
  const std::vector<double> e = {-10.0, -10.2, -9.9}, g = {5.0, 4.0, 6.5};
  const auto s = summarize_properties(e, g);
  CHECK(s.mean_energy == Approx(-10.0333333333));
  CHECK(s.min_energy == -10.2);
  CHECK(s.mean_gap == Approx(5.1666666667));
  CHECK(s.min_gap == 4.0);
  CHECK(s.max_gap == 6.5);
  // Boltzmann weights at 298 K: 0.2 eV lower dominates completely.
  const auto b = summarize_properties(e, g, ensemble_average::boltzmann);
  CHECK(b.mean_energy == Approx(-10.2).margin(1e-3));
  CHECK(b.mean_gap == Approx(4.0).margin(1e-3));
  const auto t = summarize_properties({-10.1, -10.3}, {5.5, 4.5});
  const auto mae = property_mae({s, s}, {t, s});
  CHECK(mae.molecules == 2);
  CHECK(mae.min_energy == Approx(0.05));
  CHECK(mae.max_gap == Approx(0.5));
  CHECK_THROWS_AS(summarize_properties({1.0}, {}), shape_mismatch);
  CHECK_THROWS_AS(property_mae({s}, {}), shape_mismatch);
}
