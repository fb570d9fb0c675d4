// The shipped data sets (data/): the split lists are disjoint from the test
// molecules, and every built set loads through the library's SDF reader with
// the counts its manifest states.
#include <catch2/catch.hpp>

#include <confsgm/rdkit/sdf.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

using namespace confsgm;
namespace fs = std::filesystem;

namespace {
const fs::path data_dir = CONFSGM_DATA_DIR;

struct keys {
  std::set<std::string> isomeric, flat;
};

keys keys_of(const std::vector<std::string>& smiles) {
  keys k;
  for (const auto& s : smiles) {
    const auto m = rdkit::from_smiles(s, "");
    k.isomeric.insert(rdkit::canonical_smiles(*m.mol, true));
    k.flat.insert(rdkit::canonical_smiles(*m.mol, false));
  }
  return k;
}

std::vector<std::string> split_smiles(const std::string& name) {
  const auto r = rdkit::read_smiles_file((data_dir / "splits" / (name + ".csv")).string());
  INFO(name);
  REQUIRE(r.errors.empty());
  std::vector<std::string> out;
  for (const auto& m : r.molecules) out.push_back(m.smiles);
  return out;
}

long manifest_count(const std::string& text, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\"" + key + "\": ([0-9]+)"))) return -1;
  return std::stol(m[1]);
}
}  // namespace

TEST_CASE("data splits: no test molecule, with or without stereo, is in train or val", "[shipped]") {
  for (const std::string family : {"qm9", "drugs"}) {
    const auto test = keys_of(split_smiles(family + "_test"));
    for (const std::string split : {"train", "val"}) {
      const auto smiles = split_smiles(family + "_" + split);
      const auto k = keys_of(smiles);
      INFO(family << "_" << split);
      CHECK(k.isomeric.size() == smiles.size());  // no duplicates within a split
      for (const auto& s : k.isomeric) CHECK(test.isomeric.count(s) == 0);
      for (const auto& s : k.flat) CHECK(test.flat.count(s) == 0);
    }
    const auto train = keys_of(split_smiles(family + "_train"));
    for (const auto& s : keys_of(split_smiles(family + "_val")).isomeric) CHECK(train.isomeric.count(s) == 0);
  }
}

TEST_CASE("data splits: the large Drugs training list holds no test or val molecule and starts with Drugs train",
          "[shipped]") {
  const auto large = split_smiles("drugs_train_large");
  const auto train = split_smiles("drugs_train");
  REQUIRE(large.size() >= train.size());
  CHECK(std::equal(train.begin(), train.end(), large.begin()));  // nested: any prefix is a training set
  const auto k = keys_of(large);
  CHECK(k.isomeric.size() == large.size());  // no duplicates
  // Held out with and without stereo: the Drugs test and val molecules (make_splits.py also holds out the whole
  // GEOM-Drugs test list, and the pool was cleaned of it before).
  auto held_out = split_smiles("drugs_val");
  for (auto& s : split_smiles("drugs_test")) held_out.push_back(std::move(s));
  const auto out = keys_of(held_out);
  std::size_t leaks = 0;
  for (const auto& s : k.isomeric) leaks += out.isomeric.count(s);
  for (const auto& s : k.flat) leaks += out.flat.count(s);
  CHECK(leaks == 0);
}

TEST_CASE("data sets: every built set loads and matches its manifest - built stereo keeps test molecules out",
          "[shipped]") {
  std::size_t checked = 0;
  for (const std::string family : {"qm9", "drugs"}) {
    const auto test = keys_of(split_smiles(family + "_test"));
    for (const std::string split : {"train", "val", "test"}) {
      const auto manifest_path = data_dir / family / (split + ".manifest.json");
      if (!fs::exists(manifest_path)) continue;  // not built yet (data/build_all.sh)
      INFO(manifest_path.string());
      std::ifstream in(manifest_path);
      const std::string manifest((std::istreambuf_iterator<char>(in)), {});
      const auto r = rdkit::read_sdf((data_dir / family / (split + ".sdf.gz")).string());
      CHECK(r.errors.empty());
      CHECK(r.dropped.empty());
      CHECK(static_cast<long>(r.molecules.size()) == manifest_count(manifest, "molecules_ok"));
      CHECK(static_cast<long>(r.n_records) == manifest_count(manifest, "conformers"));
      // Every listed molecule has a status row.
      std::ifstream st(data_dir / family / (split + ".status.tsv"));
      std::size_t rows = 0;
      for (std::string line; std::getline(st, line);) rows += !line.empty();
      CHECK(static_cast<long>(rows - 1) == manifest_count(manifest, "molecules_listed"));
      if (split != "test") {
        for (const auto& m : r.molecules) {
          const auto s = m.data.info.front().property("stereo_smiles");
          REQUIRE(s);
          const auto k = keys_of({*s});
          CHECK(test.isomeric.count(*k.isomeric.begin()) == 0);
          CHECK(test.flat.count(*k.flat.begin()) == 0);
        }
      }
      ++checked;
    }
  }
  WARN(checked << " built data sets checked");
}

TEST_CASE("data sets: every finished shard of the large Drugs set loads on its own - built stereo keeps test and "
          "val molecules out", "[shipped]") {
  const auto shards = data_dir / "drugs" / "train_large";
  if (!fs::exists(shards)) return;  // not started (data/build_drugs_large.sh)
  auto held_out = split_smiles("drugs_val");
  for (auto& s : split_smiles("drugs_test")) held_out.push_back(std::move(s));
  const auto out = keys_of(held_out);
  std::vector<fs::path> manifests;
  for (const auto& e : fs::directory_iterator(shards))
    if (e.path().string().ends_with(".manifest.json")) manifests.push_back(e.path());
  std::sort(manifests.begin(), manifests.end());
  std::set<std::string> ids;
  for (const auto& manifest_path : manifests) {
    INFO(manifest_path.string());
    const auto base = manifest_path.string().substr(0, manifest_path.string().size() - std::string(".manifest.json").size());
    std::ifstream in(manifest_path);
    const std::string manifest((std::istreambuf_iterator<char>(in)), {});
    const auto r = rdkit::read_sdf(base + ".sdf.gz");
    CHECK(r.errors.empty());
    CHECK(r.dropped.empty());
    CHECK(static_cast<long>(r.molecules.size()) == manifest_count(manifest, "molecules_ok"));
    CHECK(static_cast<long>(r.n_records) == manifest_count(manifest, "conformers"));
    for (const auto& m : r.molecules) {
      CHECK(ids.insert(m.data.id).second);  // no molecule in two shards
      const auto st = m.data.info.front().property("stereo_smiles");
      REQUIRE(st);
      const auto k = keys_of({*st});
      CHECK(out.isomeric.count(*k.isomeric.begin()) == 0);
      CHECK(out.flat.count(*k.flat.begin()) == 0);
    }
  }
  WARN(manifests.size() << " shards of the large Drugs set checked");
}
