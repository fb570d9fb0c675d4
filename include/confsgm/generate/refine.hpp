// confsgm/generate/refine.hpp: refinement after any generator. A Refiner
// relaxes one conformer of a molecule (MMFF94/MMFF94s through RDKit, GFN-FF or
// GFN2-xTB through the xtb program); refine_conformers() applies it to every
// conformer a Generator produced, in parallel with per-conformer slots (the
// result does not depend on the thread count), records the final energy and
// its unit, and repeats the input's checks on the relaxed geometry: a
// conformer whose bonds or R/S, E/Z labels changed is reported in its status
// and dropped (or kept, on request), never silently kept.
#pragma once

#include "confsgm/core/connectivity.hpp"
#include "confsgm/rdkit/etkdg.hpp"
#include "confsgm/rdkit/sampled_conformers.hpp"
#include "confsgm/util/parallel.hpp"
#include "confsgm/xtb/program.hpp"

#include <ForceField/ForceField.h>
#include <GraphMol/ForceFieldHelpers/MMFF/AtomTyper.h>
#include <GraphMol/ForceFieldHelpers/MMFF/Builder.h>

#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace confsgm::generate {

/// One relaxed conformer.
struct relaxation {
  coordinates<double> xyz;
  double energy_kcal_mol = 0;  ///< the refiner's energy of the relaxed geometry
  bool converged = true;       ///< false: the iteration cap was reached (the geometry is still written)
};

/// A refiner: relax(molecule, xyz) gives the relaxed conformer (thread-safe: refine_conformers calls it from
/// several threads), and names itself and the unit of its energies. A molecule it cannot treat at all throws
/// (e.g. MMFF94 has no parameters for an element): the whole molecule fails with that reason, the run goes on.
template <class R>
concept Refiner = requires(const R& r, const rdkit::molecule& m, const coordinates<double>& xyz) {
  { r.relax(m, xyz) } -> std::same_as<relaxation>;
  { r.name() } -> std::convertible_to<std::string>;         // e.g. "mmff94", written in the SD records
  { r.energy_unit() } -> std::convertible_to<std::string>;  // e.g. "kcal/mol (MMFF94)"
};

template <class R>
constexpr bool check_refiner() {
  static_assert(requires(const R& r, const rdkit::molecule& m, const coordinates<double>& xyz) { r.relax(m, xyz); },
                "Refiner: needs a const member relax(const rdkit::molecule&, const coordinates<double>&)");
  static_assert(requires(const R& r) { r.name(); r.energy_unit(); },
                "Refiner: needs const members name() and energy_unit()");
  static_assert(Refiner<R>, "Refiner: relax(...) must return generate::relaxation, name() and energy_unit() strings");
  return true;
}

/// RDKit's MMFF94 or MMFF94s (the variant for planar sp2 nitrogens), as chemists run it after ETKDG.
class mmff_refiner {
 public:
  enum class variant { mmff94, mmff94s };
  explicit mmff_refiner(variant v = variant::mmff94, unsigned max_iterations = 2000)
      : variant_(v), max_iterations_(max_iterations) {
    if (max_iterations == 0) throw invalid_argument("mmff_refiner: max_iterations must be > 0");
  }
  std::string name() const { return variant_ == variant::mmff94 ? "mmff94" : "mmff94s"; }
  std::string energy_unit() const { return variant_ == variant::mmff94 ? "kcal/mol (MMFF94)" : "kcal/mol (MMFF94s)"; }

  relaxation relax(const rdkit::molecule& m, const coordinates<double>& xyz) const {
    RDKit::RWMol work(*m.mol);
    work.clearConformers();
    rdkit::set_coordinates(work, xyz);
    RDKit::MMFF::MMFFMolProperties props(work, variant_ == variant::mmff94 ? "MMFF94" : "MMFF94s");
    if (!props.isValid())
      throw chemistry_error("'" + m.id + "': " + (variant_ == variant::mmff94 ? "MMFF94" : "MMFF94s") +
                            " has no parameters for this molecule (an atom it cannot type); relax it with gfnff or "
                            "gfn2 instead");
    std::unique_ptr<ForceFields::ForceField> ff(RDKit::MMFF::constructForceField(work, &props, 100.0, -1, true));
    ff->initialize();
    relaxation r;
    r.converged = ff->minimize(max_iterations_) == 0;
    r.energy_kcal_mol = ff->calcEnergy();
    r.xyz = rdkit::to_coordinates(work);
    return r;
  }

 private:
  variant variant_;
  unsigned max_iterations_;
};

/// GFN-FF or GFN2-xTB optimisation with the xtb program (one process per conformer, options.threads OpenMP
/// threads each), at the molecule's net charge and radical count.
class xtb_refiner {
 public:
  /// A conformer the cycle cap (options.max_cycles) stops is kept with its last geometry and status
  /// "ok (<name> not converged)", as for MMFF94's iteration cap: options.accept_unconverged is set here.
  explicit xtb_refiner(xtb::program_options options = {}) : options_(std::move(options)) {
    options_.accept_unconverged = true;
  }
  std::string name() const { return options_.method == xtb::hamiltonian::gfnff ? "gfnff" : "gfn2"; }
  std::string energy_unit() const { return std::string("kcal/mol (") + xtb::hamiltonian_name(options_.method) + ")"; }
  const xtb::program_options& options() const { return options_; }

  relaxation relax(const rdkit::molecule& m, const coordinates<double>& xyz) const {
    const auto out = xtb::optimize(m.graph, xyz, m.graph.net_charge(), rdkit::unpaired_electrons(*m.mol), options_);
    if (!out.ok) throw error("'" + m.id + "': " + xtb::hamiltonian_name(options_.method) + " optimisation failed: " + out.message);
    return {out.xyz, out.energy_hartree * hartree_in_kcal_mol, out.converged};
  }

  static constexpr double hartree_in_kcal_mol = 627.509474;

 private:
  xtb::program_options options_;
};

static_assert(check_refiner<mmff_refiner>());
static_assert(check_refiner<xtb_refiner>());

struct refine_options {
  unsigned threads = 1;            ///< conformers relaxed at once (0 = all cores); results do not depend on it
  bool keep_changed = false;       ///< keep conformers whose bonds or stereo changed (status says so); default drop
  connectivity_options connectivity;
};

/// What refinement did to one molecule's conformers.
struct refine_report {
  std::size_t relaxed = 0;          ///< conformers relaxed
  std::size_t not_converged = 0;    ///< of those, stopped at the iteration cap
  std::size_t bonds_changed = 0;    ///< conformers whose bonds changed (dropped unless keep_changed)
  std::size_t stereo_changed = 0;   ///< conformers whose R/S or E/Z labels changed (dropped unless keep_changed)
  std::vector<std::string> problems;  ///< "<title>: <what changed>", one per changed conformer
};

/// Relaxes every conformer of @p g (a Generator's output for @p m) with @p refiner, in place. A conformer that
/// already had a stereo problem before refinement keeps its status (it is not counted as changed).
template <Refiner R>
refine_report refine_conformers(const R& refiner, const rdkit::molecule& m, rdkit::generated_conformers& g,
                                const refine_options& o = {}) {
  refine_report report;
  const std::size_t n = g.conformers.size();
  std::vector<relaxation> relaxed(n);
  std::vector<std::string> failure(n);
  parallel_for(n, o.threads, [&](std::size_t c) {
    try {
      relaxed[c] = refiner.relax(m, coordinates<double>(g.conformers.conformers[c]));
    } catch (const std::exception& e) {
      failure[c] = e.what();
    }
  });
  for (std::size_t c = 0; c < n; ++c)  // the first failure in conformer order, whatever the threads did
    if (!failure[c].empty()) throw error(failure[c]);

  rdkit::stereo_check stereo(m);
  auto out = ensemble<double>(g.conformers.id, g.conformers.graph);
  for (std::size_t c = 0; c < n; ++c) {
    auto info = g.conformers.info[c];
    const coordinates<double> before = g.conformers.conformers[c];
    const auto& r = relaxed[c];
    ++report.relaxed;
    report.not_converged += !r.converged;
    info.energy = r.energy_kcal_mol;
    const bool had_stereo_problem = info.status.rfind("stereo", 0) == 0;
    std::string changed;
    if (const auto bonds = topology_change(m.graph, r.xyz, o.connectivity, &before); !bonds.empty()) {
      ++report.bonds_changed;
      changed = "bonds changed in " + refiner.name() + " relaxation: " + bonds;
    } else if (!had_stereo_problem) {
      if (const auto st = stereo.problem(r.xyz); !st.empty()) {
        ++report.stereo_changed;
        changed = "stereo changed in " + refiner.name() + " relaxation: " + st;
      }
    }
    if (!changed.empty()) {
      report.problems.push_back(info.title + ": " + changed);
      if (!o.keep_changed) continue;
      info.status = changed;
    } else if (!r.converged && info.status.rfind("ok", 0) == 0) {
      info.status = "ok (" + refiner.name() + " not converged)";
    }
    out.add(r.xyz, std::move(info));
  }
  g.conformers = std::move(out);
  g.embedded = g.conformers.size();
  g.energy_unit = refiner.energy_unit();
  return report;
}

}  // namespace confsgm::generate
