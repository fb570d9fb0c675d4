// Reference-data pipeline: connectivity checks, CREST-style ensemble
// filtering, gzip I/O, the xtb program driver and the GEOM-protocol builder.
#include <catch2/catch.hpp>

#include <confsgm/data/geom_protocol.hpp>
#include <confsgm/rdkit/sdf.hpp>
#include <confsgm/util/gzip.hpp>

#include <filesystem>
#include <fstream>

using namespace confsgm;
namespace fs = std::filesystem;

namespace {
std::string data_path(const std::string& name) { return std::string(CONFSGM_TEST_DATA_DIR) + "/" + name; }

fs::path scratch(const std::string& name) {
  auto p = fs::temp_directory_path() / ("confsgm_data_test_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

const rdkit::sdf_molecule& geom_first() {
  static const auto r = rdkit::read_sdf(data_path("geom_drugs_train10.sdf"));
  return r.molecules.front();
}
}  // namespace

TEST_CASE("topology_change: a GEOM conformer keeps its bonds - stretched or squeezed atoms are named", "[data]") {
  const auto& m = geom_first();
  const auto& g = m.data.graph;
  for (std::size_t c = 0; c < m.data.size(); ++c) CHECK(topology_change(g, m.data.conformers[c]).empty());
  coordinates<double> x = m.data.conformers[0];
  const auto& b = g.bond_at(0);
  // Pull the second atom of bond 0 (and nothing else) 2 Å further away.
  const Eigen::RowVector3d dir = (x.row(b.end) - x.row(b.begin)).normalized();
  x.row(b.end) += 2.0 * dir;
  const auto msg = topology_change(g, x);
  INFO(msg);
  CHECK(msg.find("bond " + std::string(element_symbol(g.atom_at(b.begin).atomic_number)) +
                 std::to_string(b.begin + 1)) != std::string::npos);
  CHECK(msg.find("broken") != std::string::npos);
  // Two non-bonded heavy atoms put 1.2 Å apart form a new bond.
  coordinates<double> y = m.data.conformers[0];
  std::uint32_t i = 0, j = 0;
  for (std::uint32_t a = 0; a < g.num_atoms() && !j; ++a)
    for (std::uint32_t c = a + 1; c < g.num_atoms(); ++c)
      if (g.atom_at(a).atomic_number == 6 && g.atom_at(c).atomic_number == 6 && !g.bond_between(a, c) &&
          (y.row(a) - y.row(c)).norm() > 4.0) {
        i = a, j = c;
        break;
      }
  REQUIRE(j != 0);
  y.row(j) = y.row(i) + Eigen::RowVector3d(1.2, 0, 0);
  CHECK(topology_change(g, y).find("new bond C" + std::to_string(i + 1) + "-C" + std::to_string(j + 1)) !=
        std::string::npos);
  CHECK_THROWS_AS(topology_change(g, coordinates<double>(3, 3)), shape_mismatch);
}

TEST_CASE("select_ensemble: energy window, CREST duplicate rule and Boltzmann weights", "[data]") {
  // Energies (kcal/mol) and a toy RMSD: conformers 0, 1 and 4 are one geometry, 2 and 3 another.
  const std::vector<double> e = {-100.0, -99.98, -97.0, -96.99, -100.04, -93.5, -80.0};
  const std::vector<int> shape = {0, 0, 1, 1, 0, 2, 3};
  std::size_t calls = 0;
  auto rmsd = [&](std::size_t a, std::size_t b) {
    ++calls;
    return shape[a] == shape[b] ? 0.01 : 1.0;
  };
  data::ensemble_filter_options o;
  const auto s = data::select_ensemble(e, rmsd, o);
  // Lowest: 4 (-100.04); 0 is within 0.05 of it and the same shape -> duplicate; 1 is
  // 0.06 above 4 but only 0.02 above the duplicate 0, and duplicates are judged
  // against kept conformers only -> kept. 2 kept, 3 duplicate of 2; 5 at 6.54 -> outside; 6 outside.
  CHECK(s.kept == std::vector<std::size_t>{4, 1, 2});
  CHECK(s.duplicates == 2);
  CHECK(s.outside_window == 2);
  REQUIRE(s.relative_kcal.size() == 3);
  CHECK(s.relative_kcal[0] == 0.0);
  CHECK(s.relative_kcal[1] == Approx(0.06));
  double sum = 0;
  for (double w : s.boltzmann_weight) sum += w;
  CHECK(sum == Approx(1.0).epsilon(1e-12));
  const double kt = data::boltzmann_kcal_per_mol_k * 298.15;
  CHECK(s.boltzmann_weight[2] / s.boltzmann_weight[0] == Approx(std::exp(-(-97.0 + 100.04) / kt)).epsilon(1e-12));
  CHECK(calls <= 4);  // RMSDs only for pairs within the energy threshold
  // A wider window keeps 5; a zero RMSD threshold keeps every distinct energy.
  o.energy_window_kcal = 7.0;
  o.duplicate_rmsd = 0.0;
  const auto t = data::select_ensemble(e, rmsd, o);
  CHECK(t.kept.size() == 6);
  CHECK_THROWS_AS(data::select_ensemble(std::vector<double>{1.0, std::nan("")}, rmsd), invalid_argument);
  CHECK(data::select_ensemble(std::vector<double>{}, rmsd).kept.empty());
}

TEST_CASE("gzip: round trip, plain files pass through, truncated archives are named", "[data]") {
  const auto dir = scratch("gzip");
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i) + "\n";
  write_gzip_file((dir / "a.txt.gz").string(), text);
  CHECK(fs::file_size(dir / "a.txt.gz") < text.size() / 3);
  CHECK(read_gzip_file((dir / "a.txt.gz").string()) == text);
  CHECK_FALSE(fs::exists(dir / "a.txt.gz.partial"));
  {
    std::ifstream in(dir / "a.txt.gz", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream out(dir / "cut.txt.gz", std::ios::binary);
    out << bytes.substr(0, bytes.size() / 2);
  }
  CHECK_THROWS_WITH(read_gzip_file((dir / "cut.txt.gz").string()), Catch::Contains("cut.txt.gz") && Catch::Contains("truncated"));
  CHECK_THROWS_AS(read_gzip_file((dir / "missing.gz").string()), io_error);
}

TEST_CASE("read_sdf reads *.sdf.gz exactly as the plain file", "[data]") {
  const auto dir = scratch("sdfgz");
  std::ifstream in(data_path("geom_drugs_train10.sdf"));
  std::string text((std::istreambuf_iterator<char>(in)), {});
  write_gzip_file((dir / "g.sdf.gz").string(), text);
  const auto a = rdkit::read_sdf(data_path("geom_drugs_train10.sdf"));
  const auto b = rdkit::read_sdf((dir / "g.sdf.gz").string());
  REQUIRE(a.molecules.size() == b.molecules.size());
  for (std::size_t k = 0; k < a.molecules.size(); ++k) {
    REQUIRE(a.molecules[k].data.size() == b.molecules[k].data.size());
    CHECK(a.molecules[k].data.conformers[0] == b.molecules[k].data.conformers[0]);
  }
}

TEST_CASE("xtb program: optimisation converges, single point agrees, failures are reported", "[data][xtb]") {
  if (xtb::version().empty()) FAIL("the xtb program is not installed (apt-get install xtb)");
  const auto m = rdkit::from_smiles("CCO", "ethanol");
  rdkit::etkdg_options eo;
  eo.mmff = true;
  const auto start = rdkit::generate_etkdg(m, 1, eo);
  const auto r = xtb::optimize(m.graph, start.conformers.conformers[0]);
  INFO(r.message);
  REQUIRE(r.ok);
  // GFN2-xTB ethanol minimum is about -11.39 Eh (gauche/anti differ by < 1 mEh).
  CHECK(r.energy_hartree == Approx(-11.39).margin(0.01));
  CHECK(topology_change(m.graph, r.xyz).empty());
  const auto sp = xtb::singlepoint(m.graph, r.xyz);
  REQUIRE(sp.ok);
  CHECK(sp.energy_hartree == Approx(r.energy_hartree).margin(1e-6));
  REQUIRE(sp.homo_lumo_gap_ev);
  CHECK(*sp.homo_lumo_gap_ev > 5.0);
  REQUIRE(sp.dipole_debye);
  CHECK(*sp.dipole_debye > 1.0);
  CHECK(*sp.dipole_debye < 2.5);
  // The cation needs its charge: the same atoms with +1 give another energy.
  const auto cation = xtb::singlepoint(m.graph, r.xyz, 1, 1);
  REQUIRE(cation.ok);
  CHECK(cation.energy_hartree > r.energy_hartree + 0.2);

  xtb::program_options bad;
  bad.executable = "/nonexistent/xtb";
  const auto f = xtb::optimize(m.graph, r.xyz, 0, 0, bad);
  CHECK_FALSE(f.ok);
  CHECK_THAT(f.message, Catch::Contains("cannot start '/nonexistent/xtb'"));
  xtb::program_options slow;
  slow.timeout_s = 1e-3;
  const auto t = xtb::optimize(m.graph, r.xyz, 0, 0, slow);
  CHECK_FALSE(t.ok);
  CHECK_THAT(t.message, Catch::Contains("did not finish"));
  coordinates<double> nan = r.xyz;
  nan(0, 0) = std::nan("");
  CHECK_THROWS_AS(xtb::optimize(m.graph, nan), invalid_argument);
}

TEST_CASE("build_geom_ensemble: sorted, weighted, one stereoisomer, every start accounted for", "[data][xtb]") {
  if (xtb::version().empty()) FAIL("the xtb program is not installed (apt-get install xtb)");
  data::geom_protocol_options o;
  o.starts_base = 6;
  // 2-butanol: one unassigned stereocentre and one rotor that matters.
  const auto m = rdkit::from_smiles("CCC(C)O", "butan2ol");
  const auto b = data::build_geom_ensemble(m, o);
  INFO(b.reason << " | " << b.stats.first_problem);
  REQUIRE(b.ok);
  CHECK(b.stereo_smiles.find('@') != std::string::npos);
  const auto& s = b.stats;
  CHECK(s.starts == 6 + 3 * b.rotatable_bonds);
  CHECK(s.embedded == s.starts);
  CHECK(s.embed_stereo_wrong + s.xtb_failed + s.topology_changed + s.stereo_changed + s.outside_window +
            s.duplicates + s.kept ==
        s.embedded);
  REQUIRE(b.conformers.size() == s.kept);
  REQUIRE(s.kept >= 2);
  double wsum = 0, prev = -1;
  const symmetric_rmsd rmsd(b.conformers.graph);
  for (std::size_t c = 0; c < b.conformers.size(); ++c) {
    const auto& info = b.conformers.info[c];
    const double rel = std::stod(*info.property("rel_energy_kcal"));
    CHECK(rel >= prev);
    CHECK(rel <= 6.0);
    prev = rel;
    wsum += std::stod(*info.property("boltzmann_weight"));
    CHECK(info.property("stereo_smiles") == b.stereo_smiles);
    CHECK(*info.energy == Approx(std::stod(*info.property("xtb_energy_hartree")) * data::kcal_per_hartree));
    // Every conformer has the chosen stereo, and no two kept ones are CREST duplicates.
    auto probe = RDKit::RWMol(*b.mol);
    rdkit::set_coordinates(probe, b.conformers.conformers[c]);
    CHECK(rdkit::stereo_mismatch(rdkit::specified_stereo(b.conformers.graph), rdkit::stereo_from_3d(probe),
                                 b.conformers.graph)
              .empty());
    for (std::size_t d = 0; d < c; ++d) {
      const double de = rel - std::stod(*b.conformers.info[d].property("rel_energy_kcal"));
      if (de < o.filter.duplicate_energy_kcal)
        CHECK(rmsd(b.conformers.conformers[d], b.conformers.conformers[c]) >= o.filter.duplicate_rmsd);
    }
  }
  CHECK(wsum == Approx(1.0).margin(1e-5));
  // Same seed, same ensemble.
  const auto again = data::build_geom_ensemble(m, o);
  REQUIRE(again.conformers.size() == b.conformers.size());
  CHECK(again.conformers.conformers[0] == b.conformers.conformers[0]);
  CHECK(again.stereo_smiles == b.stereo_smiles);

  // A net charge reaches xtb (a wrong charge would make the cation a radical and fail the check below).
  const auto q = data::build_geom_ensemble(rdkit::from_smiles("C[NH3+]", "methylammonium"), o);
  REQUIRE(q.ok);
  CHECK(q.charge == 1);
  CHECK(q.conformers.size() >= 1);  // one staggered minimum; an unconverged rotamer of the H's may add one
  const double eh = std::stod(*q.conformers.info[0].property("xtb_energy_hartree"));
  const auto neutral = xtb::singlepoint(q.conformers.graph, q.conformers.conformers[0], 0, 1);
  REQUIRE(neutral.ok);
  CHECK(std::abs(neutral.energy_hartree - eh) > 0.1);

  // Specified stereo is kept, not re-chosen.
  const auto r = data::build_geom_ensemble(rdkit::from_smiles("C[C@@H](O)CC", "R"), o);
  REQUIRE(r.ok);
  CHECK(r.stereo_smiles == rdkit::canonical_smiles(*rdkit::from_smiles("C[C@@H](O)CC", "R").mol));

  // No xtb: a failed molecule with the reason, not an exception.
  o.xtb.executable = "/nonexistent/xtb";
  const auto f = data::build_geom_ensemble(m, o);
  CHECK_FALSE(f.ok);
  CHECK_THAT(f.reason, Catch::Contains("no start survived") && Catch::Contains("cannot start"));
  CHECK(f.stats.xtb_failed == f.stats.embedded);
}

TEST_CASE("build_geom_ensemble fast tiers: GFN-FF pre-optimisation, GFN2-xTB energies, every start accounted for",
          "[data][xtb]") {
  if (xtb::version().empty()) FAIL("the xtb program is not installed (apt-get install xtb)");
  const auto m = rdkit::from_smiles("CCCC(C)O", "pentan2ol");
  data::geom_protocol_options o;
  o.starts_base = 8;
  for (const auto tier : {data::builder_tier::gfnff_gfn2_opt, data::builder_tier::gfnff_gfn2_sp}) {
    INFO(data::tier_name(tier));
    o.tier = tier;
    const auto b = data::build_geom_ensemble(m, o);
    INFO(b.reason << " | " << b.stats.first_problem);
    REQUIRE(b.ok);
    const auto& s = b.stats;
    // Every start ends in exactly one bin; the pre-filter is its own bin.
    CHECK(s.embed_stereo_wrong + s.xtb_failed + s.topology_changed + s.stereo_changed + s.prefiltered +
              s.outside_window + s.duplicates + s.kept ==
          s.embedded);
    REQUIRE(b.conformers.size() >= 1);
    for (std::size_t c = 0; c < b.conformers.size(); ++c) {
      const auto& info = b.conformers.info[c];
      CHECK(info.property("tier") == std::string(data::tier_name(tier)));
      REQUIRE(info.property("gfnff_energy_hartree"));
      // The stored energy is GFN2-xTB at the stored geometry (a minimum for gfnff-opt, a GFN-FF minimum for -sp).
      const auto sp = xtb::singlepoint(b.conformers.graph, b.conformers.conformers[c]);
      REQUIRE(sp.ok);
      CHECK(std::stod(*info.property("xtb_energy_hartree")) == Approx(sp.energy_hartree).margin(2e-6));
      CHECK(std::abs(std::stod(*info.property("gfnff_energy_hartree")) - sp.energy_hartree) > 0.1);
    }
    if (tier == data::builder_tier::gfnff_gfn2_sp) {
      // The geometry is a GFN-FF minimum: a GFN-FF optimisation from it barely moves an atom.
      xtb::program_options ff;
      ff.method = xtb::hamiltonian::gfnff;
      const auto again = xtb::optimize(b.conformers.graph, b.conformers.conformers[0], 0, 0, ff);
      REQUIRE(again.ok);
      CHECK((again.xyz - b.conformers.conformers[0]).cwiseAbs().maxCoeff() < 0.05);
    }
  }
  CHECK(data::parse_tier("gfnff-opt") == data::builder_tier::gfnff_gfn2_opt);
  CHECK_THROWS_WITH(data::parse_tier("fast"), Catch::Contains("unknown builder tier 'fast'"));
}
