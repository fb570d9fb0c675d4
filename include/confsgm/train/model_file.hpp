// confsgm/train/model_file.hpp: a trained network read back from its model file.
//
// The trainer writes the network's kind and configuration into the file's
// header (dsm_trainer::model_header()); Network::config_from_header() reads
// them back. Applications, tests and benchmarks load models this one way, and
// every problem names the file: another kind of model, a header that does not
// describe a valid network, a parameter count that does not match it.
#pragma once

#include "confsgm/core/torsion.hpp"
#include "confsgm/model/parameters.hpp"
#include "confsgm/schedule/noise_schedule.hpp"
#include "confsgm/train/checkpoint.hpp"

#include <cmath>
#include <sstream>
#include <vector>

#include <map>
#include <string>
#include <utility>

namespace confsgm::train {

template <class Network>
struct model_file {
  Network network;
  model::parameter_vector<typename Network::scalar_type> parameters;
  std::map<std::string, std::string> header;  ///< every entry, e.g. "sigmas", "perturbation", "seed"
  std::string path;

  const std::string& at(const std::string& key) const { return header_entry(header, key, path); }
  double number(const std::string& key) const { return header_number(header, key, path); }

  /// The noise levels the model was trained on (entry `sigmas`, written by dsm_trainer), largest first.
  std::vector<double> trained_sigmas() const {
    std::vector<double> sigmas;
    std::stringstream ss(at("sigmas"));
    for (std::string tok; std::getline(ss, tok, ',');) {
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(tok, &used);
      } catch (const std::exception&) {
      }
      if (used == 0 || used != tok.size())
        throw io_error(path, std::nullopt, std::nullopt, "entry 'sigmas' holds '" + tok + "', not a number");
      sigmas.push_back(v);
    }
    return sigmas;
  }
  /// The trained levels as a schedule: what annealed Langevin walks (the distance space's sampler).
  custom_schedule trained_schedule() const {
    try {
      return custom_schedule(trained_sigmas());
    } catch (const invalid_argument& e) {
      throw io_error(path, std::nullopt, std::nullopt, std::string("entry 'sigmas': ") + e.what());
    }
  }
  /// A model trained on a continuous sigma range (entries `sigma_max`, `sigma_min`) sampled on @p steps
  /// log-spaced levels: the torsion space's sampler (Torsional Diffusion walks 20).
  log_uniform_schedule sampling_schedule(std::size_t steps) const {
    try {
      return log_uniform_schedule(number("sigma_max"), number("sigma_min"), steps);
    } catch (const invalid_argument& e) {
      throw io_error(path, std::nullopt, std::nullopt, e.what());
    }
  }
  /// The torsion space's rotatable-bond rule (entry `rotatable_rule`, written by dsm_trainer).
  confsgm::rotatable_rule rotatable_rule() const {
    try {
      return parse_rotatable_rule(at("rotatable_rule"));
    } catch (const invalid_argument& e) {
      throw io_error(path, std::nullopt, std::nullopt, e.what());
    }
  }
};

/// The checkpoint @p c (read from @p path) as a Network: its kind, configuration and parameter count checked.
template <class Network>
model_file<Network> model_from_checkpoint(checkpoint<typename Network::scalar_type> c, const std::string& path) {
  const auto& kind = c.at("model", path);
  if (kind != Network::kind())
    throw io_error(path, std::nullopt, std::nullopt,
                   "holds a '" + kind + "' model, not a " + Network::space_type::name() + "-space model ('" +
                       Network::kind() + "')");
  auto net = [&] {
    try {
      return Network(Network::config_from_header([&](const std::string& key) { return c.number(key, path); }));
    } catch (const io_error&) {
      throw;
    } catch (const std::exception& e) {
      throw io_error(path, std::nullopt, std::nullopt, e.what());
    }
  }();
  if (net.num_parameters() != c.parameters.size())
    throw io_error(path, std::nullopt, std::nullopt,
                   "holds " + std::to_string(c.parameters.size()) + " parameters, but its header describes a network of " +
                       std::to_string(net.num_parameters()));
  // A diverged training run can save NaN or Inf weights; sampling with them would write NaN conformers.
  for (std::size_t i = 0; i < c.parameters.size(); ++i)
    if (!std::isfinite(c.parameters[i])) {
      std::string block;
      for (const auto& b : net.layout().blocks())
        if (i >= b.offset && i < b.offset + b.rows * b.cols) block = " (in '" + b.name + "')";
      throw io_error(path, std::nullopt, std::nullopt,
                     "parameter " + std::to_string(i) + block + " is " + (std::isnan(c.parameters[i]) ? "NaN" : "infinite") +
                         ": the model is corrupt (did its training diverge?)");
    }
  return {std::move(net), {c.parameters.begin(), c.parameters.end()}, std::move(c.header), path};
}

/// The bytes of a model file as a Network (@p name is the file named in errors).
template <class Network>
model_file<Network> parse_model_file(const std::string& bytes, const std::string& name) {
  return model_from_checkpoint<Network>(parse_checkpoint<typename Network::scalar_type>(bytes, name), name);
}

/// Reads the model file @p path as a Network (e.g. model::torsion_score_network<float>).
template <class Network>
model_file<Network> load_model_file(const std::string& path) {
  return model_from_checkpoint<Network>(load_checkpoint<typename Network::scalar_type>(path), path);
}

}  // namespace confsgm::train
