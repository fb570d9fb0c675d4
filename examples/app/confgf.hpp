// The reference application's distance-space model (ConfGF family): model
// files, network construction from a model header, training and sampling glue.
#pragma once

#include <confsgm/model/distance_score_network.hpp>
#include <confsgm/sample/langevin.hpp>
#include <confsgm/train/trainer.hpp>

#include <sstream>
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
  auto c = confsgm::train::load_checkpoint<float>(path);
  if (c.at("model", path) != confgf_network::kind())
    throw confsgm::io_error(path, std::nullopt, std::nullopt,
                            "holds a '" + c.at("model", path) + "' model, not a distance-space (confgf) model");
  confsgm::model::distance_network_config cfg;
  cfg.hidden = static_cast<std::size_t>(c.number("hidden", path));
  cfg.layers = static_cast<std::size_t>(c.number("layers", path));
  cfg.atom_types = static_cast<std::size_t>(c.number("atom_types", path));
  cfg.edge_types = static_cast<std::size_t>(c.number("edge_types", path));
  confgf_network net(cfg);
  if (net.num_parameters() != c.parameters.size())
    throw confsgm::io_error(path, std::nullopt, std::nullopt,
                            "holds " + std::to_string(c.parameters.size()) + " parameters, but its header describes a "
                            "network of " + std::to_string(net.num_parameters()));
  std::vector<double> sigmas;
  std::stringstream ss(c.at("sigmas", path));
  for (std::string tok; std::getline(ss, tok, ',');) sigmas.push_back(std::stod(tok));
  confgf_model m{std::move(net), {c.parameters.begin(), c.parameters.end()}, confsgm::custom_schedule(sigmas),
                 std::move(c.header)};
  return m;
}

}  // namespace app
