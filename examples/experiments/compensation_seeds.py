#!/usr/bin/env python3
"""Mean and sample standard deviation over seeds of compensation.sh runs, one folder per seed (OUT=...seedS).

    python3 examples/experiments/compensation_seeds.py MODEL STEPS SETTING[,SETTING...] FOLDER_SEED1 FOLDER_SEED2 ...

Reads FOLDER/<MODEL>_s<STEPS>_<SETTING>.json (evaluate --json) and .bias.csv of every folder and prints one markdown
row per setting: COV/MAT mean +- sd over the folders, the bias (mean over levels) and the paired differences of
COV-R / MAT-R / COV-P / MAT-P against the first setting, seed by seed (mean +- sd), which is the comparison that the
seed spread of each setting alone would blur.
"""
import csv
import json
import statistics
import sys


def stats(values, scale=1.0, digits=2):
    m = statistics.mean(values) * scale
    s = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def main():
    model, steps, settings, folders = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4:]
    keys = [("cov_r_mean", 100, 2), ("mat_r_mean", 1, 4), ("cov_p_mean", 100, 2), ("mat_p_mean", 1, 4)]
    runs = {}
    for s in settings:
        runs[s] = []
        for f in folders:
            name = f"{f}/{model}_s{steps}_{s}"
            a = json.load(open(f"{name}.json"))["aggregate"]
            rows = list(csv.DictReader(open(f"{name}.bias.csv")))
            # Algorithm 2's metric of the space: the torsion error per bond, else the coordinate L1 per atom.
            col = "torsion_error_per_bond_mean" if "torsion_error_per_bond_mean" in rows[0] else "coordinate_l1_per_atom_mean"
            bias = statistics.mean(float(r[col]) for r in rows)
            runs[s].append({**{k: a[k] for k, _, _ in keys}, "bias": bias})
    print(f"{model}, {len(folders)} seeds ({', '.join(folders)}); mean ± sd over seeds; Δ = paired difference to "
          f"'{settings[0]}' seed by seed\n")
    print("| setting | bias (mean over levels) | COV-R (%) | MAT-R (Å) | COV-P (%) | MAT-P (Å) | ΔCOV-R | ΔMAT-R | ΔCOV-P | "
          "ΔMAT-P |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    base = runs[settings[0]]
    for s in settings:
        r = runs[s]
        cells = [stats([x["bias"] for x in r], 1, 4)] + [stats([x[k] for x in r], sc, d) for k, sc, d in keys]
        deltas = [stats([x[k] - b[k] for x, b in zip(r, base)], sc, d) for k, sc, d in keys]
        print(f"| {s} | " + " | ".join(cells + deltas) + " |")


if __name__ == "__main__":
    main()
