// The reference application's torsion-space model (Torsional Diffusion
// family): model files, ETKDG local structures, conformer matching of the
// training data, and sampling glue.
#pragma once

#include <confsgm/model/torsion_score_network.hpp>
#include <confsgm/rdkit/torsion_data.hpp>
#include <confsgm/sample/torus_sampler.hpp>
#include <confsgm/train/model_file.hpp>
#include <confsgm/train/trainer.hpp>
#include <confsgm/util/atomic_file.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace app {

using torsional_network = confsgm::model::torsion_score_network<float>;

using confsgm::rdkit::local_structures;
using confsgm::rdkit::matching_record;
using confsgm::rdkit::molecule_seed;
using confsgm::rdkit::torsion_training_data;

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
  const auto rule = f.rotatable_rule();
  return {std::move(f.network), std::move(f.parameters), sigma_max, sigma_min, rule, std::move(f.header)};
}

inline void write_matching(const std::string& path, const std::vector<matching_record>& rows) {
  std::ostringstream f;
  f << "mol_id\tconformer\tstart_rmsd\trmsd\theavy_rmsd\n";
  for (const auto& r : rows)
    f << r.id << "\t" << r.conformer << "\t" << r.start_rmsd << "\t" << r.rmsd << "\t" << r.heavy_rmsd << "\n";
  confsgm::util::write_file_atomically(path, f.str());
}

}  // namespace app
