#!/usr/bin/env python3
"""Both state spaces of one data family in one COV/MAT table (issue: torsion space beside the distance space).

usage: compare_spaces.py FAMILY [RESULTS_DIR]
Reads RESULTS_DIR/{distance,torsion}_FAMILY/results.json (written by summarize.py; RESULTS_DIR defaults to
docs/results, where publish.sh copies them) and writes RESULTS_DIR/FAMILY_spaces.md. The ETKDG row is taken from
the torsion run; both runs generate it with the same seeds on the same test set, and a difference is reported.
"""
import json
import sys
from pathlib import Path

KEYS = ["cov_r_mean", "cov_r_median", "mat_r_mean", "mat_r_median",
        "cov_p_mean", "cov_p_median", "mat_p_mean", "mat_p_median"]


def cell(entry, key):
    scale, digits = (100, 2) if key.startswith("cov") else (1, 4)
    return f"{entry[key]['mean'] * scale:.{digits}f} ± {entry[key]['sd'] * scale:.{digits}f}"


def main():
    family = sys.argv[1]
    root = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/results")
    runs = {}
    for space in ["distance", "torsion"]:
        path = root / f"{space}_{family}" / "results.json"
        if not path.exists():
            sys.exit(f"compare_spaces: {path} missing (run paper_experiment.sh and publish.sh for SPACE={space})")
        runs[space] = json.load(open(path))
    thresholds = {r["threshold"] for r in runs.values()}
    if len(thresholds) != 1:
        sys.exit(f"compare_spaces: the runs used different COV thresholds {sorted(thresholds)}")
    notes = []
    etkdg = runs["torsion"]["coverage"]["etkdg"]
    other = runs["distance"]["coverage"]["etkdg"]
    if runs["torsion"]["seeds"] == runs["distance"]["seeds"]:
        diff = max(abs(etkdg[k]["mean"] - other[k]["mean"]) for k in KEYS)
        if diff > 1e-9:
            notes.append(f"The two runs' ETKDG rows differ by up to {diff:.4g}; the torsion run's is shown.")
    else:
        notes.append("The runs used different seeds; the ETKDG row is the torsion run's.")
    rows = [("RDKit ETKDG", etkdg)]
    for space, label in [("distance", "distance SGM (ConfGF family)"), ("torsion", "torsion SGM (Torsional Diffusion family)")]:
        cov = runs[space]["coverage"]
        lam = runs[space]["lambda"]
        rows.append((label, cov["baseline"]))
        rows.append((f"{label}, IP λ = {lam:g}", cov["ip"]))
        if "baseline_keep" in cov:
            notes.append(f"{space} rows: mirror images reflected (generate --mirror-images reflect); "
                         f"{space}_{family}/results.md also has the rows with mirror images kept.")
    out = root / f"{family}_spaces.md"
    with open(out, "w") as f:
        f.write(f"# {family}: both state spaces and ETKDG on the same test set\n\n")
        f.write("Data: the project's GEOM-protocol surrogate sets (docs/data.md), **not GEOM**; not comparable with "
                "published GEOM numbers.\n\n")
        f.write(f"COV threshold {thresholds.pop()} Å; seeds: distance {' '.join(runs['distance']['seeds'])}, torsion "
                f"{' '.join(runs['torsion']['seeds'])} (mean ± sd over seeds). Written by "
                f"`python3 examples/experiments/compare_spaces.py {family}` from "
                f"`docs/results/{{distance,torsion}}_{family}/results.json`.\n\n")
        f.write("| method | COV-R mean (%) | COV-R median (%) | MAT-R mean (Å) | MAT-R median (Å) | COV-P mean (%) | "
                "COV-P median (%) | MAT-P mean (Å) | MAT-P median (Å) |\n|---|---|---|---|---|---|---|---|---|\n")
        for label, entry in rows:
            f.write(f"| {label} | " + " | ".join(cell(entry, k) for k in KEYS) + " |\n")
        if notes:
            f.write("\n" + "\n".join(f"- {n}" for n in notes) + "\n")
    print(f"compare_spaces: {out}")


if __name__ == "__main__":
    main()
