#!/usr/bin/env bash
# Fidelity of the builder's fast tiers (docs/data.md, "Builder tiers"):
# rebuilds the 10 real GEOM-Drugs molecules (shared/data/geom_drugs_train10) and
# the shipped Drugs validation set (55 molecules, full protocol) with each tier,
# then scores
#   - the tier against real GEOM (COV/MAT at 0.75 and 1.25 A; the full
#     protocol's row comes from data/fidelity/report.txt, run_fidelity.sh);
#   - the tier against the full protocol on the validation set (ref = full);
#   - the cost per molecule (status.tsv seconds, wall time of one build job).
# Results: data/fidelity/tiers/<tier>/{geom10,val}_*.{json,txt} and summary.md.
# Resumable (build-dataset resumes); TIERS="gfnff-sp gfnff-opt" by default.
# JOBS=2 molecules in parallel.
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${CONFSGM_SHARED_DATA:-../shared/data}
app=$(bash data/build_app.sh)
mkdir -p data/work/fidelity
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; print "mol_id,smiles"; next }
         { print $col["mol_id"] "," $col["rdkit_smiles"] }' "$shared/geom_drugs_train10/index.csv" \
  > data/work/fidelity/input.csv
for tier in ${TIERS:-gfnff-sp gfnff-opt}; do
  out=data/fidelity/tiers/$tier
  mkdir -p "$out"
  for set in geom10 val; do
    work=data/work/fidelity_${tier}_$set
    input=data/work/fidelity/input.csv
    [[ $set == val ]] && input=data/splits/drugs_val.csv
    rc=0
    "$app" build-dataset --input "$input" --out "$work" --jobs "${JOBS:-2}" --tier "$tier" --quiet || rc=$?
    [[ $rc -le 1 ]] || exit "$rc"
    cp "$work/status.tsv" "$out/${set}_status.tsv"
    cp "$work/manifest.json" "$out/${set}_manifest.json"
    ref=data/drugs/val.sdf.gz
    [[ $set == geom10 ]] && ref=$shared/geom_drugs_train10/geom_drugs_train10.sdf
    for t in 0.75 1.25; do
      "$app" evaluate --ref "$ref" --gen "$work/ensembles.sdf.gz" --threshold "$t" --per-molecule \
        --label "$tier" --json "$out/${set}_cov_mat_$t.json" --quiet > "$out/${set}_cov_mat_$t.txt" || true
    done
  done
done
/usr/bin/python3 data/fidelity/tier_summary.py > data/fidelity/tiers/summary.md
cat data/fidelity/tiers/summary.md
