// confsgm/rdkit/rdkit.hpp: every RDKit adapter (link confsgm::rdkit).
#pragma once
#include "confsgm/rdkit/convert.hpp"
#include "confsgm/rdkit/etkdg.hpp"
#include "confsgm/rdkit/sdf.hpp"
#include "confsgm/rdkit/smiles.hpp"
#include "confsgm/rdkit/stereo.hpp"
#include "confsgm/rdkit/torsion_data.hpp"
