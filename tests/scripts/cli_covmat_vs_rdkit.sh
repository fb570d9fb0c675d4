#!/usr/bin/env bash
# End-to-end check of the reference application on the 10 real GEOM-Drugs
# molecules: ETKDG (2 x n_ref, seed 42) -> confsgm evaluate (1.25 A, strict <)
# -> the same numbers from an independent Python/RDKit evaluator, to 1e-3.
# usage: cli_covmat_vs_rdkit.sh CONFSGM_BINARY PYTHON_WITH_RDKIT WORK_DIR
set -euo pipefail
bin=$1; py=$2; work=$3
here=$(cd "$(dirname "$0")" && pwd)
data=$here/../data/geom_drugs_train10.sdf
mkdir -p "$work"
"$bin" generate --method etkdg --input "$data" --output "$work/etkdg.sdf" --seed 42 --threads 2 --quiet
"$bin" evaluate --ref "$data" --gen "$work/etkdg.sdf" --threshold 1.25 --op lt --json "$work/confsgm.json" \
      --rmsd-dir "$work/rmsd" --quiet
# The written matrices are the ones behind the report: row minima give MAT-R.
"$py" - "$work" <<'PY'
import json, sys, numpy as np
work = sys.argv[1]
rep = json.load(open(f"{work}/confsgm.json"))
for mol_id, m in rep["molecules"].items():
    r = np.load(f"{work}/rmsd/{mol_id}.npy")
    assert r.shape == (m["n_ref"], m["n_gen"]), (mol_id, r.shape)
    assert abs(r.min(axis=1).mean() - m["mat_r"]) < 1e-9, mol_id
print("rmsd matrices: shapes and MAT-R consistent for", len(rep["molecules"]), "molecules")
PY
"$py" "$here/../../benchmarks/python/covmat_rdkit.py" --ref "$data" --gen "$work/etkdg.sdf" \
      --threshold 1.25 --op lt --json "$work/rdkit.json" --threads 2 > "$work/rdkit.txt"
"$py" "$here/compare_covmat_json.py" "$work/confsgm.json" "$work/rdkit.json" --tol 1e-3
