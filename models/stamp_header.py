#!/usr/bin/env python3
"""Sets entries of a confsgm model file's header (KEY=VALUE; KEY= removes it). Parameters and every other byte of the
header stay as they are; the FNV-1a checksum is recomputed and the file replaced atomically. Used for the training
domain (stamp_training_domain.py) and for the recommended sampling settings (sampling_*, read by
confsgm/generate/recommended_sampling.hpp; models/README.md says which file got what and why):

  /usr/bin/python3 models/stamp_header.py models/drugs-torsion.bin sampling_sigma_shift_window=4 \\
      "sampling_chosen_on=..."
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


def stamp(path: str, entries: dict) -> None:
    blob = open(path, "rb").read()
    if blob[:8] != MAGIC:
        sys.exit(f"{path}: not a confsgm model file")
    (stored,) = struct.unpack("<Q", blob[-8:])
    if fnv1a(blob[:-8]) != stored:
        sys.exit(f"{path}: checksum mismatch, not touched")
    version, hlen = struct.unpack("<II", blob[8:16])
    header = dict(line.split("=", 1) for line in blob[16:16 + hlen].decode().splitlines())
    for key, value in entries.items():
        if "\n" in key + value or "=" in key or not key:
            sys.exit(f"{path}: entry {key!r} cannot go into a header (no newline, no '=' in the key)")
        if value == "":
            header.pop(key, None)
        else:
            header[key] = value
    # save_checkpoint writes a std::map, so the entries are in byte order of their keys.
    text = "".join(f"{k}={v}\n" for k, v in sorted(header.items())).encode()
    body = MAGIC + struct.pack("<II", version, len(text)) + text + blob[16 + hlen:-8]
    with open(path + ".partial", "wb") as f:
        f.write(body + struct.pack("<Q", fnv1a(body)))
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".partial", path)


if __name__ == "__main__":
    if len(sys.argv) < 3 or any("=" not in a for a in sys.argv[2:]):
        sys.exit(__doc__)
    stamp(sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:]))
