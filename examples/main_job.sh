#!/usr/bin/env bash
# The README's main job on shipped defaults: build the reference application, generate 2 x n_ref conformers
# for the molecules of the shipped QM9 test set (MOLECULES=N: the first N) with the shipped torsion-space IP model
# (reverse SDE, 20 steps on ETKDG local structures), with RDKit ETKDG, with ETKDG + MMFF94 (what chemists run),
# and with the two best pipelines on validation data: at a few times ETKDG's cost, the SGM 4x oversampled, MMFF94,
# diversity selection; at ETKDG + GFN2-xTB's cost, the SGM relaxed with GFN2-xTB; evaluate all against the
# GEOM-protocol reference ensembles (COV/MAT at 0.5 A, recall and precision) and print the tables and the time per
# conformer of each.
#   bash examples/main_job.sh                       # 192 molecules; about 15 minutes on 2 cores with the build
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
# Five pipelines: the raw generators, ETKDG + MMFF94 (what chemists run today), and the best pipelines on the QM9
# validation set (docs/results.md, "Oversampling and selection" and "The comparison on the QM9 test set"): the
# SGM's proposals, 4x oversampled, relaxed with MMFF94, the requested number kept by diversity within 6 kcal/mol;
# and the SGM's proposals relaxed with GFN2-xTB (the xtb program), the references' own level of theory.
names=(torsional etkdg etkdg_mmff94 torsional_mmff94_os4_diverse torsional_gfn2)
labels=("torsional SGM ($model)" "ETKDG" "ETKDG + MMFF94" "torsional SGM + MMFF94, 4x oversampled, diverse"
        "torsional SGM + GFN2-xTB")
options=("--method torsional --model $model" "--method etkdg" "--method etkdg --mmff"
         "--method torsional --model $model --relax mmff94 --oversample 4 --select diverse --energy-window 6"
         "--method torsional --model $model --relax gfn2")
declare -A ms written
for k in "${!names[@]}"; do
  name=${names[$k]}
  start=$(date +%s%N)
  # shellcheck disable=SC2086  # options hold several words
  "$app" generate ${options[$k]} --input "$ref" --output "$out/$name.sdf" --seed "$seed" --quiet 2> "$out/$name.log" \
    || [[ $? -eq 1 ]] || { cat "$out/$name.log" >&2; exit 1; }
  ms[$name]=$(( ($(date +%s%N) - start) / 1000000 ))
  written[$name]=$(grep -c '^\$\$\$\$' "$out/$name.sdf")
  grep -E '^(error|warning)' "$out/$name.log" | head -5 >&2 || true
done
for k in "${!names[@]}"; do
  name=${names[$k]}
  "$app" evaluate --ref "$ref" --gen "$out/$name.sdf" --threshold 0.5 --label "${labels[$k]}" --quiet \
    --json "$out/${name}_covmat.json"
  echo
done
echo "| pipeline | conformers written | wall time (s) | ms per conformer ($(nproc) cores) |"
echo "|---|---|---|---|"
for k in "${!names[@]}"; do
  name=${names[$k]}
  awk -v l="${labels[$k]}" -v n="${written[$name]}" -v ms="${ms[$name]}" \
    'BEGIN { printf "| %s | %d | %.1f | %.1f |\n", l, n, ms / 1000, n ? ms / n : 0 }'
done
echo
echo "conformers: $out/*.sdf; reports: $out/*_covmat.json"
echo "(GEOM-protocol surrogate references built by data/build_all.sh, not GEOM: see docs/data.md)"
