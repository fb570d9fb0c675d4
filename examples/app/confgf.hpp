// The reference application's distance-space model (ConfGF family): model
// files, network construction from a model header, training and sampling glue.
#pragma once

#include <confsgm/model/distance_score_network.hpp>
#include <confsgm/sample/langevin.hpp>
#include <confsgm/train/model_file.hpp>
#include <confsgm/train/trainer.hpp>

#include <string>
#include <vector>

namespace app {

using confgf_network = confsgm::model::distance_score_network<float>;

/// A trained distance model read from a model file.
struct confgf_model {
  confgf_network network;
  confsgm::model::parameter_vector<float> parameters;
  confsgm::custom_schedule schedule;
  std::map<std::string, std::string> header;
};

inline confgf_model load_confgf_model(const std::string& path) {
  auto f = confsgm::train::load_model_file<confgf_network>(path);
  auto schedule = f.trained_schedule();
  return {std::move(f.network), std::move(f.parameters), std::move(schedule), std::move(f.header)};
}

}  // namespace app
