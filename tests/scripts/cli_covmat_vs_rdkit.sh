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
"$bin" evaluate --ref "$data" --gen "$work/etkdg.sdf" --threshold 1.25 --op lt --json "$work/confsgm.json" --quiet
"$py" "$here/../../benchmarks/python/covmat_rdkit.py" --ref "$data" --gen "$work/etkdg.sdf" \
      --threshold 1.25 --op lt --json "$work/rdkit.json" --threads 2 > "$work/rdkit.txt"
"$py" "$here/compare_covmat_json.py" "$work/confsgm.json" "$work/rdkit.json" --tol 1e-3
