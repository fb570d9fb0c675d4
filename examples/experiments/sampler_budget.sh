#!/usr/bin/env bash
# Quality against cost of the distance-space sampler (paper Algorithm 1): the same model, seed and molecules, with
# fewer Langevin steps per noise level than ConfGF's 100, at ConfGF's step size or a larger one. Prints one COV/MAT
# row and the wall time per budget and writes results/sampler_budget_<family>/budget.md.
#   bash examples/experiments/sampler_budget.sh                       # shipped qm9-distance, QM9 test set, ~40 min
#   FAMILY=drugs MODEL=drugs-distance BUDGETS="10:2.4e-5 20:1.2e-5" bash examples/experiments/sampler_budget.sh
# A budget is T (steps per level, ConfGF's step size 2.4e-6) or T:A (step size A; A = 2.4e-6 x 100 / T keeps the
# Langevin time per level, T x alpha, at ConfGF's). Settings (environment): FAMILY (qm9 | drugs), MODEL (shipped
# name or file; default <family>-distance), BUDGETS ("10 20 50 100 10:2.4e-5 20:1.2e-5"), SEED (1),
# THREADS (0 = all), APP (build/examples/confsgm), OUT. Finished budgets are skipped: rerun to resume.
set -euo pipefail
cd "$(dirname "$0")/../.."
family=${FAMILY:-qm9}
model=${MODEL:-$family-distance}
budgets=${BUDGETS:-10 20 50 100 10:2.4e-5 20:1.2e-5}
seed=${SEED:-1}
threads=${THREADS:-0}
app=${APP:-build/examples/confsgm}
out=${OUT:-results/sampler_budget_$family}
ref=data/$family/test.sdf.gz
case $family in qm9) threshold=0.5 ;; drugs) threshold=1.25 ;; *) echo "FAMILY must be qm9 or drugs" >&2; exit 2 ;; esac
[[ -f $ref ]] || { echo "missing $ref (see docs/data.md)" >&2; exit 3; }
[[ -x $app ]] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null; cmake --build build --target confsgm_app -j 2 > /dev/null; }
mkdir -p "$out"
for budget in $budgets; do
  steps=${budget%%:*}
  size=2.4e-6; [[ $budget == *:* ]] && size=${budget#*:}
  name=steps$steps; [[ $budget == *:* ]] && name=steps${steps}_a$size
  [[ -f $out/$name.json ]] && continue
  start=$(date +%s%N)
  "$app" generate --method confgf --model "$model" --input "$ref" --output "$out/$name.partial.sdf" --seed "$seed" \
    --steps-per-level "$steps" --step-size "$size" --threads "$threads" --quiet 2> "$out/$name.gen.log" || [[ $? -eq 1 ]]
  echo $(( ($(date +%s%N) - start) / 1000000 )) > "$out/$name.ms"
  mv "$out/$name.partial.sdf" "$out/$name.sdf"
  "$app" evaluate --ref "$ref" --gen "$out/$name.sdf" --threshold "$threshold" --label "$name" \
    --json "$out/$name.json.partial" --threads "$threads" --quiet > "$out/$name.txt" || [[ $? -eq 1 ]]
  mv "$out/$name.json.partial" "$out/$name.json"
done
/usr/bin/python3 - "$out" "$model" "$seed" "$threshold" $budgets <<'EOF'
import json, re, sys
out, model, seed, threshold, budgets = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
lines = [f"Model {model}, seed {seed}, threshold {threshold} A, 50 noise levels\n",
         "| steps per level | step size a | Langevin steps | COV-R mean (%) | MAT-R mean (A) | COV-P mean (%) | "
         "MAT-P mean (A) | diverged | stereo mismatches | generation (s) |",
         "|---|---|---|---|---|---|---|---|---|---|"]
fmt = lambda v, scale, digits: "–" if v is None else f"{scale * v:.{digits}f}"   # MAT: none when nothing was written
for budget in budgets:
    steps, _, size = budget.partition(":")
    name = f"steps{steps}" + (f"_a{size}" if size else "")
    a = json.load(open(f"{out}/{name}.json"))["aggregate"]
    ms = int(open(f"{out}/{name}.ms").read())
    last = open(f"{out}/{name}.gen.log").read().strip().splitlines()[-1]
    bad = re.search(r"(\d+) conformers with a stereo mismatch", last).group(1)
    diverged = re.search(r"(\d+) conformers diverged", last).group(1)
    lines.append(f"| {steps} | {size or '2.4e-6'} | {50 * int(steps)} | {fmt(a['cov_r_mean'], 100, 2)} | "
                 f"{fmt(a['mat_r_mean'], 1, 4)} | {fmt(a['cov_p_mean'], 100, 2)} | {fmt(a['mat_p_mean'], 1, 4)} | "
                 f"{diverged} | {bad} | {ms / 1000:.0f} |")
text = "\n".join(lines) + "\n"
open(f"{out}/budget.md", "w").write(text)
print(text, end="")
EOF
