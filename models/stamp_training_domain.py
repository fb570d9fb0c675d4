#!/usr/bin/env python3
"""Adds the training-domain header entries (training_molecules, training_heavy_atoms_max) to a model file
written before `confsgm train` recorded them. Parameters and every other byte of the header stay as they are;
the FNV-1a checksum is recomputed. Used once, on 2026-11-26, for the four QM9 models of then (three are still shipped; models/README.md):

  /usr/bin/python3 models/stamp_training_domain.py models/qm9-distance.bin 11188 9

The counts come from the training data of the source run: distinct mol_id and the largest heavy-atom count in
data/qm9/train.sdf.gz (distance) or in the run's train.matched.sdf (torsion).
"""
import os
import struct
import sys

MAGIC = b"CONFSGM\x01"


def fnv1a(data: bytes) -> int:
    h = 1469598103934665603
    for b in data:
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def main(path: str, molecules: int, heavy_max: int) -> None:
    blob = open(path, "rb").read()
    if blob[:8] != MAGIC:
        sys.exit(f"{path}: not a confsgm model file")
    (stored,) = struct.unpack("<Q", blob[-8:])
    if fnv1a(blob[:-8]) != stored:
        sys.exit(f"{path}: checksum mismatch, not touched")
    version, hlen = struct.unpack("<II", blob[8:16])
    header = dict(line.split("=", 1) for line in blob[16:16 + hlen].decode().splitlines())
    header["training_molecules"] = str(molecules)
    header["training_heavy_atoms_max"] = str(heavy_max)
    # save_checkpoint writes a std::map, so the entries are in byte order of their keys.
    text = "".join(f"{k}={v}\n" for k, v in sorted(header.items())).encode()
    body = MAGIC + struct.pack("<II", version, len(text)) + text + blob[16 + hlen:-8]
    with open(path + ".partial", "wb") as f:
        f.write(body + struct.pack("<Q", fnv1a(body)))
    os.replace(path + ".partial", path)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
