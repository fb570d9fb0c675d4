// confsgm/generate/recommended_sampling.hpp: the sampling-time compensation a
// model file recommends.
//
// Whether a compensation (sample/compensation.hpp) helps depends on the model:
// sigma-shift improves the Drugs torsion models on recall and precision beyond
// the seed spread, and trades recall for precision with the QM9 ones
// (docs/results.md). So the choice is made per model, on validation data, and
// written into the model file's header, where it travels with the parameters:
//   sampling_sigma_shift_window, sampling_sigma_shift_cutoff,
//   sampling_corrector_steps, sampling_corrector_step_size,
//   sampling_epsilon_k, sampling_epsilon_b,
//   sampling_particle_guidance (a preset name)   the settings (absent = none)
//   sampling_chosen_on                          free text: what chose them
// A run takes them for the parts it leaves unset (sample::compensation_request);
// models/stamp_header.py writes them. An unknown sampling_* entry is refused:
// a newer file's setting must not be dropped silently.
#pragma once

#include "confsgm/error.hpp"
#include "confsgm/sample/compensation.hpp"
#include "confsgm/train/checkpoint.hpp"
#include "confsgm/util/parse.hpp"

#include <charconv>
#include <map>
#include <set>
#include <string>

namespace confsgm::generate {

/// The compensation the header of model file @p model_file recommends (none where it names none); a malformed
/// or unknown sampling_* entry throws io_error naming the file and the entry.
inline sample::sampling_compensation recommended_compensation(const std::map<std::string, std::string>& header,
                                                              const std::string& model_file) {
  static const std::set<std::string> known = {
      "sampling_sigma_shift_window", "sampling_sigma_shift_cutoff", "sampling_corrector_steps",
      "sampling_corrector_step_size", "sampling_epsilon_k", "sampling_epsilon_b", "sampling_particle_guidance",
      "sampling_chosen_on"};
  for (const auto& [key, value] : header)
    if (key.rfind("sampling_", 0) == 0 && !known.count(key))
      throw io_error(model_file, std::nullopt, std::nullopt,
                     "header entry '" + key + "' is not a sampling setting this version knows (known: "
                     "sampling_sigma_shift_window/_cutoff, sampling_corrector_steps/_step_size, sampling_epsilon_k/_b, "
                     "sampling_particle_guidance)");
  const auto whole = [&](const std::string& key, std::size_t fallback) {
    const auto e = header.find(key);
    if (e == header.end()) return fallback;
    const auto v = parse_whole_number<std::size_t>(e->second);
    if (!v) throw io_error(model_file, std::nullopt, std::nullopt, "entry '" + key + "' is not a whole number ('" + e->second + "')");
    return *v;
  };
  const auto number = [&](const std::string& key, double fallback) {
    return header.count(key) ? train::header_number(header, key, model_file) : fallback;
  };
  sample::sampling_compensation c;
  c.shift.window = whole("sampling_sigma_shift_window", 0);
  c.shift.cutoff = number("sampling_sigma_shift_cutoff", 0.0);
  c.corrector.steps = whole("sampling_corrector_steps", 0);
  c.corrector.step_size = number("sampling_corrector_step_size", c.corrector.step_size);
  c.scaling.k = number("sampling_epsilon_k", 0.0);
  c.scaling.b = number("sampling_epsilon_b", 1.0);
  if (const auto e = header.find("sampling_particle_guidance"); e != header.end()) {
    const auto g = sample::particle_guidance::preset(e->second);
    if (!g)
      throw io_error(model_file, std::nullopt, std::nullopt, "entry 'sampling_particle_guidance' names no preset ('" +
                     e->second + "'; known: " + sample::particle_guidance::preset_list() + ")");
    c.guidance = *g;
  }
  try {
    c.shift.check();
    c.corrector.check();
    c.scaling.check();
  } catch (const std::exception& e) {
    throw io_error(model_file, std::nullopt, std::nullopt, std::string("recommended sampling settings: ") + e.what());
  }
  return c;
}

/// A short account of @p c for records and logs: "none", or e.g. "sigma-shift window=4 cutoff=0".
inline std::string describe(const sample::sampling_compensation& c) {
  if (!c.active()) return "none";
  std::string s;
  const auto add = [&](const std::string& part) { s += (s.empty() ? "" : "; ") + part; };
  const auto num = [](double v) { return shortest_text(v); };
  if (c.scaling.active()) add("epsilon-scaling k=" + num(c.scaling.k) + " b=" + num(c.scaling.b));
  if (c.corrector.active())
    add("corrector steps=" + std::to_string(c.corrector.steps) + " step-size=" + num(c.corrector.step_size));
  if (c.shift.active()) add("sigma-shift window=" + std::to_string(c.shift.window) + " cutoff=" + num(c.shift.cutoff));
  if (c.guidance.active()) add("particle-guidance " + c.guidance.name);
  return s;
}

}  // namespace confsgm::generate
