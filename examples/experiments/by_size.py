#!/usr/bin/env python3
"""Per-molecule COV/MAT of evaluate --json files, split by the reference molecules' heavy-atom count: the test
molecules inside and beyond a training domain (e.g. the 88 Drugs test molecules of at most 30 heavy atoms and the
12 larger ones).

    /usr/bin/python3 examples/experiments/by_size.py REF.sdf[.gz] MAX_HEAVY EVAL.json [EVAL.json ...]

Prints one markdown row per file: COV-R / MAT-R means over the molecules with at most MAX_HEAVY heavy atoms and
over the larger ones (molecules without a MAT-R, i.e. without generated conformers, count in COV-R as 0 and are
left out of MAT-R, as evaluate's aggregate does).
"""
import gzip
import json
import statistics
import sys

from rdkit import Chem


def heavy_atoms(path):
    stream = gzip.open(path) if path.endswith(".gz") else open(path, "rb")
    counts = {}
    for m in Chem.ForwardSDMolSupplier(stream, removeHs=False):
        if m is None:
            continue
        mol_id = m.GetProp("mol_id") if m.HasProp("mol_id") else m.GetProp("_Name")
        counts.setdefault(mol_id, m.GetNumHeavyAtoms())
    return counts


def main():
    ref, limit, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    heavy = heavy_atoms(ref)
    print(f"| file | molecules ≤ {limit} | COV-R (%) | MAT-R (Å) | molecules > {limit} | COV-R (%) | MAT-R (Å) |")
    print("|---|---|---|---|---|---|---|")
    for f in files:
        molecules = json.load(open(f))["molecules"]
        row = [f]
        for inside in (True, False):
            part = {i: v for i, v in molecules.items() if (heavy[i] <= limit) == inside}
            cov = [v["cov_r"] or 0.0 for v in part.values()]
            mat = [v["mat_r"] for v in part.values() if v.get("mat_r") is not None]
            row += [str(len(part)), f"{100 * statistics.mean(cov):.2f}" if cov else "-",
                    f"{statistics.mean(mat):.4f}" if mat else "-"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
