// confsgm/confsgm.hpp: the umbrella header of the core (Eigen only). Optional
// components are included on purpose by the code that links them:
//   <confsgm/rdkit/rdkit.hpp>  (confsgm::rdkit)   SMILES/SDF/ETKDG adapters
//   <confsgm/io/npy.hpp>       (confsgm::io)      NumPy array files via xtensor
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
#include "confsgm/util/parse.hpp"
