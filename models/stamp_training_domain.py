#!/usr/bin/env python3
"""Adds the training-domain header entries (training_molecules, training_heavy_atoms_max) to a model file
written before `confsgm train` recorded them. Parameters and every other byte of the header stay as they are;
the FNV-1a checksum is recomputed. Used once, on 2026-11-26, for the four QM9 models of then (three are still shipped; models/README.md):

  /usr/bin/python3 models/stamp_training_domain.py models/qm9-distance.bin 11188 9

The counts come from the training data of the source run: distinct mol_id and the largest heavy-atom count in
data/qm9/train.sdf.gz (distance) or in the run's train.matched.sdf (torsion).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stamp_header import stamp  # noqa: E402


def main(path: str, molecules: int, heavy_max: int) -> None:
    stamp(path, {"training_molecules": str(molecules), "training_heavy_atoms_max": str(heavy_max)})


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
