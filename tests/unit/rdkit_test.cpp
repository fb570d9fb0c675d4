// RDKit adapter: SDF/SMILES readers and their error reports, stereo checks,
// ETKDG, and the RMSD against golden RDKit GetBestRMS values.
#include <catch2/catch.hpp>

#include <confsgm/confsgm.hpp>
#include <confsgm/rdkit/rdkit.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>

using namespace confsgm;

namespace {
const std::string data_dir = CONFSGM_TEST_DATA_DIR;
const std::string geom = data_dir + "/geom_drugs_train10.sdf";
const std::string bad = data_dir + "/bad_inputs/";

const rdkit::sdf_read_result& geom_set() {
  static const auto r = rdkit::read_sdf(geom);
  return r;
}
const rdkit::sdf_molecule& geom_molecule(const std::string& id) {
  for (const auto& m : geom_set().molecules)
    if (m.data.id == id) return m;
  throw std::runtime_error("no molecule " + id);
}
}  // namespace

TEST_CASE("GEOM SDF: 503 records grouped into 10 molecules, the reacted conformer dropped and named",
          "[rdkit][sdf]") {
  const auto& r = geom_set();
  CHECK(r.n_records == 503);
  CHECK(r.errors.empty());
  REQUIRE(r.molecules.size() == 10);
  REQUIRE(r.dropped.size() == 1);
  CHECK_THAT(std::string(r.dropped[0].what()), Catch::Contains("drugs_train10_0007_conf077") &&
                                                   Catch::Contains("bond graph differs"));
  CHECK(r.dropped[0].line().value() > 1);
  std::size_t total = 0;
  for (const auto& m : r.molecules) total += m.data.size();
  CHECK(total == 502);
  const auto& m0 = r.molecules[0];
  CHECK(m0.data.id == "drugs_train10_0000");
  CHECK(m0.data.graph.num_atoms() == 40);
  CHECK(m0.data.graph.num_heavy_atoms() == 27);
  CHECK(m0.data.info[3].property("conf_index").value() == "3");
  CHECK(m0.data.info[3].property("geom_smiles").has_value());  // every SD property kept
  CHECK(m0.data.info[0].source_line == 1);
}

TEST_CASE("molecule graph from RDKit keeps charge, aromaticity, rings and stereo", "[rdkit][convert]") {
  const auto m = rdkit::from_smiles("C[C@H](N)C(=O)O/C=C/c1ccccc1", "probe");
  const auto& g = m.graph;
  CHECK(g.num_atoms() == m.mol->getNumAtoms());
  CHECK(g.num_heavy_atoms() == 14);
  CHECK(g.atom_at(1).cip == 'S');  // L-alanine ester
  std::size_t aromatic = 0, ring_atoms = 0, ez = 0;
  for (const auto& a : g.atoms()) {
    aromatic += a.aromatic;
    ring_atoms += a.in_ring;
  }
  for (const auto& b : g.bonds()) ez += (b.stereo == double_bond_stereo::e);
  CHECK(aromatic == 6);
  CHECK(ring_atoms == 6);
  CHECK(ez == 1);
  const auto z = rdkit::from_smiles("C[NH3+]", "methylammonium");
  CHECK(z.graph.net_charge() == 1);
  CHECK(z.graph.atom_at(1).total_hydrogens == 3);
  CHECK(z.graph.atom_at(1).hybrid == hybridization::sp3);
}

TEST_CASE("symmetric RMSD equals RDKit GetBestRMS on 2,080 GEOM pairs (golden)", "[rdkit][rmsd][golden]") {
  std::ifstream csv(data_dir + "/../golden/best_rms_geom10.csv");
  REQUIRE(csv);
  std::string line;
  std::getline(csv, line);  // header
  std::map<std::string, std::unique_ptr<symmetric_rmsd>> metrics;
  std::map<std::string, std::map<std::string, std::size_t>> position;
  for (const auto& m : geom_set().molecules) {
    metrics[m.data.id] = std::make_unique<symmetric_rmsd>(m.data.graph);
    for (std::size_t c = 0; c < m.data.size(); ++c) position[m.data.id][*m.data.info[c].property("conf_index")] = c;
  }
  std::size_t pairs = 0;
  double worst = 0;
  while (std::getline(csv, line)) {
    std::stringstream ss(line);
    std::string id, ref, prb, val;
    std::getline(ss, id, ',');
    std::getline(ss, ref, ',');
    std::getline(ss, prb, ',');
    std::getline(ss, val, ',');
    const auto& m = geom_molecule(id);
    const double ours = (*metrics[id])(m.data.conformers[position[id].at(ref)], m.data.conformers[position[id].at(prb)]);
    const double diff = std::abs(ours - std::stod(val));
    worst = std::max(worst, diff);
    if (diff > 1e-4) FAIL_CHECK(id << " ref " << ref << " prb " << prb << ": ours " << ours << " RDKit " << val);
    ++pairs;
  }
  CHECK(pairs == 2080);
  INFO("largest difference " << worst << " A");
  CHECK(worst < 1e-4);
}

TEST_CASE("evaluation on GEOM: identical ensembles are fully covered with MAT 0", "[rdkit][eval]") {
  std::vector<ensemble<double>> refs;
  for (const auto& m : geom_set().molecules) refs.push_back(m.data);
  evaluation_options o;
  o.coverage.threshold = 0.5;
  const auto rep = evaluate_ensembles<double>(refs, refs, o);
  CHECK(rep.summary.n_molecules == 10);
  CHECK(rep.summary.cov_r_mean == 1.0);
  CHECK(rep.summary.mat_r_mean < 1e-5);
  CHECK(rep.summary.cov_p_mean == 1.0);
  // Dropping one molecule from the generated side makes it "missing" but it still counts.
  auto gens = refs;
  gens.erase(gens.begin() + 2);
  const auto rep2 = evaluate_ensembles<double>(refs, gens, o);
  CHECK(rep2.summary.n_missing == 1);
  CHECK(rep2.summary.n_molecules == 10);
  CHECK(rep2.summary.cov_r_mean == Approx(0.9));
  CHECK(rep2.molecules[2].problem == "no generated conformers");
}

TEST_CASE("a generated file with another atom order is mapped, not rejected", "[rdkit][eval]") {
  const auto& m = geom_molecule("drugs_train10_0005");
  // Reverse the atom order of every conformer and of the graph.
  const auto n = m.data.graph.num_atoms();
  molecule_graph rev(m.data.graph.name());
  for (std::size_t i = 0; i < n; ++i) rev.add_atom(m.data.graph.atom_at(n - 1 - i));
  for (const auto& b : m.data.graph.bonds()) {
    auto c = b;
    c.begin = static_cast<std::uint32_t>(n - 1 - b.begin);
    c.end = static_cast<std::uint32_t>(n - 1 - b.end);
    rev.add_bond(c);
  }
  ensemble<double> gen(m.data.id, rev);
  for (std::size_t c = 0; c < m.data.size(); ++c) gen.add(m.data.conformers[c].colwise().reverse());
  evaluation_options o;
  const auto rep = evaluate_ensembles<double>({m.data}, {gen}, o);
  REQUIRE(rep.molecules.size() == 1);
  CHECK(rep.molecules[0].problem.empty());
  CHECK(rep.molecules[0].coverage.mat_r < 1e-5);
}

TEST_CASE("bad SDF records are reported with file and line and the rest is read", "[rdkit][sdf][errors]") {
  auto check_one_bad = [](const std::string& file, const std::string& words, std::size_t good_conformers) {
    const auto r = rdkit::read_sdf(bad + file);
    INFO(file);
    REQUIRE(r.errors.size() == 1);
    const std::string msg = r.errors[0].what();
    CHECK_THAT(msg, Catch::Contains(file) && Catch::Contains(words));
    CHECK(r.errors[0].record().value() == 2);
    CHECK(r.errors[0].line().value() > 30);  // points into the file, at record 2
    std::size_t n = 0;
    for (const auto& m : r.molecules) n += m.data.size();
    CHECK(n == good_conformers);
  };
  check_one_bad("malformed_record.sdf", "malformed MOL block", 2);
  check_one_bad("unknown_element.sdf", "Element 'Xx' not found", 2);
  check_one_bad("nan_coordinates.sdf", "coordinates", 2);
  CHECK(rdkit::read_sdf(bad + "nan_coordinates.sdf").errors.at(0).line().value() == 98);  // the atom line itself
  check_one_bad("mismatched_atoms.sdf", "this record is C14H21FN3O+ (40 atoms)", 2);
  check_one_bad("two_fragments.sdf", "2 disconnected fragments", 1);
  CHECK_THROWS_WITH(rdkit::read_sdf(bad + "no_such_file.sdf"), Catch::Contains("no_such_file.sdf") &&
                                                                   Catch::Contains("cannot open"));
}

TEST_CASE("bad SMILES lines are reported with line numbers and the rest is read", "[rdkit][smiles][errors]") {
  const auto r = rdkit::read_smiles_file(bad + "bad_smiles.smi");
  REQUIRE(r.molecules.size() == 2);
  CHECK(r.molecules[0].id == "ethanol");
  CHECK(r.molecules[1].id == "aspirin");
  REQUIRE(r.errors.size() == 4);
  CHECK(r.errors[0].line().value() == 3);
  CHECK_THAT(std::string(r.errors[0].what()), Catch::Contains("C1CC") && Catch::Contains("could not be parsed"));
  CHECK(r.errors[1].line().value() == 4);
  CHECK(r.errors[2].line().value() == 5);
  CHECK_THAT(std::string(r.errors[2].what()), Catch::Contains("2 disconnected fragments"));
  CHECK(r.errors[3].line().value() == 6);
  CHECK_THROWS_AS(rdkit::from_smiles("", "empty"), chemistry_error);
  CHECK_THROWS_WITH(rdkit::from_smiles("*CC", "dummy"), Catch::Contains("dummy or unknown element"));
  CHECK_NOTHROW(rdkit::from_smiles("CCO.Cl", "salt", {.allow_fragments = true}));
}

TEST_CASE("CSV conformer counts must be whole numbers, and an empty cell lists none", "[rdkit][smiles][errors]") {
  const auto r = rdkit::read_smiles_file(bad + "bad_counts.csv");
  REQUIRE(r.molecules.size() == 3);
  CHECK(r.molecules[0].id == "ethanol");
  CHECK(r.molecules[0].n_reference == std::optional<std::size_t>(4));
  CHECK(r.molecules[1].id == "empty");
  CHECK_FALSE(r.molecules[1].n_reference.has_value());
  CHECK(r.molecules[2].id == "short");
  CHECK_FALSE(r.molecules[2].n_reference.has_value());
  // -1 (not 2^64 - 1), 12abc (not 12), 2.5 (not 2) and a count past 2^64 are each refused with the row.
  REQUIRE(r.errors.size() == 4);
  const std::vector<std::pair<std::size_t, std::string>> expected = {
      {3, "'-1'"}, {4, "'12abc'"}, {5, "'2.5'"}, {8, "'99999999999999999999999'"}};
  for (std::size_t k = 0; k < expected.size(); ++k) {
    CHECK(r.errors[k].line().value() == expected[k].first);
    CHECK_THAT(std::string(r.errors[k].what()), Catch::Contains("bad_counts.csv") &&
                                                    Catch::Contains("n_conformers " + expected[k].second + " is not a count"));
  }
}

TEST_CASE("ETKDG: seeded, thread-count independent, stereo kept and checked", "[rdkit][etkdg]") {
  const auto m = rdkit::from_smiles("C[C@H](N)C(=O)O/C=C/C", "probe");
  rdkit::etkdg_options o;
  o.seed = 17;
  o.threads = 1;
  const auto a = rdkit::generate_etkdg(m, 6, o);
  o.threads = 2;
  const auto b = rdkit::generate_etkdg(m, 6, o);
  REQUIRE(a.embedded == 6);
  REQUIRE(b.embedded == 6);
  for (std::size_t c = 0; c < 6; ++c) CHECK((a.conformers.conformers[c] - b.conformers.conformers[c]).cwiseAbs().maxCoeff() == 0.0);
  CHECK(a.stereo_mismatches == 0);
  for (const auto& info : a.conformers.info) CHECK(info.status == "ok");
  // The ensemble is not degenerate (RDKit with seed 0 would give identical conformers).
  const symmetric_rmsd s(m.graph);
  CHECK(s(a.conformers.conformers[0], a.conformers.conformers[1]) > 1e-3);
  CHECK_THROWS_WITH(rdkit::generate_etkdg(m, 3, {.seed = 0}), Catch::Contains("seed 0"));
  // A mirrored conformer has the wrong centre, and the checker says which atom.
  RDKit::RWMol mirrored(*a.mol);
  auto xyz = a.conformers.conformers[0].eval();
  xyz.col(0) *= -1.0;
  rdkit::set_coordinates(mirrored, xyz);
  const auto problem = rdkit::stereo_mismatch(rdkit::specified_stereo(m.graph), rdkit::stereo_from_3d(mirrored), m.graph);
  CHECK_THAT(problem, Catch::Contains("atom 2 is R (S expected)"));
  // MMFF gives energies.
  o.mmff = true;
  const auto relaxed = rdkit::generate_etkdg(m, 3, o);
  for (const auto& info : relaxed.conformers.info) CHECK(info.energy.has_value());
}

TEST_CASE("SDF writer round trip keeps coordinates and properties, atomically", "[rdkit][sdf]") {
  const auto& m = geom_molecule("drugs_train10_0002");
  const auto path = (std::filesystem::temp_directory_path() / "confsgm_roundtrip.sdf").string();
  {
    rdkit::sdf_writer w(path);
    for (std::size_t c = 0; c < 3; ++c)
      w.write(*m.mol, m.data.conformers[c], "t" + std::to_string(c), {{"mol_id", "x"}, {"status", "ok"}, {"note", "a b"}});
    CHECK_FALSE(std::filesystem::exists(path));  // nothing visible before commit
    w.commit();
  }
  const auto r = rdkit::read_sdf(path);
  REQUIRE(r.errors.empty());
  REQUIRE(r.molecules.size() == 1);
  REQUIRE(r.molecules[0].data.size() == 3);
  CHECK(r.molecules[0].data.info[2].title == "t2");
  CHECK(r.molecules[0].data.info[2].property("note").value() == "a b");
  CHECK((r.molecules[0].data.conformers[1] - m.data.conformers[1]).cwiseAbs().maxCoeff() < 1e-4);
  {
    rdkit::sdf_writer w(path + ".abandoned");
    w.write(*m.mol, m.data.conformers[0], "t", {});
  }  // destroyed without commit
  CHECK_FALSE(std::filesystem::exists(path + ".abandoned"));
  CHECK_FALSE(std::filesystem::exists(path + ".abandoned.partial"));
  // Coordinates too wide for V2000's 10-character fields are written as V3000 and read back exactly;
  // non-finite coordinates are refused by name.
  {
    rdkit::sdf_writer w(path);
    auto far = m.data.conformers[0].eval();
    far.array() += 123456.0;
    far(0, 0) = -98765.4321;
    w.write(*m.mol, far, "far", {{"mol_id", "x"}});
    auto bad = m.data.conformers[0].eval();
    bad(1, 2) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(w.write(*m.mol, bad, "bad", {}), Catch::Contains("'bad' has non-finite coordinates"));
    w.write(*m.mol, m.data.conformers[0], "near", {{"mol_id", "y"}});
    w.commit();
    const auto back = rdkit::read_sdf(path);
    REQUIRE(back.errors.empty());
    REQUIRE(back.molecules.size() == 2);
    CHECK((back.molecules[0].data.conformers[0] - far).cwiseAbs().maxCoeff() < 1e-4);
    // Only the record that needs it is V3000; ordinary coordinates stay V2000, which more readers accept.
    std::ifstream in(path);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto second = text.find("$$$$");
    REQUIRE(second != std::string::npos);
    CHECK(text.substr(0, second).find("V3000") != std::string::npos);
    CHECK(text.substr(second).find("V2000") != std::string::npos);
    CHECK(text.substr(second).find("V3000") == std::string::npos);
  }
  std::filesystem::remove(path);
}

TEST_CASE("SDF writer resumes a kept partial file at a flushed offset", "[rdkit][sdf]") {
  const auto& m = geom_molecule("drugs_train10_0002");
  const auto path = (std::filesystem::temp_directory_path() / "confsgm_resume.sdf").string();
  const auto conf = [&](std::size_t c) { return m.data.conformers[c]; };
  std::uintmax_t vouched = 0;
  {
    rdkit::sdf_writer w(path, {.keep_partial = true, .resume_at = std::nullopt});
    w.write(*m.mol, conf(0), "t0", {{"mol_id", "x"}});
    w.write(*m.mol, conf(1), "t1", {{"mol_id", "x"}});
    vouched = w.flush();
    CHECK(vouched == std::filesystem::file_size(w.partial_path()));
    w.write(*m.mol, conf(2), "unfinished", {{"mol_id", "x"}});  // a molecule the "killed" run had not finished
    w.flush();
  }  // destroyed without commit: the partial file stays
  REQUIRE(std::filesystem::exists(path + ".partial"));
  CHECK(std::filesystem::file_size(path + ".partial") > vouched);
  // More bytes vouched for than the file has: refused, naming the file and both sizes.
  CHECK_THROWS_WITH(rdkit::sdf_writer(path, {.resume_at = vouched + std::filesystem::file_size(path + ".partial")}),
                    Catch::Contains("confsgm_resume.sdf.partial") && Catch::Contains("fewer than the"));
  {
    rdkit::sdf_writer w(path, {.keep_partial = true, .resume_at = vouched});
    CHECK(w.flush() == vouched);  // the unfinished record is cut off
    w.write(*m.mol, conf(2), "t2", {{"mol_id", "x"}});
    w.commit();
  }
  CHECK_FALSE(std::filesystem::exists(path + ".partial"));
  const auto r = rdkit::read_sdf(path);
  REQUIRE(r.errors.empty());
  REQUIRE(r.molecules.size() == 1);
  REQUIRE(r.molecules[0].data.size() == 3);
  CHECK(r.molecules[0].data.info[1].title == "t1");
  CHECK(r.molecules[0].data.info[2].title == "t2");
  // Nothing to resume from: refused by name.
  CHECK_THROWS_WITH(rdkit::sdf_writer(path + ".none", {.resume_at = 0}),
                    Catch::Contains("confsgm_resume.sdf.none.partial") && Catch::Contains("missing"));
  std::filesystem::remove(path);
}

TEST_CASE("torsion training data: every conformer matched onto its own ETKDG local structure, thread-independent",
          "[rdkit][torsion]") {
  const auto r = rdkit::read_sdf(geom);
  REQUIRE(r.molecules.size() >= 3);
  const std::vector<rdkit::sdf_molecule> mols(r.molecules.begin(), r.molecules.begin() + 3);
  const auto one = rdkit::torsion_training_data(mols, 2, 7, rotatable_rule::stereo_safe, 1);
  const auto two = rdkit::torsion_training_data(mols, 2, 7, rotatable_rule::stereo_safe, 2);
  INFO((one.notes.empty() ? std::string() : one.notes.front()));
  REQUIRE(one.set.size() == 3);
  CHECK(one.set.clean == two.set.clean);
  REQUIRE(one.matching.size() == 6);
  for (std::size_t m = 0; m < 3; ++m) {
    REQUIRE(one.set.conformer_structures[m].size() == 2);
    for (const auto& st : one.set.conformer_structures[m]) CHECK(st.rule == rotatable_rule::stereo_safe);
  }
  for (const auto& rec : one.matching) CHECK(rec.rmsd <= rec.start_rmsd + 1e-9);  // matching never makes it worse
  CHECK(one.dropped.empty());
  // A matched geometry with atoms closer than the limit is left out and listed, never trained on: with an
  // absurd limit every conformer goes, and so every molecule, each with its reason.
  const auto none = rdkit::torsion_training_data(mols, 2, 7, rotatable_rule::stereo_safe, 1, false, 100.0);
  CHECK(none.set.size() == 0);
  REQUIRE(none.dropped.size() == 6);
  CHECK_THAT(none.dropped.front(), Catch::Contains(mols[0].data.id + " conformer 0") &&
                                       Catch::Contains("A apart (closer than 100 A)"));
  REQUIRE(none.notes.size() == 3);
  CHECK_THAT(none.notes.front(), Catch::Contains("no matched conformer is physical"));
}

TEST_CASE("too_close names the closest two atoms when they are closer than the limit", "[rdkit]") {
  coordinates<double> xyz(3, 3);
  xyz << 0, 0, 0, 1.5, 0, 0, 1.5, 0.05, 0;
  CHECK(rdkit::too_close(xyz, 0.1) == "atoms 2 and 3 are 0.05 A apart (closer than 0.1 A)");
  CHECK(rdkit::too_close(xyz, 0.04).empty());  // not closer than the limit
  CHECK(rdkit::too_close(coordinates<double>(1, 3), 0.1).empty());
}

TEST_CASE("symmetric_rmsd: compared_atoms::removehs keeps the hydrogens RDKit's RemoveHs keeps", "[rdkit][rmsd]") {
  // An imine N-H fixing C=N stereo, an isotope-labelled H, an unspecified imine (its H goes), plain C-H and O-H.
  for (const std::string smiles : {"[H]/N=C/C", "[H]/N=C1/CCCO1", "[2H]C(C)O", "N=CC", "CC(=O)O", "[H]/N=C/N(/C=N/[H])/C=N/CC"}) {
    const auto m = rdkit::from_smiles(smiles, "m");
    RDKit::RWMol copy(*m.mol);
    for (auto* a : copy.atoms()) a->setProp<int>("original_index", static_cast<int>(a->getIdx()));
    std::unique_ptr<RDKit::ROMol> removed(RDKit::MolOps::removeHs(static_cast<const RDKit::ROMol&>(copy)));
    std::vector<std::uint32_t> expected;
    for (const auto* a : removed->atoms()) expected.push_back(static_cast<std::uint32_t>(a->getProp<int>("original_index")));
    std::sort(expected.begin(), expected.end());
    INFO(smiles);
    CHECK(compared_atom_indices(m.graph, compared_atoms::removehs) == expected);
    CHECK(compared_atom_indices(m.graph, compared_atoms::heavy) == m.graph.heavy_atoms());
  }
  CHECK(parse_compared_atoms("removehs") == compared_atoms::removehs);
  CHECK_THROWS_WITH(parse_compared_atoms("all"), Catch::Contains("'heavy' or 'removehs'"));
}
