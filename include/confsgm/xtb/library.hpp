// confsgm/xtb/library.hpp: GFN2-xTB single points through libxtb's C API
// (Debian libxtb-dev), without a subprocess: energy, HOMO-LUMO gap, dipole.
// Needs the confsgm::xtb component (CONFSGM_HAS_XTB).
//
// One calculator per molecule holds the xtb environment, molecule and
// parametrisation; single points then only update coordinates. libxtb 6.5.1
// keeps global Fortran state: two threads computing at once return wrong
// numbers (seen in tests/unit/xtb_test.cpp), so every libxtb call here holds
// one process-wide lock. libxtb's OpenMP threads are pinned per call
// (default 1: spinning OpenMP threads on a busy machine made each single point
// 10x slower). For process-level parallelism use the xtb program (program.hpp). xtb's output is muted; the
// library prints nothing; failures come back as results with a message.
#pragma once

#if !defined(CONFSGM_HAS_XTB)
#error "confsgm/xtb/library.hpp needs the confsgm::xtb CMake component (libxtb-dev; CONFSGM_ENABLE_XTB=ON)"
#endif

#include "confsgm/core/conformer.hpp"
#include "confsgm/core/molecule.hpp"
#include "confsgm/error.hpp"

#include <omp.h>
#include <xtb.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

// Debian's libxtb does its linear algebra in OpenBLAS, whose pthread build keeps a thread per core spinning for
// work; beside other busy processes they take the cores from the calculation (docs/properties.md, "Threads"). The
// calculator sets OpenBLAS to its own thread count. Weak: absent where libxtb uses another BLAS.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace confsgm::xtb {

inline constexpr double bohr_per_angstrom = 1.0 / 0.52917721067;  // xtb's own constant (CODATA 2014)
inline constexpr double ev_per_hartree = 27.211386245988;
inline constexpr double debye_per_au = 2.541746473;

struct singlepoint_result {
  bool ok = false;
  std::string message;          ///< why not, when !ok
  double energy_hartree = 0;
  double homo_lumo_gap_ev = 0;
  double dipole_debye = 0;
};

/// The GFN2-xTB parameter file: $XTBPATH/param_gfn2-xtb.txt when XTBPATH is
/// set (as the xtb program does), else the packaged one (Debian: /usr/share/xtb),
/// else empty (libxtb then searches on its own).
inline std::string parameter_file() {
  namespace fs = std::filesystem;
  if (const char* p = std::getenv("XTBPATH")) {
    std::string dirs = p;
    std::size_t start = 0;
    while (start <= dirs.size()) {
      const auto end = dirs.find(':', start);
      const fs::path f = fs::path(dirs.substr(start, end - start)) / "param_gfn2-xtb.txt";
      if (fs::exists(f)) return f.string();
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  for (const char* dir : {"/usr/share/xtb", "/usr/local/share/xtb"})
    if (fs::exists(fs::path(dir) / "param_gfn2-xtb.txt")) return (fs::path(dir) / "param_gfn2-xtb.txt").string();
  return {};
}

/// GFN2-xTB for one molecule (fixed atoms, charge and spin).
class gfn2_calculator {
 public:
  gfn2_calculator(const molecule_graph& g, int charge = 0, int unpaired = 0, double accuracy = 1.0,
                  int omp_threads = 1)
      : n_(static_cast<int>(g.num_atoms())), name_(g.name()), omp_threads_(omp_threads) {
    if (g.num_atoms() == 0) throw invalid_argument("gfn2_calculator: '" + g.name() + "' has no atoms");
    if (unpaired < 0) throw invalid_argument("gfn2_calculator: unpaired electrons must be >= 0");
    for (const auto& a : g.atoms()) numbers_.push_back(a.atomic_number);
    charge_ = charge;
    uhf_ = unpaired;
    accuracy_ = accuracy;
  }
  ~gfn2_calculator() {
    std::lock_guard lock(library_mutex());
    release();
  }
  /// The lock every libxtb call in this process holds.
  static std::mutex& library_mutex() {
    static std::mutex m;
    return m;
  }
  gfn2_calculator(const gfn2_calculator&) = delete;
  gfn2_calculator& operator=(const gfn2_calculator&) = delete;

  /// Single point at @p xyz (Å, atom order of the molecule).
  template <class Derived>
  singlepoint_result singlepoint(const Eigen::MatrixBase<Derived>& xyz) {
    std::lock_guard lock(library_mutex());
    omp_set_num_threads(omp_threads_ > 0 ? omp_threads_ : 1);
    if (openblas_set_num_threads) openblas_set_num_threads(omp_threads_ > 0 ? omp_threads_ : 1);
    singlepoint_result r;
    if (xyz.rows() != n_ || xyz.cols() != 3)
      throw shape_mismatch("gfn2_calculator::singlepoint(): conformer is " + std::to_string(xyz.rows()) + "x" +
                           std::to_string(xyz.cols()) + ", '" + name_ + "' has " + std::to_string(n_) + " atoms");
    if (!xyz.allFinite()) {
      r.message = "non-finite coordinates";
      return r;
    }
    std::vector<double> pos(3 * static_cast<std::size_t>(n_));
    for (int i = 0; i < n_; ++i)
      for (int k = 0; k < 3; ++k) pos[3 * i + k] = static_cast<double>(xyz(i, k)) * bohr_per_angstrom;
    if (!env_) {
      env_ = xtb_newEnvironment();
      xtb_setVerbosity(env_, XTB_VERBOSITY_MUTED);
      const double q = charge_;
      mol_ = xtb_newMolecule(env_, &n_, numbers_.data(), pos.data(), &q, &uhf_, nullptr, nullptr);
      if (failed(r, "setting up the molecule")) return release_after(r);
      calc_ = xtb_newCalculator();
      std::string params = parameter_file();
      xtb_loadGFN2xTB(env_, mol_, calc_, params.empty() ? nullptr : params.data());
      if (failed(r, ("loading GFN2-xTB parameters" + (params.empty() ? std::string(" (set XTBPATH)")
                                                                     : " from " + params)).c_str()))
        return release_after(r);
      xtb_setAccuracy(env_, calc_, accuracy_);
      res_ = xtb_newResults();
    } else {
      xtb_updateMolecule(env_, mol_, pos.data(), nullptr);
      if (failed(r, "updating the coordinates")) return release_after(r);
    }
    xtb_singlepoint(env_, mol_, calc_, res_);
    if (failed(r, "the single point (SCF)")) return release_after(r);
    xtb_getEnergy(env_, res_, &r.energy_hartree);
    double dip[3] = {0, 0, 0};
    xtb_getDipole(env_, res_, dip);
    r.dipole_debye = std::sqrt(dip[0] * dip[0] + dip[1] * dip[1] + dip[2] * dip[2]) * debye_per_au;
    int nao = 0;
    xtb_getNao(env_, res_, &nao);
    std::vector<double> emo(static_cast<std::size_t>(nao)), focc(static_cast<std::size_t>(nao));
    xtb_getOrbitalEigenvalues(env_, res_, emo.data());
    xtb_getOrbitalOccupations(env_, res_, focc.data());
    if (failed(r, "reading the results")) return release_after(r);
    // HOMO: the highest orbital holding more than half an electron (xtb's Fermi smearing
    // at 300 K leaves closed shells essentially integer); LUMO: the next one.
    int homo = -1;
    for (int k = 0; k < nao; ++k)
      if (focc[k] > 0.5) homo = k;
    if (homo < 0 || homo + 1 >= nao) {
      r.message = "no HOMO/LUMO pair in the orbital occupations";
      return r;
    }
    r.homo_lumo_gap_ev = (emo[homo + 1] - emo[homo]) * ev_per_hartree;
    r.ok = std::isfinite(r.energy_hartree);
    if (!r.ok) r.message = "non-finite energy";
    return r;
  }

 private:
  bool failed(singlepoint_result& r, const char* stage) {
    if (!xtb_checkEnvironment(env_)) return false;
    char buf[512] = {0};
    int len = sizeof buf;
    xtb_getError(env_, buf, &len);
    r.ok = false;
    r.message = std::string("xtb failed in ") + stage + ": " + std::string(buf);
    return true;
  }
  singlepoint_result release_after(singlepoint_result r) {
    release();  // a fresh environment for the next conformer
    return r;
  }
  void release() {
    if (res_) xtb_delResults(&res_);
    if (calc_) xtb_delCalculator(&calc_);
    if (mol_) xtb_delMolecule(&mol_);
    if (env_) xtb_delEnvironment(&env_);
    res_ = nullptr;
    calc_ = nullptr;
    mol_ = nullptr;
    env_ = nullptr;
  }

  int n_ = 0;
  std::string name_;
  int omp_threads_ = 1;
  std::vector<int> numbers_;
  int charge_ = 0, uhf_ = 0;
  double accuracy_ = 1.0;
  xtb_TEnvironment env_ = nullptr;
  xtb_TMolecule mol_ = nullptr;
  xtb_TCalculator calc_ = nullptr;
  xtb_TResults res_ = nullptr;
};

/// Single points of every conformer of @p e, in conformer order.
inline std::vector<singlepoint_result> singlepoints(const ensemble<double>& e, int charge = 0, int unpaired = 0) {
  std::vector<singlepoint_result> out(e.size());
  gfn2_calculator calc(e.graph, charge, unpaired);
  for (std::size_t c = 0; c < e.size(); ++c) out[c] = calc.singlepoint(e.conformers[c]);
  return out;
}

}  // namespace confsgm::xtb
