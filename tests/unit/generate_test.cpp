// confsgm/generate: noise streams of a run, model choice by training domain, sampled conformers with the
// input's stereo checked (mirror-image repair), the three generators on real molecules with the shipped models,
// refinement (MMFF94, GFN-FF) with its bond and stereo checks, and selection from an oversampled pool.
#include <catch2/catch.hpp>

#include <confsgm/generate/generators.hpp>
#include <confsgm/generate/refine.hpp>
#include <confsgm/generate/select.hpp>
#include <confsgm/generate/shared_batches.hpp>

#include <GraphMol/SmilesParse/SmilesParse.h>

#include <memory>

using namespace confsgm;

namespace {
const std::string model_dir = CONFSGM_MODEL_DIR;

using torsion_net = model::torsion_score_network<float>;
using distance_net = model::distance_score_network<float>;

bool same_conformers(const rdkit::generated_conformers& a, const rdkit::generated_conformers& b) {
  if (a.conformers.size() != b.conformers.size()) return false;
  for (std::size_t c = 0; c < a.conformers.size(); ++c) {
    if (a.conformers.info[c].status != b.conformers.info[c].status) return false;
    if (!(coordinates<double>(a.conformers.conformers[c]) == coordinates<double>(b.conformers.conformers[c]))) return false;
  }
  return true;
}
generate::refine_options refine_with(unsigned threads, bool keep_changed = false) {
  generate::refine_options o;
  o.threads = threads;
  o.keep_changed = keep_changed;
  return o;
}
}  // namespace

TEST_CASE("generate: each molecule of a run owns 2^16 noise streams", "[generate]") {
  CHECK(generate::stream_offset(0) == 0u);
  CHECK(generate::stream_offset(1) == 65536u);
  CHECK(generate::stream_key(2, 5) == 2u * 65536u + 5u);
  CHECK(generate::stream_offset(generate::max_molecules_per_run - 1) == 0xFFFF0000u);
  CHECK_THROWS_WITH(generate::stream_offset(generate::max_molecules_per_run), Catch::Contains("split the input"));
  CHECK_THROWS_AS(generate::stream_key(0, generate::max_conformers_per_molecule), invalid_argument);
}

TEST_CASE("generate: a molecule goes to the model trained on molecules like it", "[generate]") {
  using generate::choose_model;
  const std::vector<std::optional<std::size_t>> qm9_drugs = {9, 40};
  CHECK(choose_model(qm9_drugs, 5) == 0);   // both hold it: the smaller domain
  CHECK(choose_model(qm9_drugs, 9) == 0);
  CHECK(choose_model(qm9_drugs, 10) == 1);
  CHECK(choose_model(qm9_drugs, 60) == 1);  // none holds it: the largest
  const std::vector<std::optional<std::size_t>> unknown_first = {std::nullopt, 9};
  CHECK(choose_model(unknown_first, 5) == 1);   // unknown counts as unbounded
  CHECK(choose_model(unknown_first, 20) == 0);
  CHECK(choose_model({12, 12}, 5) == 0);        // ties: the earlier model
  CHECK_THROWS_AS(choose_model({}, 5), invalid_argument);

  CHECK_FALSE(generate::training_heavy_atoms_max({}, "m.bin"));
  CHECK(generate::training_heavy_atoms_max({{"training_heavy_atoms_max", "27"}}, "m.bin") == 27u);
  CHECK_THROWS_WITH(generate::training_heavy_atoms_max({{"training_heavy_atoms_max", "27x"}}, "m.bin"),
                    Catch::Contains("m.bin") && Catch::Contains("27x"));

  CHECK_FALSE(generate::outside_training_domain(std::nullopt, {50, 60}));
  CHECK_FALSE(generate::outside_training_domain(9, {5, 9}));
  const auto excess = generate::outside_training_domain(9, {5, 12, 30, 11, 30});
  REQUIRE(excess);
  CHECK(excess->larger == 4);
  CHECK(excess->served == 5);
  CHECK(excess->largest_index == 2);  // the first of the largest
  CHECK(excess->largest_heavy_atoms == 30);
}

TEST_CASE("generate: sampled conformers keep the input's stereo, mirror images are repaired on request", "[generate]") {
  const auto m = rdkit::from_smiles("C[C@H](N)C(=O)O", "alanine");
  rdkit::etkdg_options eo;
  eo.seed = 3;
  const auto ref = rdkit::generate_etkdg(m, 1, eo);
  REQUIRE(ref.conformers.size() == 1);
  REQUIRE(ref.conformers.info[0].status == "ok");
  const coordinates<double> right = ref.conformers.conformers[0];
  const auto wrong = rdkit::mirror_image(right);
  rdkit::stereo_check check(m);
  CHECK(check.problem(right).empty());
  CHECK_THAT(check.problem(wrong), Catch::Contains("atom 2"));

  // Sample 0 has the wrong handedness, sample 1 diverged, sample 2 is right.
  const std::vector<sample::sample_status> status = {{}, sample::sample_status::diverged_at(3, 0.5, 7), {}};
  const auto sample_of = [&](std::size_t c) { return c == 0 ? wrong : right; };
  const auto reflected = rdkit::collect_samples(m, 3, status, sample_of, rdkit::mirror_images::reflect);
  REQUIRE(reflected.conformers.size() == 2);
  CHECK(reflected.requested == 3);
  CHECK(reflected.embedded == 2);
  CHECK(reflected.reflected == 1);
  CHECK(reflected.stereo_mismatches == 0);
  CHECK(reflected.conformers.info[0].status == "ok (mirror image of the sample)");
  CHECK(reflected.conformers.info[0].title == "alanine_conf0");
  CHECK(reflected.conformers.info[1].title == "alanine_conf2");
  CHECK(coordinates<double>(reflected.conformers.conformers[0]).isApprox(right));
  REQUIRE(reflected.dropped.size() == 1);
  CHECK(reflected.dropped[0].index == 1);
  CHECK(reflected.dropped[0].status == sample::sample_status::diverged_at(3, 0.5, 7));

  const auto kept = rdkit::collect_samples(m, 3, status, sample_of, rdkit::mirror_images::keep);
  CHECK(kept.reflected == 0);
  CHECK(kept.stereo_mismatches == 1);
  CHECK_THAT(kept.conformers.info[0].status, Catch::StartsWith("stereo mismatch: atom 2"));
  CHECK_THROWS_AS(rdkit::collect_samples(m, 2, status, sample_of, rdkit::mirror_images::keep), shape_mismatch);
  CHECK(rdkit::parse_mirror_images("keep") == rdkit::mirror_images::keep);
  CHECK_THROWS_WITH(rdkit::parse_mirror_images("flip"), Catch::Contains("'flip'"));
}

TEST_CASE("generate: RDKit molecules in, RDKit conformers out", "[generate]") {
  const std::unique_ptr<RDKit::ROMol> host(RDKit::SmilesToMol("OC[C@@H](O)C=O"));  // implicit hydrogens
  const auto m = rdkit::from_rdkit(*host, "glyceraldehyde");
  CHECK(m.mol->getNumAtoms() == 12);
  CHECK(m.graph.num_heavy_atoms() == 6);
  CHECK(m.smiles == RDKit::MolToSmiles(*host));
  const std::unique_ptr<RDKit::ROMol> salt(RDKit::SmilesToMol("[Na+].[Cl-]"));
  CHECK_THROWS_WITH(rdkit::from_rdkit(*salt, "salt"), Catch::Contains("'salt'") && Catch::Contains("fragments"));

  const generate::etkdg_generator etkdg({.seed = 5});
  const auto g = etkdg.generate(m, 0, 4, 1);
  const auto out = rdkit::as_rdkit(g);
  REQUIRE(out.getNumConformers() == g.conformers.size());
  for (std::size_t c = 0; c < g.conformers.size(); ++c)
    CHECK(rdkit::to_coordinates(out, static_cast<int>(c)).isApprox(coordinates<double>(g.conformers.conformers[c])));
  CHECK_THROWS_WITH(etkdg.generate(m, 0, 0, 1), Catch::Contains("0 conformers") && Catch::Contains("glyceraldehyde"));
  CHECK_THROWS_AS(etkdg.generate(m, 0, generate::max_conformers_per_molecule + 1, 1), invalid_argument);
}

TEST_CASE("generate: the generators satisfy the concept, a type without generate() does not", "[generate]") {
  struct not_a_generator {};
  struct wrong_result {
    int generate(const rdkit::molecule&, std::size_t, std::size_t, unsigned) const { return 0; }
  };
  STATIC_REQUIRE(generate::Generator<generate::etkdg_generator>);
  STATIC_REQUIRE(generate::Generator<generate::torsion_generator<>>);
  STATIC_REQUIRE(generate::Generator<generate::distance_generator<>>);
  STATIC_REQUIRE_FALSE(generate::Generator<not_a_generator>);
  STATIC_REQUIRE_FALSE(generate::Generator<wrong_result>);
}

TEST_CASE("generate: torsion generator with the shipped models: model choice, noise per molecule, any thread count",
          "[generate]") {
  const auto models = generate::model_set<torsion_net>::load({model_dir + "/qm9-torsion-ip.bin",
                                                              model_dir + "/drugs-torsion-ip.bin"});
  REQUIRE(models.size() == 2);
  REQUIRE(models.domain(0));
  REQUIRE(models.domain(1));
  CHECK(*models.domain(0) < *models.domain(1));
  const auto small = rdkit::from_smiles("CCOC(=O)C[C@H](C)O", "small");
  const auto large = rdkit::from_smiles("CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)NCCc1ccc(OC)c(OC)c1", "large");
  CHECK(models.choose(small) == 0);
  CHECK(models.choose(large) == 1);

  const generate::torsion_generator gen(models, {.seed = 11}, 20);
  const auto one = gen.generate(small, 3, 6, 1);
  CHECK(one.conformers.size() == 6);
  CHECK(one.dropped.empty());
  CHECK(same_conformers(one, gen.generate(small, 3, 6, 2)));     // the thread count changes the speed only
  CHECK_FALSE(same_conformers(one, gen.generate(small, 4, 6, 1)));  // another molecule index: other noise
  // Sampling elsewhere and collecting gives the same conformers (the GPU path).
  const auto local = gen.local_structures(small, 3, 6);
  auto o = gen.options(0);  // the model's options (here the options as given: no compensation request)
  o.stream_offset = generate::stream_offset(3);
  const sample::network_torsion_score<torsion_net> score(models[0].network, models[0].parameters);
  const auto r = sample::sample_torsions<float>(score, gen.schedule(0), gen.samples_on(local, 6), o);
  CHECK(same_conformers(one, gen.collect(small, local, 6, r)));
  for (const auto& info : one.conformers.info) CHECK(info.status == "ok");
}

TEST_CASE("generate: shared sampler calls give each molecule its own samples (the GPU launch plan)", "[generate]") {
  const auto models = generate::model_set<torsion_net>::load({model_dir + "/qm9-torsion-ip.bin",
                                                              model_dir + "/drugs-torsion-ip.bin"});
  const generate::torsion_generator gen(models, {.seed = 11}, 20);  // no request: the options as given
  const std::vector<rdkit::molecule> mols = {
      rdkit::from_smiles("CCOC(=O)C[C@H](C)O", "small"),
      rdkit::from_smiles("CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)NCCc1ccc(OC)c(OC)c1", "large"),
      rdkit::from_smiles("CCCCO", "none wanted"), rdkit::from_smiles("OCC(O)CO", "glycerol")};
  const std::vector<std::size_t> wanted = {3, 2, 0, 4};
  std::vector<std::vector<torsion_structure>> local(mols.size());
  for (std::size_t k = 0; k < mols.size(); ++k)
    if (wanted[k]) local[k] = gen.local_structures(mols[k], k, wanted[k]);
  const auto batches = generate::torsion_batches(gen, mols, local, wanted);
  REQUIRE(batches.size() == 2);  // the QM9 model serves molecules 0 and 3, the Drugs model molecule 1
  CHECK(batches[0].model == 0);
  REQUIRE(batches[0].spans.size() == 2);
  CHECK((batches[0].spans[0].molecule == 0 && batches[0].spans[0].first == 0 && batches[0].spans[0].count == 3));
  CHECK((batches[0].spans[1].molecule == 3 && batches[0].spans[1].first == 3 && batches[0].spans[1].count == 4));
  CHECK(batches[1].model == 1);
  REQUIRE(batches[1].spans.size() == 1);
  CHECK(batches[1].spans[0].molecule == 1);
  for (const auto& b : batches) {
    REQUIRE(b.samples.size() == b.keys.size());
    REQUIRE(b.samples.size() == b.start.size());
    // Each molecule's share, sampled on its own with its noise streams and start, is what generate() writes.
    sample::torus_result all;
    std::vector<sample::torus_result> own;
    for (const auto& span : b.spans) {
      const auto k = span.molecule;
      const auto mine = generate::torsion_generator<torsion_net>::samples_on(local[k], wanted[k]);
      for (std::size_t c = 0; c < span.count; ++c) {
        CHECK(b.keys[span.first + c] == generate::stream_key(k, c));
        CHECK(b.samples[span.first + c] == mine[c]);
      }
      auto o = gen.options(b.model);
      o.stream_offset = generate::stream_offset(k);
      o.threads = 1;
      const std::vector<std::vector<double>> start(b.start.begin() + span.first,
                                                   b.start.begin() + span.first + span.count);
      CHECK(start == sample::initial_torsions(mine, nullptr, o.seed, o.stream_offset, "test"));
      const sample::network_torsion_score<torsion_net> score(models[b.model].network, models[b.model].parameters);
      own.push_back(sample::sample_torsions<float>(score, gen.schedule(b.model), mine, o, nullptr, &start));
      for (std::size_t c = 0; c < span.count; ++c) {
        all.torsions.push_back(own.back().torsions[c]);
        all.status.push_back(own.back().status[c]);
      }
    }
    sample::torus_result short_result = all;
    short_result.torsions.pop_back();
    CHECK_THROWS_WITH(b.split(std::move(short_result)), Catch::Contains("for a batch of"));
    const auto parts = b.split(std::move(all));
    REQUIRE(parts.size() == b.spans.size());
    for (std::size_t s = 0; s < b.spans.size(); ++s) {
      const auto k = b.spans[s].molecule;
      CHECK(parts[s].torsions == own[s].torsions);
      CHECK(parts[s].status == own[s].status);
      CHECK(parts[s].diverged == own[s].diverged);
      CHECK(same_conformers(gen.collect(mols[k], local[k], wanted[k], parts[s]), gen.generate(mols[k], k, wanted[k], 1)));
    }
  }
  CHECK_THROWS_WITH(generate::torsion_batches(gen, mols, local, {1, 2}), Catch::Contains("conformer counts"));

  // The distance space: one job per molecule, with the molecule's first noise stream; no structure, no job.
  const auto dmodels = generate::model_set<distance_net>::load({model_dir + "/qm9-distance-ip.bin",
                                                                model_dir + "/drugs-distance-ip.bin"});
  const generate::distance_generator dgen(dmodels, sample::langevin_options{});
  std::vector<std::optional<distance_structure>> structures(mols.size());
  for (std::size_t k : {0, 1}) structures[k] = distance_space::describe(mols[k].graph);
  const auto dbatches = generate::distance_batches(dgen, mols, structures, wanted);
  REQUIRE(dbatches.size() == 2);
  CHECK((dbatches[0].molecules == std::vector<std::size_t>{0} && dbatches[1].molecules == std::vector<std::size_t>{1}));
  CHECK(dbatches[1].jobs[0].stream_offset == generate::stream_offset(1));
  CHECK(dbatches[1].jobs[0].conformers == 2);
  CHECK(dbatches[1].jobs[0].structure == &*structures[1]);
}

TEST_CASE("generate: distance generator with a shipped model reflects mirror images, any thread count", "[generate]") {
  sample::langevin_options o;
  o.steps_per_level = 4;  // a short walk: this checks the plumbing, not the quality
  o.seed = 2;
  const auto m = rdkit::from_smiles("C[C@@H](O)C#N", "lactonitrile");
  const generate::distance_generator gen(generate::model_set<distance_net>::load({model_dir + "/qm9-distance-ip.bin"}), o);
  const auto a = gen.generate(m, 0, 8, 1);
  CHECK(a.requested == 8);
  CHECK(a.conformers.size() + a.dropped.size() == 8);
  CHECK(same_conformers(a, gen.generate(m, 0, 8, 2)));
  CHECK(gen.schedule(0).size() == gen.models()[0].trained_sigmas().size());
  rdkit::stereo_check check(m);
  for (std::size_t c = 0; c < a.conformers.size(); ++c)
    if (a.conformers.info[c].status == "ok (mirror image of the sample)")
      CHECK(check.problem(coordinates<double>(a.conformers.conformers[c])).empty());
}

TEST_CASE("refine: MMFF94 relaxes a distorted conformer to a lower energy, keeping bonds and stereo", "[refine]") {
  const auto m = rdkit::from_smiles("C[C@H](N)C(=O)O", "alanine");
  auto g = generate::etkdg_generator({.seed = 3}).generate(m, 0, 3, 1);
  REQUIRE(g.conformers.size() == 3);
  // Distort conformer 1 (a 0.15 A push along a fixed pattern): its energy before is far above its minimum.
  coordinates<double> distorted = g.conformers.conformers[1];
  for (Eigen::Index i = 0; i < distorted.rows(); ++i) distorted(i, i % 3) += (i % 2 ? 0.15 : -0.15);
  g.conformers.conformers[1] = distorted;
  const generate::mmff_refiner mmff;
  STATIC_REQUIRE(generate::Refiner<generate::mmff_refiner>);
  const double relaxed_energy = mmff.relax(m, distorted).energy_kcal_mol;
  {
    RDKit::RWMol probe(*m.mol);
    probe.clearConformers();
    rdkit::set_coordinates(probe, distorted);
    RDKit::MMFF::MMFFMolProperties props(probe);
    std::unique_ptr<ForceFields::ForceField> ff(RDKit::MMFF::constructForceField(probe, &props));
    ff->initialize();
    CHECK(relaxed_energy < ff->calcEnergy() - 5.0);
  }
  auto serial = g;
  const auto report = generate::refine_conformers(mmff, m, serial, refine_with(1));
  CHECK(report.relaxed == 3);
  CHECK(report.problems.empty());
  REQUIRE(serial.conformers.size() == 3);
  CHECK(serial.energy_unit == "kcal/mol (MMFF94)");
  rdkit::stereo_check stereo(m);
  for (std::size_t c = 0; c < 3; ++c) {
    REQUIRE(serial.conformers.info[c].energy);
    CHECK(serial.conformers.info[c].status == "ok");
    const coordinates<double> x = serial.conformers.conformers[c];
    CHECK(topology_change(m.graph, x).empty());
    CHECK(stereo.problem(x).empty());
  }
  CHECK(*serial.conformers.info[1].energy == Approx(relaxed_energy));
  auto parallel = g;
  generate::refine_conformers(mmff, m, parallel, refine_with(2));
  CHECK(same_conformers(serial, parallel));  // any thread count, the same result
}

namespace {
/// A refiner that inverts the stereocentre (mirror image) or stretches the first bond: what refinement must catch.
struct breaking_refiner {
  bool break_bond = false;
  std::string name() const { return "breaker"; }
  std::string energy_unit() const { return "kcal/mol (test)"; }
  generate::relaxation relax(const rdkit::molecule& m, const coordinates<double>& xyz) const {
    if (!break_bond) return {rdkit::mirror_image(xyz), 1.0, true};
    coordinates<double> x = xyz;
    const auto& b = m.graph.bonds().front();
    x.row(b.end) += 2.5 * (x.row(b.end) - x.row(b.begin)).normalized();
    return {x, 2.0, true};
  }
};
}  // namespace

TEST_CASE("refine: a refinement that inverts a centre or breaks a bond is caught, dropped or kept by option", "[refine]") {
  const auto m = rdkit::from_smiles("C[C@H](N)C(=O)O", "alanine");
  const auto g = generate::etkdg_generator({.seed = 3}).generate(m, 0, 2, 1);
  auto dropped = g;
  const auto r1 = generate::refine_conformers(breaking_refiner{}, m, dropped);
  CHECK(r1.stereo_changed == 2);
  CHECK(r1.bonds_changed == 0);
  REQUIRE(r1.problems.size() == 2);
  CHECK_THAT(r1.problems[0], Catch::StartsWith("alanine_conf0: stereo changed in breaker relaxation: atom 2"));
  CHECK(dropped.conformers.size() == 0);
  CHECK(dropped.embedded == 0);

  auto kept = g;
  const auto r2 = generate::refine_conformers(breaking_refiner{true}, m, kept, refine_with(1, true));
  CHECK(r2.bonds_changed == 2);
  REQUIRE(kept.conformers.size() == 2);
  CHECK_THAT(kept.conformers.info[0].status, Catch::StartsWith("bonds changed in breaker relaxation: bond"));
  CHECK(kept.energy_unit == "kcal/mol (test)");
}

TEST_CASE("refine: a molecule MMFF94 cannot type fails with a clear error naming it", "[refine]") {
  const auto m = rdkit::from_smiles("C[Se]C", "selenide");  // MMFF94 has no selenium types
  const auto g = generate::etkdg_generator({.seed = 2}).generate(m, 0, 2, 1);
  REQUIRE(g.conformers.size() == 2);
  auto copy = g;
  CHECK_THROWS_WITH(generate::refine_conformers(generate::mmff_refiner{}, m, copy),
                    Catch::Contains("'selenide'") && Catch::Contains("MMFF94 has no parameters"));
}

TEST_CASE("refine: GFN-FF relaxation through the xtb program", "[refine][xtb]") {
  xtb::program_options xo;
  xo.method = xtb::hamiltonian::gfnff;
  if (xtb::version(xo).empty()) {
    WARN("xtb program not found; GFN-FF refinement not tested");
    return;
  }
  const auto m = rdkit::from_smiles("OCC(=O)N", "glycolamide");
  auto g = generate::etkdg_generator({.seed = 4}).generate(m, 0, 2, 1);
  const generate::xtb_refiner gfnff(xo);
  CHECK(gfnff.name() == "gfnff");
  const auto report = generate::refine_conformers(gfnff, m, g, refine_with(2));
  CHECK(report.relaxed == 2);
  REQUIRE(g.conformers.size() == 2);
  CHECK(g.energy_unit == "kcal/mol (GFN-FF)");
  for (const auto& info : g.conformers.info) {
    REQUIRE(info.energy);
    CHECK(*info.energy < 0);  // GFN-FF total energies are large and negative
  }
  // A cycle cap stops the optimisation: the conformers are kept with their last geometry and say so.
  auto capped_options = xo;
  capped_options.max_cycles = 1;
  capped_options.optimization_level = "tight";
  auto capped = generate::etkdg_generator({.seed = 4}).generate(m, 0, 2, 1);
  const auto capped_report = generate::refine_conformers(generate::xtb_refiner(capped_options), m, capped,
                                                         refine_with(1));
  CHECK(capped_report.not_converged == 2);
  REQUIRE(capped.conformers.size() == 2);
  for (const auto& info : capped.conformers.info) {
    CHECK(info.status == "ok (gfnff not converged)");
    CHECK(info.energy);
  }
  // The library's own optimize() keeps the data builder's rule: not converged is a failure.
  const auto start = generate::etkdg_generator({.seed = 4}).generate(m, 0, 1, 1);
  const auto strict = xtb::optimize(m.graph, coordinates<double>(start.conformers.conformers[0]), 0, 0, capped_options);
  CHECK_FALSE(strict.ok);
  CHECK_THAT(strict.message, Catch::Contains("did not converge"));
  capped_options.optimization_level = "quick";
  CHECK_THROWS_WITH(generate::xtb_refiner(capped_options).relax(m, coordinates<double>(start.conformers.conformers[0])),
                    Catch::Contains("unknown optimisation level 'quick'"));
}

TEST_CASE("generate: local structures retry from random coordinates where ETKDG embeds none", "[generate]") {
  // A QM9 test molecule ETKDGv3 (RDKit 2022.09, seed 5, one attempt) does not embed from its default starts, but
  // does from random-coordinate ones.
  const auto m = rdkit::from_smiles("C[C@H]1N2CC1(N1CC1)C2", "qm9_test_0574");
  CHECK(rdkit::local_structures(m, 1, 5, rotatable_rule::stereo_safe).empty());
  const auto retried = rdkit::local_structures(m, 1, 5, rotatable_rule::stereo_safe, nullptr, true);
  CHECK_FALSE(retried.empty());
  CHECK(retried.size() == 1);
  // A molecule that embeds at once gets the same structures with or without the retry.
  const auto easy = rdkit::from_smiles("CCOC(=O)C[C@H](C)O", "easy");
  const auto plain = rdkit::local_structures(easy, 3, 5, rotatable_rule::stereo_safe);
  const auto with_retry = rdkit::local_structures(easy, 3, 5, rotatable_rule::stereo_safe, nullptr, true);
  REQUIRE(plain.size() == with_retry.size());
  for (std::size_t i = 0; i < plain.size(); ++i) CHECK(plain[i].local_torsions == with_retry[i].local_torsions);
}

namespace {
/// Six ETKDG conformers of pentanol with given energies, then an exact copy of conformer 1 at +0.01 kcal/mol.
rdkit::generated_conformers pentanol_pool(const rdkit::molecule& m, bool with_energies) {
  auto g = generate::etkdg_generator({.seed = 11}).generate(m, 0, 6, 1);
  REQUIRE(g.conformers.size() == 6);
  const double energy[6] = {5, 1, 3, 20, 2, 4};
  auto copy = g.conformers.info[1];
  copy.title = "copy_of_1";
  g.conformers.add(coordinates<double>(g.conformers.conformers[1]), copy);
  for (std::size_t c = 0; c < 7; ++c) {
    if (with_energies) g.conformers.info[c].energy = c < 6 ? energy[c] : 1.01;
    else g.conformers.info[c].energy.reset();
  }
  g.embedded = 7;
  return g;
}
}  // namespace

TEST_CASE("select: the energy rule keeps the lowest energies in the window, without duplicates, and fills up", "[select]") {
  const auto m = rdkit::from_smiles("CCCCCO", "pentanol");
  STATIC_REQUIRE(generate::Selector<generate::energy_selector>);
  const generate::energy_selector by_energy;  // CREST's defaults: 6 kcal/mol, 0.05 kcal/mol and 0.125 A
  const auto pool = pentanol_pool(m, true);
  const auto four = by_energy.select(m, pool, 4, 1);
  CHECK(four.pool == 7);
  CHECK(four.kept == std::vector<std::size_t>{1, 4, 2, 5});
  CHECK(four.duplicates == 1);      // the copy of conformer 1
  CHECK(four.outside_window == 1);  // conformer 3, 19 kcal/mol above the lowest
  CHECK(four.filled == 0);
  // Seven wanted: the five distinct ones inside the window, then the copy and the high one fill up, by energy.
  const auto seven = by_energy.select(m, pool, 7, 2);
  CHECK(seven.kept == std::vector<std::size_t>{1, 4, 2, 5, 0, 6, 3});
  CHECK(seven.filled == 2);
  // In place: the kept conformers in the order chosen, with their titles and energies.
  auto g = pool;
  generate::select_conformers(by_energy, m, g, 3);
  REQUIRE(g.conformers.size() == 3);
  CHECK(g.embedded == 3);
  CHECK(g.conformers.info[0].title == "pentanol_conf1");
  CHECK(*g.conformers.info[2].energy == 3.0);
  CHECK(coordinates<double>(g.conformers.conformers[1]) == coordinates<double>(pool.conformers.conformers[4]));
  // No energies: the reason, naming the molecule.
  CHECK_THROWS_WITH(by_energy.select(m, pentanol_pool(m, false), 4, 1),
                    Catch::Contains("'pentanol'") && Catch::Contains("refine them first"));
  data::ensemble_filter_options negative_window;
  negative_window.energy_window_kcal = -1;
  CHECK_THROWS_AS(generate::energy_selector(negative_window), invalid_argument);
}

TEST_CASE("select: the diversity rule is farthest-point sampling on the symmetry-aware RMSD", "[select]") {
  const auto m = rdkit::from_smiles("CCCCCO", "pentanol");
  STATIC_REQUIRE(generate::Selector<generate::diverse_selector>);
  const symmetric_rmsd metric(m.graph);
  const auto rmsd = [&](const rdkit::generated_conformers& g, std::size_t a, std::size_t b) {
    return metric(g.conformers.conformers[a], g.conformers.conformers[b]);
  };
  for (const bool with_energies : {false, true}) {
    const auto pool = pentanol_pool(m, with_energies);
    const auto s = generate::diverse_selector{}.select(m, pool, 4, 1);
    REQUIRE(s.kept.size() == 4);
    CHECK(s.kept[0] == (with_energies ? 1u : 0u));  // the lowest energy, or the first
    // Every pick is the farthest (max over the rest of the min RMSD to those kept before it).
    for (std::size_t k = 1; k < s.kept.size(); ++k) {
      const auto nearest = [&](std::size_t c) {
        double d = 1e300;
        for (std::size_t j = 0; j < k; ++j) d = std::min(d, rmsd(pool, s.kept[j], c));
        return d;
      };
      for (std::size_t c = 0; c < pool.conformers.size(); ++c)
        if (std::find(s.kept.begin(), s.kept.begin() + static_cast<std::ptrdiff_t>(k), c) == s.kept.begin() + static_cast<std::ptrdiff_t>(k))
          CHECK(nearest(s.kept[k]) >= nearest(c));
    }
    CHECK(generate::diverse_selector{}.select(m, pool, 4, 2).kept == s.kept);  // any thread count
    // The copy of conformer 1 comes last: it is at distance 0 from its original.
    const auto all = generate::diverse_selector{}.select(m, pool, 7, 2).kept;
    CHECK((all[6] == 6 || all[6] == 1));
  }
  // With a window, conformer 3 (19 kcal/mol above) is taken only once the window is used up.
  const auto windowed = generate::diverse_selector(6.0).select(m, pentanol_pool(m, true), 7, 1);
  CHECK(windowed.outside_window == 1);
  CHECK(windowed.kept.back() == 3u);
  CHECK(windowed.filled == 1);
  CHECK_THROWS_WITH(generate::diverse_selector(6.0).select(m, pentanol_pool(m, false), 2, 1),
                    Catch::Contains("'pentanol'") && Catch::Contains("energy window"));
}

TEST_CASE("select: oversampling, MMFF94 and energy selection on a real molecule", "[select][refine]") {
  const auto m = rdkit::from_smiles("CC(=O)N[C@@H](Cc1ccccc1)C(=O)O", "acetylphenylalanine");
  auto g = generate::etkdg_generator({.seed = 1}).generate(m, 0, 12, 2);
  REQUIRE(g.conformers.size() == 12);
  generate::refine_conformers(generate::mmff_refiner{}, m, g, refine_with(2));
  const auto pool = g;
  const auto s = generate::select_conformers(generate::energy_selector{}, m, g, 4, 2);
  REQUIRE(g.conformers.size() == 4);
  // The lowest pool energy comes first and the kept energies rise.
  double lowest = 1e300;
  for (const auto& info : pool.conformers.info) lowest = std::min(lowest, *info.energy);
  CHECK(*g.conformers.info[0].energy == lowest);
  for (std::size_t c = 1; c < 4; ++c) CHECK(*g.conformers.info[c].energy >= *g.conformers.info[c - 1].energy);
  CHECK(s.pool == 12);
  CHECK(s.kept.size() + s.duplicates + s.outside_window >= 4);
}

TEST_CASE("recommended sampling: a model file's header sets its compensation - malformed or unknown entries are refused",
          "[generate][compensation]") {
  std::map<std::string, std::string> h = {{"model", "torsion-pair-torque"}};
  CHECK_FALSE(generate::recommended_compensation(h, "m.bin").active());
  CHECK(generate::describe(generate::recommended_compensation(h, "m.bin")) == "none");
  h["sampling_sigma_shift_window"] = "4";
  h["sampling_corrector_steps"] = "1";
  h["sampling_corrector_step_size"] = "0.2";
  h["sampling_chosen_on"] = "drugs validation set, docs/results.md";
  const auto c = generate::recommended_compensation(h, "m.bin");
  CHECK(c.shift.window == 4);
  CHECK(c.shift.cutoff == 0.0);
  CHECK(c.corrector.steps == 1);
  CHECK(c.corrector.step_size == 0.2);
  CHECK_FALSE(c.scaling.active());
  CHECK(generate::describe(c) == "corrector steps=1 step-size=0.2; sigma-shift window=4 cutoff=0");
  auto bad = h;
  bad["sampling_sigma_shift_window"] = "four";
  CHECK_THROWS_WITH(generate::recommended_compensation(bad, "m.bin"),
                    Catch::Contains("m.bin") && Catch::Contains("sampling_sigma_shift_window") && Catch::Contains("four"));
  bad = h;
  bad["sampling_sigma_shift_cutoff"] = "-1";
  CHECK_THROWS_WITH(generate::recommended_compensation(bad, "m.bin"), Catch::Contains("m.bin") && Catch::Contains("cutoff"));
  bad = h;
  bad["sampling_churn"] = "1";  // a setting of a later version: refused, not dropped
  CHECK_THROWS_WITH(generate::recommended_compensation(bad, "m.bin"),
                    Catch::Contains("sampling_churn") && Catch::Contains("not a sampling setting"));
  bad = h;
  bad["sampling_particle_guidance"] = "strong";
  CHECK_THROWS_WITH(generate::recommended_compensation(bad, "m.bin"),
                    Catch::Contains("m.bin") && Catch::Contains("strong"));
  bad["sampling_particle_guidance"] = "precision";
  const auto pg = generate::recommended_compensation(bad, "m.bin");
  CHECK(pg.guidance.active());
  CHECK(pg.guidance.invariant);
  CHECK(generate::describe(pg) == "corrector steps=1 step-size=0.2; sigma-shift window=4 cutoff=0; particle-guidance precision");
}

TEST_CASE("generate: each model samples with its own recommended compensation when asked, the options as given when "
          "not", "[generate][compensation]") {
  auto qm9 = train::load_model_file<torsion_net>(model_dir + "/qm9-torsion-ip.bin");
  auto drugs = train::load_model_file<torsion_net>(model_dir + "/drugs-torsion-ip.bin");
  CHECK(generate::recommended_compensation(drugs.header, drugs.path).shift.active());  // the shipped file's own
  drugs.header["sampling_sigma_shift_window"] = "3";  // as if stamped (the shipped file's own entry may differ)
  drugs.header.erase("sampling_particle_guidance");
  qm9.header.erase("sampling_sigma_shift_window");
  const generate::model_set<torsion_net> models({qm9, drugs});
  sample::torus_sampler_options o;
  o.seed = 11;
  const generate::torsion_generator follow(models, o, 20, false, sample::compensation_request{});
  CHECK_FALSE(follow.options(0).shift.active());
  CHECK(follow.options(1).shift.window == 3);
  CHECK_FALSE(follow.options().shift.active());  // the options as given
  sample::compensation_request off;
  off.shift = sample::sigma_shift{};
  const generate::torsion_generator without(models, o, 20, false, off);
  CHECK_FALSE(without.options(1).shift.active());
  const generate::torsion_generator as_given(models, o, 20);  // no request: the options as they are, every model
  CHECK_FALSE(as_given.options(1).shift.active());
  // The drug-sized molecule samples with its model's shift: other conformers than without it, the same with the
  // shift given explicitly.
  const auto large = rdkit::from_smiles("CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)NCCc1ccc(OC)c(OC)c1", "large");
  REQUIRE(models.choose(large) == 1);
  const auto shifted = follow.generate(large, 0, 4, 1);
  CHECK_FALSE(same_conformers(shifted, without.generate(large, 0, 4, 1)));
  auto explicit_options = o;
  explicit_options.shift = {3, 0.0};
  CHECK(same_conformers(shifted, generate::torsion_generator(models, explicit_options, 20).generate(large, 0, 4, 1)));
}
