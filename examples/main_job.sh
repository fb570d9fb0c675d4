#!/usr/bin/env bash
# The README's main job on shipped defaults: build the reference application, generate 2 x n_ref conformers
# for the molecules of the shipped QM9 test set (MOLECULES=N: the first N) with the shipped torsion-space IP model
# (reverse SDE, 20 steps on ETKDG local structures) and with RDKit ETKDG, evaluate both against the
# GEOM-protocol reference ensembles (COV/MAT at 0.5 A, recall and precision) and print the tables.
#   bash examples/main_job.sh                       # 192 molecules; a few minutes on 2 cores, most of it the build
#   MOLECULES=20 bash examples/main_job.sh           # the first 20 molecules only
#   MODEL=path/to/model.bin bash examples/main_job.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install_deps.sh
# The build's compiler output goes to a log (shown if the build fails), so the tables stay readable.
echo "building the reference application (log: build-main.log) ..."
if ! { cmake -S . -B build-main -DCMAKE_BUILD_TYPE=Release -DCONFSGM_BUILD_TESTS=OFF -DCONFSGM_BUILD_BENCHMARKS=OFF &&
       cmake --build build-main -j"$(nproc)" --target confsgm_app; } > build-main.log 2>&1; then
  tail -40 build-main.log >&2
  echo "main job: the build failed (build-main.log)" >&2
  exit 1
fi
app=./build-main/examples/confsgm
out=${OUT_DIR:-results/main_job}
model=${MODEL:-qm9-torsion-ip}   # a shipped model's name (models/) or a file
molecules=${MOLECULES:-0}   # 0 = all
seed=${SEED:-1}   # not 42: the data builder seeded its ETKDG starts with 42 (docs/data.md)
mkdir -p "$out"
ref=$out/reference.sdf
# The first N molecules (all conformers of each) of the shipped test set, grouped by mol_id.
zcat data/qm9/test.sdf.gz | awk -v n="$molecules" '
  { rec = rec $0 "\n" }
  /^>  <mol_id>/ { getline id; rec = rec id "\n"; if (!(id in seen)) { seen[id] = 1; count++ } }
  /^\$\$\$\$/ { if (n == 0 || count <= n) printf "%s", rec; rec = "" }' > "$ref"
# Exit status 1 = some molecules failed (named on stderr; they count as uncovered below), 2 and up = no result.
"$app" generate --method torsional --model "$model" --input "$ref" --output "$out/torsional.sdf" --seed "$seed" \
  || [[ $? -eq 1 ]]
"$app" generate --method etkdg --input "$ref" --output "$out/etkdg.sdf" --seed "$seed" || [[ $? -eq 1 ]]
for method in torsional etkdg; do
  label=$method; [[ $method == torsional ]] && label="torsional SGM ($model)"
  "$app" evaluate --ref "$ref" --gen "$out/$method.sdf" --threshold 0.5 --label "$label" --quiet \
    --json "$out/${method}_covmat.json"
done
echo "conformers: $out/torsional.sdf, $out/etkdg.sdf; reports: $out/*_covmat.json"
echo "(GEOM-protocol surrogate references built by data/build_all.sh, not GEOM: see docs/data.md)"
