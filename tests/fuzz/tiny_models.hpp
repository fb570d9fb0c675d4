// The small trainers whose files seed the checkpoint fuzz target (make_seeds.cpp writes them; the target resumes
// them): the same configuration on both sides, so a seed is a checkpoint the target's trainer accepts.
#pragma once

#include <confsgm/model/distance_score_network.hpp>
#include <confsgm/model/torsion_score_network.hpp>
#include <confsgm/perturbation/perturbation.hpp>
#include <confsgm/schedule/noise_schedule.hpp>
#include <confsgm/train/trainer.hpp>

namespace fuzz {

using distance_net = confsgm::model::distance_score_network<float>;
using torsion_net = confsgm::model::torsion_score_network<float>;
using distance_trainer =
    confsgm::train::dsm_trainer<distance_net, confsgm::geometric_schedule, confsgm::input_perturbation>;
using torsion_trainer =
    confsgm::train::dsm_trainer<torsion_net, confsgm::log_uniform_schedule, confsgm::input_perturbation>;

inline confsgm::train::trainer_options tiny_options() {
  confsgm::train::trainer_options o;
  o.batch_molecules = 4;
  o.micro_batch = 2;
  o.seed = 7;
  o.extra_header = {{"training_molecules", "2"}, {"training_heavy_atoms_max", "9"}};
  return o;
}

inline distance_trainer tiny_distance_trainer() {
  confsgm::model::distance_network_config c;
  c.hidden = 4, c.layers = 1, c.atom_types = 10;
  return distance_trainer(distance_net(c), confsgm::geometric_schedule(5.0, 0.1, 4), confsgm::input_perturbation(0.1),
                          tiny_options());
}

inline torsion_trainer tiny_torsion_trainer() {
  confsgm::model::torsion_network_config c;
  c.hidden = 4, c.layers = 1, c.atom_types = 10, c.radial = 3;
  auto o = tiny_options();
  o.extra_header["rotatable_rule"] = "stereo-safe";
  return torsion_trainer(torsion_net(c), confsgm::log_uniform_schedule(3.14, 0.0314, 5), confsgm::input_perturbation(0.1),
                         o);
}

}  // namespace fuzz
