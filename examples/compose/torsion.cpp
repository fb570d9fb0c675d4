// Train -> sample -> exposure bias in the torsion space (Torsional Diffusion), composed at compile time: the
// training set by conformer matching onto ETKDG local structures, the trainer, the reverse SDE on the torus
// and the estimator.
//   example_compose_torsion REF.sdf       (e.g. tests/data/geom_drugs_train10.sdf)
#include <confsgm/confsgm.hpp>
#include <confsgm/rdkit/rdkit.hpp>

#include <iostream>

#ifndef COMPOSE_EXECUTION  // where the network runs: compose/torsion_cuda.cu builds this program with the GPU's
#define COMPOSE_EXECUTION confsgm::backend::host
#endif

int main(int argc, char** argv) {
  using namespace confsgm;
  if (argc != 2) return std::cerr << "usage: example_compose_torsion REF.sdf\n", 2;
  const auto refs = rdkit::read_sdf(argv[1]);
  const auto data = rdkit::torsion_training_data(refs.molecules, 5, 1, rotatable_rule::stereo_safe, 0).set;

  const log_uniform_schedule schedule;  // sigma 3.14 -> 0.0314, 20 sampling levels
  using network = model::score_model<torsion_space, float, COMPOSE_EXECUTION>;
  train::dsm_trainer trainer(network({.hidden = 16, .layers = 2}), schedule,
                             input_perturbation(0.1), {.batch_molecules = 4, .micro_batch = 2, .epochs = 5});
  trainer.fit(data);
  const sample::network_score score(trainer.network(), trainer.parameters());

  std::vector<const torsion_structure*> samples;  // four conformers of every molecule, in one call
  for (const auto& per_conformer : data.conformer_structures)
    for (std::size_t c = 0; c < 4; ++c) samples.push_back(&per_conformer[c % per_conformer.size()]);
  const auto generated =
      sample::annealed_sample<float>(score, schedule, sample::torus_dynamics{}, sample::reverse_sde{}, samples);

  std::vector<eval::torsion_sample> truth;  // each molecule's first matched conformer
  for (std::size_t m = 0; m < data.size(); ++m) truth.push_back({&data.conformer_structures[m][0], data.clean[m][0]});
  const eval::torsion_bias_problem problem(score, schedule);
  const auto bias = eval::estimate_exposure_bias(problem, truth, {.samples_per_level = 2});

  std::cout << generated.states.size() - generated.diverged << " of " << samples.size()
            << " conformers sampled; exposure bias (torsion error per bond, rad) at sigma " << problem.sigma(0)
            << ": " << bias.levels.front().mean[1] << ", at sigma " << problem.sigma(19) << ": "
            << bias.levels.back().mean[1] << "\n";
  return generated.diverged == 0 ? 0 : 1;
}
