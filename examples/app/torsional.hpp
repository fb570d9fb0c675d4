// The reference application's torsion-space model (Torsional Diffusion
// family): model files, ETKDG local structures, conformer matching of the
// training data, and sampling glue.
#pragma once

#include <confsgm/core/conformer_matching.hpp>
#include <confsgm/model/torsion_score_network.hpp>
#include <confsgm/rdkit/etkdg.hpp>
#include <confsgm/rdkit/sdf.hpp>
#include <confsgm/sample/torus_sampler.hpp>
#include <confsgm/train/model_file.hpp>
#include <confsgm/train/trainer.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace app {

using torsional_network = confsgm::model::torsion_score_network<float>;

inline std::string rule_name(confsgm::rotatable_rule r) {
  return r == confsgm::rotatable_rule::stereo_safe ? "stereo-safe" : "reference";
}
inline confsgm::rotatable_rule parse_rule(const std::string& s) {
  if (s == "stereo-safe") return confsgm::rotatable_rule::stereo_safe;
  if (s == "reference") return confsgm::rotatable_rule::reference;
  throw confsgm::invalid_argument("rotatable-bond rule must be stereo-safe or reference, got '" + s + "'");
}

/// A trained torsion model read from a model file.
struct torsional_model {
  torsional_network network;
  confsgm::model::parameter_vector<float> parameters;
  double sigma_max = 3.14, sigma_min = 0.0314;
  confsgm::rotatable_rule rule = confsgm::rotatable_rule::stereo_safe;
  std::map<std::string, std::string> header;
};

inline torsional_model load_torsional_model(const std::string& path) {
  auto f = confsgm::train::load_model_file<torsional_network>(path);
  const double sigma_max = f.number("sigma_max"), sigma_min = f.number("sigma_min");
  const auto rule = parse_rule(f.at("rotatable_rule"));
  return {std::move(f.network), std::move(f.parameters), sigma_max, sigma_min, rule, std::move(f.header)};
}

/// A positive RDKit seed (1 .. 2^31 - 1) for molecule @p k of a run seeded with @p seed: RDKit takes an int.
inline std::uint32_t molecule_seed(std::uint64_t seed, std::size_t k) {
  return static_cast<std::uint32_t>((seed + 7u * static_cast<std::uint64_t>(k)) % 2147483646u) + 1u;
}

/// @p n ETKDG local structures of @p m (fewer if RDKit embeds fewer; stereo-wrong ones left out).
inline std::vector<confsgm::torsion_structure> local_structures(const confsgm::rdkit::molecule& m, std::size_t n,
                                                                std::uint32_t seed, confsgm::rotatable_rule rule,
                                                                std::size_t* stereo_rejected = nullptr) {
  confsgm::rdkit::etkdg_options eo;
  eo.seed = seed;
  eo.threads = 1;
  const auto r = confsgm::rdkit::generate_etkdg(m, n, eo);
  std::vector<confsgm::torsion_structure> out;
  for (std::size_t k = 0; k < r.conformers.size(); ++k) {
    if (r.conformers.info[k].status != "ok") {
      if (stereo_rejected) ++*stereo_rejected;
      continue;
    }
    out.push_back(confsgm::torsion_space::describe(m.graph, r.conformers.conformers[k], rule));
  }
  return out;
}

/// Per-conformer record of conformer matching (reported in docs/).
struct matching_record {
  std::string id;
  std::size_t conformer;
  double start_rmsd, rmsd, heavy_rmsd;
};

struct torsion_data {
  confsgm::train::training_set<confsgm::torsion_space> set;
  std::vector<matching_record> matching;
  std::vector<std::string> notes;  ///< molecules left out, and why
};

/// Training data by conformer matching (reference-spec §2.1): the first @p per_mol
/// conformers of each molecule, each matched onto its own ETKDG local structure.
/// With @p already_matched the conformers are their own local structures (files
/// written by `confsgm match`): no embedding, no matching.
inline torsion_data torsion_training_data(const std::vector<confsgm::rdkit::sdf_molecule>& mols, std::size_t per_mol,
                                          std::uint32_t seed, confsgm::rotatable_rule rule, unsigned threads,
                                          bool already_matched = false) {
  struct slot {
    std::vector<std::vector<double>> clean;
    std::vector<confsgm::torsion_structure> structures;
    std::vector<matching_record> matching;
    std::string note;
  };
  std::vector<slot> slots(mols.size());
  confsgm::parallel_for(mols.size(), threads, [&](std::size_t k) {
    const auto& sm = mols[k];
    auto& out = slots[k];
    try {
      const auto& e = sm.data;
      const auto n = std::min(per_mol, e.size());
      if (n == 0) {
        out.note = "no conformer";
        return;
      }
      if (confsgm::rotatable_bonds(e.graph, rule).empty()) {
        out.note = "no rotatable bond (" + rule_name(rule) + " rule)";
        return;
      }
      if (already_matched) {
        for (std::size_t c = 0; c < n; ++c) {
          auto st = confsgm::torsion_space::describe(e.graph, e.conformers[c], rule);
          out.clean.push_back(st.local_torsions);
          out.structures.push_back(std::move(st));
        }
        return;
      }
      confsgm::rdkit::molecule m;
      m.id = e.id;
      m.mol = sm.mol;
      m.graph = e.graph;
      // Molecule-specific seeds keep the result independent of the order threads take molecules in.
      const auto local = local_structures(m, n, molecule_seed(seed, k), rule);
      if (local.empty()) {
        out.note = "ETKDG produced no usable local structure";
        return;
      }
      for (std::size_t c = 0; c < n; ++c) {
        const auto& s = local[c % local.size()];
        const auto match = confsgm::match_torsions(s, e.conformers[c]);
        out.clean.push_back(match.torsions);
        out.structures.push_back(s);
        out.matching.push_back({e.id, c, match.start_rmsd, match.rmsd, match.heavy_rmsd});
      }
    } catch (const std::exception& ex) {
      out.note = ex.what();
      out.clean.clear();
      out.structures.clear();
      out.matching.clear();
    }
  });
  torsion_data d;
  for (std::size_t k = 0; k < mols.size(); ++k) {
    auto& s = slots[k];
    if (s.clean.empty()) {
      d.notes.push_back(mols[k].data.id + ": left out of torsion training: " + s.note);
      continue;
    }
    d.set.ids.push_back(mols[k].data.id);
    d.set.structures.push_back(s.structures.front());
    d.set.clean.push_back(std::move(s.clean));
    d.set.conformer_structures.push_back(std::move(s.structures));
    d.matching.insert(d.matching.end(), s.matching.begin(), s.matching.end());
  }
  return d;
}

inline void write_matching(const std::string& path, const std::vector<matching_record>& rows) {
  std::ofstream f(path);
  if (!f) throw confsgm::io_error(path, std::nullopt, std::nullopt, "cannot open for writing");
  f << "mol_id\tconformer\tstart_rmsd\trmsd\theavy_rmsd\n";
  for (const auto& r : rows)
    f << r.id << "\t" << r.conformer << "\t" << r.start_rmsd << "\t" << r.rmsd << "\t" << r.heavy_rmsd << "\n";
}

}  // namespace app
