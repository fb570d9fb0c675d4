// Molecule graph, extended graph, conformer storage and graph symmetry.
#include <catch2/catch.hpp>

#include "support.hpp"

#include <confsgm/util/atomic_file.hpp>
#include <confsgm/util/deal.hpp>
#include <confsgm/util/output_lock.hpp>
#include <confsgm/util/wire.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

using namespace confsgm;
using test_support::carbon_graph;

TEST_CASE("molecule_graph rejects impossible atoms and bonds with a sentence", "[core][molecule]") {
  molecule_graph g("m");
  g.add_atom({.atomic_number = 6});
  g.add_atom({.atomic_number = 8});
  CHECK_THROWS_WITH(g.add_atom({.atomic_number = 0}), Catch::Contains("not an element"));
  CHECK_THROWS_WITH(g.add_bond({.begin = 0, .end = 5}), Catch::Contains("beyond the 2 atoms"));
  CHECK_THROWS_WITH(g.add_bond({.begin = 1, .end = 1}), Catch::Contains("bonded to itself"));
  g.add_bond({.begin = 0, .end = 1});
  CHECK_THROWS_WITH(g.add_bond({.begin = 1, .end = 0}), Catch::Contains("bonded twice"));
  CHECK(g.bond_between(1, 0).has_value());
  CHECK_FALSE(g.bond_between(0, 0).has_value());
}

TEST_CASE("fragments, heavy atoms and formula", "[core][molecule]") {
  // ethanol with explicit H plus a separate water: C2H6O + H2O
  molecule_graph g("ethanol+water");
  const std::uint8_t z[] = {6, 6, 8, 1, 1, 1, 1, 1, 1, 8, 1, 1};
  for (auto a : z) g.add_atom({.atomic_number = a});
  for (auto [a, b] : std::initializer_list<std::pair<int, int>>{{0, 1}, {1, 2}, {0, 3}, {0, 4}, {0, 5}, {1, 6}, {1, 7}, {2, 8}, {9, 10}, {9, 11}})
    g.add_bond({.begin = static_cast<std::uint32_t>(a), .end = static_cast<std::uint32_t>(b)});
  CHECK(g.num_fragments() == 2);
  CHECK(g.num_heavy_atoms() == 4);
  CHECK(g.heavy_atoms() == std::vector<std::uint32_t>{0, 1, 2, 9});
  CHECK(g.formula() == "C2H8O2");
  g.atom_at(2).formal_charge = -1;
  CHECK(g.formula() == "C2H8O2-");
}

TEST_CASE("extended graph: bonds plus 2- and 3-hop edges, typed", "[core][extended_graph]") {
  // n-hexane carbon chain: 5 bonds, 4 two-hop, 3 three-hop pairs
  const auto g = carbon_graph(6, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}});
  const extended_graph eg(g);
  CHECK(eg.count_hops(1) == 5);
  CHECK(eg.count_hops(2) == 4);
  CHECK(eg.count_hops(3) == 3);
  CHECK(eg.num_edges() == 12);
  CHECK(eg.num_edge_types() == num_bond_types + 2);
  for (const auto& e : eg.edges()) {
    CHECK(e.i < e.j);
    CHECK(static_cast<int>(e.j - e.i) == e.hops);  // chain: hop count is index distance
    if (e.hops == 1) CHECK(e.type == static_cast<int>(bond_type::single));
    else CHECK(e.type == num_bond_types + e.hops - 2);
  }
  // In a ring the shortest path decides: benzene has 6 bonds, 6 two-hop, 3 three-hop (para) pairs.
  const auto ring = carbon_graph(6, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 0}}, bond_type::aromatic);
  const extended_graph er(ring);
  CHECK(er.count_hops(1) == 6);
  CHECK(er.count_hops(2) == 6);
  CHECK(er.count_hops(3) == 3);
  CHECK(extended_graph(ring, 1).num_edges() == 6);
  CHECK_THROWS_AS(extended_graph(ring, 0), invalid_argument);
}

TEST_CASE("conformer_batch stores N x 3 conformers contiguously", "[core][conformer]") {
  conformer_batch<float> b(4);
  coordinates<double> x = coordinates<double>::Random(4, 3);
  b.push_back(x);
  b.push_back(2.0 * x);
  REQUIRE(b.size() == 2);
  CHECK(b[1](3, 2) == Approx(2.0 * x(3, 2)).epsilon(1e-6));
  CHECK(b.data()[3 * 4] == static_cast<float>(2.0 * x(0, 0)));  // conformer-major layout
  CHECK_THROWS_AS(b.push_back(coordinates<double>::Zero(5, 3)), shape_mismatch);
  CHECK_THROWS_AS(b.at(2), invalid_argument);
  const auto d = b.cast<double>();
  CHECK(d.size() == 2);
  b[0](0, 0) = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(b.is_finite(0));
  CHECK(b.is_finite(1));
}

TEST_CASE("automorphism counts of textbook graphs", "[core][graph_match]") {
  auto count = [](const molecule_graph& g) {
    const symmetric_rmsd s(g, {.symmetrize_conjugated_terminal_groups = false});
    return s.num_automorphisms();
  };
  CHECK(count(carbon_graph(6, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 0}}, bond_type::aromatic)) == 12);
  CHECK(count(carbon_graph(5, {{0, 1}, {0, 2}, {0, 3}, {0, 4}})) == 24);  // neopentane skeleton
  CHECK(count(carbon_graph(4, {{0, 1}, {1, 2}, {2, 3}})) == 2);           // butane
  // Kekulé benzene keeps only the symmetries that map double bonds to double bonds.
  molecule_graph kek = carbon_graph(6, {});
  for (std::uint32_t i = 0; i < 6; ++i)
    kek.add_bond({.begin = i, .end = (i + 1) % 6, .type = i % 2 ? bond_type::single : bond_type::double_});
  CHECK(count(kek) == 6);
  // Two disconnected identical fragments can also be swapped.
  CHECK(count(carbon_graph(4, {{0, 1}, {2, 3}})) == 8);
}

TEST_CASE("isomorphism maps a shuffled atom order back", "[core][graph_match]") {
  // isobutanol heavy atoms: C0-C1(-C2)-C3-O4
  molecule_graph a("a");
  for (std::uint8_t z : {6, 6, 6, 6, 8}) a.add_atom({.atomic_number = z});
  for (auto [x, y] : std::initializer_list<std::pair<int, int>>{{0, 1}, {1, 2}, {1, 3}, {3, 4}})
    a.add_bond({.begin = static_cast<std::uint32_t>(x), .end = static_cast<std::uint32_t>(y)});
  const std::vector<std::uint32_t> perm = {4, 2, 0, 3, 1};  // atom i of a is atom perm[i] of b
  molecule_graph b("b");
  std::vector<std::uint8_t> zb(5);
  for (int i = 0; i < 5; ++i) zb[perm[i]] = a.atom_at(i).atomic_number;
  for (auto z : zb) b.add_atom({.atomic_number = z});
  for (const auto& bd : a.bonds()) b.add_bond({.begin = perm[bd.begin], .end = perm[bd.end]});
  const auto m = constitution_map(a, b);
  REQUIRE(m.has_value());
  for (int i = 0; i < 5; ++i) CHECK(b.atom_at((*m)[i]).atomic_number == a.atom_at(i).atomic_number);
  for (const auto& bd : a.bonds()) CHECK(b.bond_between((*m)[bd.begin], (*m)[bd.end]).has_value());
  b.atom_at(perm[4]).formal_charge = -1;  // now the constitutions differ
  CHECK_FALSE(constitution_map(a, b).has_value());
}

TEST_CASE("automorphism search honours its cap", "[core][graph_match]") {
  // 8 isolated carbons: 8! = 40320 automorphisms
  const auto g = carbon_graph(8, {});
  bool truncated = false;
  const auto autos = automorphisms(
      [&] {
        labelled_graph lg;
        for (std::size_t i = 0; i < g.num_atoms(); ++i) lg.add_vertex(6);
        return lg;
      }(),
      1000, &truncated);
  CHECK(autos.size() == 1000 * 8);
  CHECK(truncated);
  // Truncation is exact: a group of exactly the cap's size is complete.
  labelled_graph ring;
  for (int i = 0; i < 6; ++i) ring.add_vertex(6);
  for (std::uint32_t i = 0; i < 6; ++i) ring.add_edge(i, (i + 1) % 6, 3);
  CHECK(automorphisms(ring, 12, &truncated).size() == 12 * 6);
  CHECK_FALSE(truncated);
  CHECK(automorphisms(ring, 11, &truncated).size() == 11 * 6);
  CHECK(truncated);
}

TEST_CASE("output guards: an output that is an input, a missing folder, and a second writer are refused", "[core][io]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "confsgm_output_guard_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string input = (dir / "in.sdf").string(), output = (dir / "out.sdf").string();
  { std::ofstream(input) << "x\n"; }
  CHECK_NOTHROW(util::check_output_path(output, {input}));
  CHECK_THROWS_WITH(util::check_output_path((dir / "." / "in.sdf").string(), {input}), Catch::Contains("is the input"));
  CHECK_THROWS_WITH(util::check_output_path((dir / "nowhere" / "o.sdf").string(), {}), Catch::Contains("does not exist"));
  CHECK_THROWS_WITH(util::output_guard({output}, {(dir / "missing.sdf").string()}), Catch::Contains("missing.sdf: no such file"));
  CHECK_THROWS_WITH(util::output_guard({output, (dir / "." / "out.sdf").string()}, {input}),
                    Catch::Contains("the same file is given for two outputs"));
  {
    const util::output_lock first(output);
    CHECK(fs::exists(first.path()));
    // Another open file description, as another process would have: refused, naming the holder.
    CHECK_THROWS_WITH(util::output_lock(output), Catch::Contains("another process (pid ") &&
                                                     Catch::Contains("is writing this output"));
  }
  CHECK_FALSE(fs::exists(output + ".lock"));  // released and removed
  { std::ofstream(output + ".lock") << "12345\n"; }  // left by a killed run: holds no lock
  CHECK_NOTHROW(util::output_lock(output));
  util::write_file_atomically(output, "new\n");
  std::ifstream back(output);
  CHECK(std::string((std::istreambuf_iterator<char>(back)), {}) == "new\n");
  CHECK_FALSE(fs::exists(output + ".partial"));
  fs::remove_all(dir);
}

TEST_CASE("deal_by_cost balances the workers and deals the same way every time", "[util][deal]") {
  using confsgm::util::deal_by_cost;
  using confsgm::util::items_of;
  // Longest first: 9 -> w0, 7 -> w1, 6 -> w2, 5 -> w2 (load 6 is least), 4 -> w1 (7), 3 -> w0 (9)...
  const std::vector<std::uint64_t> cost = {3, 9, 4, 7, 5, 6};
  const auto owner = deal_by_cost(cost, 3);
  CHECK(owner == std::vector<unsigned>{0, 0, 1, 1, 2, 2});
  std::vector<std::uint64_t> load(3, 0);
  for (std::size_t i = 0; i < cost.size(); ++i) load[owner[i]] += cost[i];
  CHECK(load == std::vector<std::uint64_t>{12, 11, 11});
  CHECK(items_of(owner, 1) == std::vector<std::size_t>{2, 3});
  // Equal costs go round in index order; one worker takes everything; more workers than items leaves some idle.
  CHECK(deal_by_cost({1, 1, 1, 1}, 2) == std::vector<unsigned>{0, 1, 0, 1});
  CHECK(deal_by_cost({5, 2, 8}, 1) == std::vector<unsigned>{0, 0, 0});
  CHECK(items_of(deal_by_cost({5, 2}, 4), 3).empty());
  CHECK(deal_by_cost({}, 2).empty());
  // Costs near the top of the range saturate instead of wrapping round to a small load.
  const auto big = deal_by_cost({UINT64_MAX, UINT64_MAX, 1, 1}, 2);
  CHECK(big[0] != big[1]);
  CHECK_THROWS_AS(deal_by_cost({1}, 0), confsgm::invalid_argument);
  // Within 4/3 of the best finish time on a larger, uneven list (every worker computes the same deal).
  std::vector<std::uint64_t> many;
  for (std::uint64_t i = 0; i < 1000; ++i) many.push_back(1 + (i * 7919) % 613);
  const auto dealt = deal_by_cost(many, 7);
  CHECK(dealt == deal_by_cost(many, 7));
  std::vector<std::uint64_t> loads(7, 0);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < many.size(); ++i) loads[dealt[i]] += many[i], total += many[i];
  const auto [lo, hi] = std::minmax_element(loads.begin(), loads.end());
  CHECK(*hi - *lo <= 613);  // LPT: the loads differ by at most the largest cost
  CHECK(static_cast<double>(*hi) <= 4.0 / 3.0 * static_cast<double>(total) / 7.0 + 613);
}

TEST_CASE("wire: numbers travel bit for bit, strings and arrays with their length - a short or lying message is an "
          "error naming its reader",
          "[core][wire]") {
  util::wire_writer w;
  const std::vector<double> v = {0.1, -0.0, std::numeric_limits<double>::denorm_min(), 1e308};
  const float f[3] = {1.5f, -2.25f, 3e-38f};
  w.u64(42), w.f64(1.0 / 3.0), w.str(std::string("a\0b", 3)), w.f64s(v), w.values(f, 3), w.str("");
  util::wire_reader r(w.bytes(), "test");
  CHECK(r.u64() == 42);
  CHECK(r.f64() == 1.0 / 3.0);
  CHECK(r.str() == std::string("a\0b", 3));
  const auto back = r.f64s();
  REQUIRE(back.size() == v.size());
  CHECK(std::memcmp(back.data(), v.data(), v.size() * sizeof(double)) == 0);  // -0.0 and the denormal too
  float g[3];
  r.values(g, 3);
  CHECK(std::memcmp(g, f, sizeof f) == 0);
  CHECK(r.str().empty());
  CHECK(r.done());
  CHECK_THROWS_WITH(r.u64(), Catch::Contains("test: a rank's message ends early"));
  // A count larger than what is left (n * 8 would wrap around to a small number) is refused, not allocated.
  util::wire_writer lying;
  lying.u64(std::uint64_t(1) << 61);
  util::wire_reader l(lying.bytes(), "liar");
  CHECK_THROWS_WITH(l.f64s(), Catch::Contains("liar: a rank's message ends early"));
  // clear() empties the message for reuse.
  w.clear();
  CHECK(w.bytes().empty());
}
