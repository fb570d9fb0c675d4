// Shared fixtures for the unit tests.
#pragma once
#include <confsgm/confsgm.hpp>

#include <barrier>
#include <random>
#include <string>
#include <vector>

namespace test_support {

/// An in-process stand-in for MPI: ranks are threads, all_gather meets at a barrier (models train::Collective).
struct thread_group {
  struct shared {
    explicit shared(int n) : sync(n), slots(static_cast<std::size_t>(n)) {}
    std::barrier<> sync;
    std::vector<std::string> slots;
  };
  shared* s;
  int r, n;
  int rank() const { return r; }
  int size() const { return n; }
  std::vector<std::string> all_gather(const std::string& bytes) const {
    s->slots[static_cast<std::size_t>(r)] = bytes;
    s->sync.arrive_and_wait();
    auto all = s->slots;
    s->sync.arrive_and_wait();  // nobody overwrites a slot before every rank has copied them
    return all;
  }
};
static_assert(confsgm::train::Collective<thread_group>);

/// max |a - b| / max(|a|, |b|, floor) over the vector, as a relative error.
template <class A, class B>
double relative_error(const A& a, const B& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += a[i] * a[i] + b[i] * b[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

/// Central differences of f over every entry of @p x.
template <class V, class F>
std::vector<double> numeric_gradient(V& x, F&& f, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double fp = f();
    x[i] = keep - h;
    const double fm = f();
    x[i] = keep;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}


/// Random rotation matrix (uniform via QR of a Gaussian matrix, det fixed to +1).
inline Eigen::Matrix3d random_rotation(std::mt19937_64& rng) {
  std::normal_distribution<double> n;
  Eigen::Matrix3d m;
  for (int i = 0; i < 9; ++i) m.data()[i] = n(rng);
  Eigen::HouseholderQR<Eigen::Matrix3d> qr(m);
  Eigen::Matrix3d q = qr.householderQ();
  if (q.determinant() < 0) q.col(0) *= -1;
  return q;
}

inline confsgm::coordinates<double> random_points(std::size_t n, std::mt19937_64& rng, double scale = 3.0) {
  std::normal_distribution<double> g(0.0, scale);
  confsgm::coordinates<double> x(static_cast<Eigen::Index>(n), 3);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = g(rng);
  return x;
}

/// Heavy-atom-only graph from a tiny edge list (all carbons, single bonds).
inline confsgm::molecule_graph carbon_graph(std::size_t n, std::initializer_list<std::pair<int, int>> edges,
                                            confsgm::bond_type type = confsgm::bond_type::single) {
  confsgm::molecule_graph g("test");
  for (std::size_t i = 0; i < n; ++i) g.add_atom({.atomic_number = 6});
  for (auto [a, b] : edges)
    g.add_bond({.begin = static_cast<std::uint32_t>(a), .end = static_cast<std::uint32_t>(b), .type = type});
  return g;
}

/// Butan-2-ol with explicit hydrogens: heavy atoms C1 C2 C3 C4 O5, then the hydrogens.
inline confsgm::molecule_graph butanol_graph() {
  confsgm::molecule_graph g("butan-2-ol");
  for (unsigned z : {6u, 6u, 6u, 6u, 8u}) g.add_atom({.atomic_number = static_cast<std::uint8_t>(z)});
  for (auto [a, b] : {std::pair{0, 1}, {1, 2}, {2, 3}, {1, 4}})
    g.add_bond({.begin = static_cast<std::uint32_t>(a), .end = static_cast<std::uint32_t>(b)});
  const int hs[][2] = {{0, 3}, {1, 1}, {2, 2}, {3, 3}, {4, 1}};
  for (auto [heavy, count] : hs)
    for (int k = 0; k < count; ++k) {
      g.add_atom({.atomic_number = 1});
      g.add_bond({.begin = static_cast<std::uint32_t>(heavy), .end = static_cast<std::uint32_t>(g.num_atoms() - 1)});
    }
  return g;
}

}  // namespace test_support
