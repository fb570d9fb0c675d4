#!/usr/bin/env bash
# Fidelity of the GEOM-protocol builder against real GEOM: rebuilds the 10
# GEOM-Drugs molecules of shared/data/geom_drugs_train10 from their SMILES and
# scores the rebuilt ensembles against GEOM's (COV/MAT, 0.75 and 1.25 Å).
# Results: data/fidelity/{status.tsv,manifest.json,cov_mat_*.json,report.txt}.
# Resumable like build-dataset; about 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${CONFSGM_SHARED_DATA:-../shared/data}
app=$(bash data/build_app.sh)
work=data/work/fidelity
mkdir -p "$work"
# mol_id and the SMILES RDKit perceives from GEOM's own 3D structures (full stereo).
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; print "mol_id,smiles"; next }
         { print $col["mol_id"] "," $col["rdkit_smiles"] }' "$shared/geom_drugs_train10/index.csv" > "$work/input.csv"
rc=0
"$app" build-dataset --input "$work/input.csv" --out "$work" --jobs 2 || rc=$?
[[ $rc -le 1 ]] || exit "$rc"
cp "$work/status.tsv" "$work/manifest.json" data/fidelity/
{
  echo "# built ensembles (ref = real GEOM, gen = rebuilt) and the reverse direction is COV-P/MAT-P"
  for t in 0.75 1.25; do
    "$app" evaluate --ref "$shared/geom_drugs_train10/geom_drugs_train10.sdf" --gen "$work/ensembles.sdf.gz" \
      --threshold "$t" --per-molecule --label geom-protocol --json "data/fidelity/cov_mat_$t.json" --quiet || true
  done
} > data/fidelity/report.txt
cat data/fidelity/report.txt
# Energies: GFN2-xTB single points of every GEOM conformer and every rebuilt one
# (GEOM's SDF carries no energies). Per molecule: mean and lowest energy, gaps.
"$app" properties --ref "$shared/geom_drugs_train10/geom_drugs_train10.sdf" --gen "$work/ensembles.sdf.gz" \
  --molecules 10 --conformers 100000 --per-molecule --label geom-protocol --json data/fidelity/energies.json \
  --quiet > data/fidelity/energies.txt || true
cat data/fidelity/energies.txt
