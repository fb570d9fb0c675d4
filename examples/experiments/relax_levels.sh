#!/usr/bin/env bash
# xtb's optimisation level as a cost/quality knob of `generate --relax gfn2|gfnff` (issue 23): ETKDG conformers of
# the first MOLECULES molecules of a validation set, relaxed at each level, scored against the references, with
# the wall time of each run. Writes OUT/levels.md.
#   bash examples/experiments/relax_levels.sh                        # QM9 val, 40 molecules, GFN2-xTB, ~4 min
#   FAMILY=drugs MOLECULES=10 LEVELS="loose normal" bash examples/experiments/relax_levels.sh
# Settings (environment): FAMILY (qm9 | drugs), SPLIT (val; choose settings on val only), MOLECULES (40), REFINER
# (gfn2 | gfnff), LEVELS ("crude loose normal tight"), SEED (1), THREADS (0 = all), APP, OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
family=${FAMILY:-qm9}
split=${SPLIT:-val}
molecules=${MOLECULES:-40}
refiner=${REFINER:-gfn2}
levels=${LEVELS:-crude loose normal tight}
seed=${SEED:-1}
threads=${THREADS:-0}
app=${APP:-build/examples/confsgm}
out=${OUT:-results/relax_levels_${family}_${split}_$refiner}
case $family in qm9) threshold=0.5 ;; drugs) threshold=0.75 ;; *) echo "FAMILY must be qm9 or drugs" >&2; exit 2 ;; esac
[[ -x $app ]] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null; cmake --build build --target confsgm_app -j 2 > /dev/null; }
mkdir -p "$out"
bash examples/experiments/first_molecules.sh "data/$family/$split.sdf.gz" "$molecules" > "$out/ref.sdf"
rows=()
for level in $levels; do
  if [[ ! -f $out/$level.txt ]]; then
    start=$(date +%s%N)
    "$app" generate --method etkdg --relax "$refiner" --relax-level "$level" --input "$out/ref.sdf" \
      --output "$out/$level.partial.sdf" --seed "$seed" --threads "$threads" --quiet 2> "$out/$level.gen.log" || [[ $? -eq 1 ]]
    echo $(( ($(date +%s%N) - start) / 1000000 )) > "$out/$level.ms"
    mv "$out/$level.partial.sdf" "$out/$level.sdf"
    "$app" evaluate --ref "$out/ref.sdf" --gen "$out/$level.sdf" --threshold "$threshold" --label "$level" \
      --threads "$threads" --quiet > "$out/$level.txt.partial" 2> /dev/null || [[ $? -eq 1 ]]
    mv "$out/$level.txt.partial" "$out/$level.txt"
  fi
  written=$(grep -c '^\$\$\$\$' "$out/$level.sdf" || true)
  capped=$(grep -c "not converged" "$out/$level.sdf" || true)
  row=$(grep "^| $level |" "$out/$level.txt")
  rows+=("$row $(awk -v ms="$(cat "$out/$level.ms")" -v n="$written" 'BEGIN { printf "%.0f", ms / (n > 0 ? n : 1) }') | $capped |")
done
{
  echo "ETKDG + $refiner at each xtb optimisation level, $family $split set, first $molecules molecules, seed $seed, threshold $threshold A, $(nproc) cores (\`bash examples/experiments/relax_levels.sh\`)"
  echo
  echo "| level | COV-R Mean (%) | COV-R Median (%) | MAT-R Mean (A) | MAT-R Median (A) | COV-P Mean (%) | COV-P Median (%) | MAT-P Mean (A) | MAT-P Median (A) | ms per conformer | stopped at the cycle cap |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > "$out/levels.md"
cat "$out/levels.md"
