// confsgm/confsgm.hpp: the umbrella header of the core (Eigen only): molecules,
// RMSD and COV/MAT, and the SGM parts (policies, networks, trainer, samplers,
// exposure-bias estimator). Optional components are included on purpose by
// the code that links them:
//   <confsgm/rdkit/rdkit.hpp>  (confsgm::rdkit)   SMILES/SDF/ETKDG adapters
//   <confsgm/io/npy.hpp>       (confsgm::io)      NumPy array files via xtensor
//   <confsgm/xtb/library.hpp>  (confsgm::xtb)     GFN2-xTB single points
//   <confsgm/mpi/communicator.hpp> (confsgm::mpi) MPI for sharded runs and data-parallel training
//   <confsgm/backend/cuda/...> (confsgm::cuda)    the GPU backend (nvcc only)
#pragma once

#include "confsgm/config.hpp"
#include "confsgm/error.hpp"
#include "confsgm/version.hpp"

#include "confsgm/core/conformer.hpp"
#include "confsgm/core/element.hpp"
#include "confsgm/core/extended_graph.hpp"
#include "confsgm/core/graph_match.hpp"
#include "confsgm/core/molecule.hpp"

#include "confsgm/geometry/superposition.hpp"
#include "confsgm/geometry/symmetric_rmsd.hpp"

#include "confsgm/eval/coverage.hpp"
#include "confsgm/eval/evaluate.hpp"
#include "confsgm/eval/rmsd_matrix.hpp"

#include "confsgm/util/parallel.hpp"
#include "confsgm/util/deal.hpp"
#include "confsgm/util/wire.hpp"
#include "confsgm/util/atomic_file.hpp"
#include "confsgm/util/output_lock.hpp"
#include "confsgm/util/parse.hpp"

#include "confsgm/random/philox.hpp"
#include "confsgm/schedule/noise_schedule.hpp"
#include "confsgm/perturbation/perturbation.hpp"
#include "confsgm/space/state_space.hpp"
#include "confsgm/space/distance_space.hpp"
#include "confsgm/space/torsion_space.hpp"
#include "confsgm/backend/cpu/eigen_backend.hpp"

#include "confsgm/model/score_network.hpp"
#include "confsgm/model/distance_score_network.hpp"
#include "confsgm/model/torsion_score_network.hpp"
#include "confsgm/model/score_model.hpp"

#include "confsgm/train/model_file.hpp"
#include "confsgm/train/trainer.hpp"

#include "confsgm/sample/annealed_sampler.hpp"
#include "confsgm/sample/coordinate_dynamics.hpp"
#include "confsgm/sample/torus_dynamics.hpp"
#include "confsgm/sample/langevin.hpp"
#include "confsgm/sample/torus_sampler.hpp"
#include "confsgm/sample/compensation.hpp"

#include "confsgm/eval/exposure_bias.hpp"

#include "confsgm/generate/model_choice.hpp"
#include "confsgm/generate/noise_streams.hpp"
#include "confsgm/generate/recommended_sampling.hpp"
