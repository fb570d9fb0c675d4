// Train -> sample -> exposure bias in the distance space (ConfGF), composed at compile time from the library's
// policies: network, schedule, perturbation (IP), update rule and dynamics.
//   example_compose_distance REF.sdf      (e.g. tests/data/geom_drugs_train10.sdf)
#include <confsgm/confsgm.hpp>
#include <confsgm/rdkit/rdkit.hpp>

#include <iostream>

#ifndef COMPOSE_EXECUTION  // where the network runs: compose/distance_cuda.cu builds this program with the GPU's
#define COMPOSE_EXECUTION confsgm::backend::host
#endif

int main(int argc, char** argv) {
  using namespace confsgm;
  if (argc != 2) return std::cerr << "usage: example_compose_distance REF.sdf\n", 2;
  std::vector<ensemble<double>> refs;
  for (auto& m : rdkit::read_sdf(argv[1]).molecules) refs.push_back(std::move(m.data));
  const auto data = train::distance_training_set(refs);

  const geometric_schedule schedule(10.0, 0.01, 50);
  using network = model::score_model<distance_space, float, COMPOSE_EXECUTION>;
  train::dsm_trainer trainer(network({.hidden = 32, .layers = 2}), schedule,
                             input_perturbation(0.05), {.batch_molecules = 4, .micro_batch = 2, .epochs = 3});
  trainer.fit(data);
  const sample::network_score score(trainer.network(), trainer.parameters());

  std::vector<const distance_structure*> samples;  // two conformers of every molecule, in one call
  for (const auto& s : data.structures) samples.insert(samples.end(), 2, &s);
  const auto generated = sample::annealed_sample<float>(score, schedule, sample::coordinate_dynamics{},
                                                        sample::langevin{.steps_per_level = 10}, samples);

  std::vector<eval::distance_sample> truth;  // each molecule's lowest-energy reference conformer
  for (std::size_t m = 0; m < data.size(); ++m) truth.push_back({&data.structures[m], refs[m].conformers[0]});
  const eval::distance_bias_problem problem(score, schedule, {.steps_per_level = 10});
  const auto bias = eval::estimate_exposure_bias(problem, truth, {.samples_per_level = 1});

  std::cout << generated.states.size() - generated.diverged << " of " << samples.size()
            << " conformers sampled; exposure bias (coordinate L1 per atom, A) at sigma " << problem.sigma(0) << ": "
            << bias.levels.front().mean[0] << ", at sigma " << problem.sigma(49) << ": " << bias.levels.back().mean[0]
            << "\n";
  return generated.diverged == 0 ? 0 : 1;
}
