#!/usr/bin/env bash
# Epsilon Scaling at sampling time (issue 24; confsgm/sample/compensation.hpp): for each model and each setting
# (k, b), the exposure bias per level (paper Algorithm 2, `confsgm bias`: the same seed gives every setting the
# same perturbed starts, so the comparison is paired) and COV/MAT of a generated ensemble (2 x the reference
# count). Writes results/epsilon_<family>_<split>/summary.md; finished parts are skipped: rerun to resume.
#   bash examples/experiments/epsilon_scaling.sh          # QM9 validation set, torsion models, ~15 min on 2 cores
# Settings (environment): FAMILY (qm9 | drugs), SPLIT (val | test; choose settings on val only), SEED (1),
# MODELS (shipped names or files; default: the family's torsion baseline and IP models), SETTINGS (space-separated
# k:b pairs; 0:1 is the unscaled sampler), BIAS_SAMPLES (samples per level, default 1000), THREADS, APP, OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
family=${FAMILY:-qm9}
split=${SPLIT:-val}
seed=${SEED:-1}
threads=${THREADS:-0}
app=${APP:-build/examples/confsgm}
out=${OUT:-results/epsilon_${family}_$split}
models=${MODELS:-models/$family-torsion.bin models/$family-torsion-ip.bin}
settings=${SETTINGS:-0:1 0:1.005 0:1.01 0:1.02 0.0025:1}
bias_samples=${BIAS_SAMPLES:-1000}
ref=data/$family/$split.sdf.gz
case $family in qm9) threshold=0.5 ;; drugs) threshold=0.75 ;; *) echo "FAMILY must be qm9 or drugs" >&2; exit 2 ;; esac
[[ -f $ref ]] || { echo "missing $ref (see docs/data.md)" >&2; exit 3; }
[[ -x $app ]] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null; cmake --build build --target confsgm_app -j 2 > /dev/null; }
mkdir -p "$out"
for model in $models; do
  [[ -f $model ]] || { echo "missing model $model" >&2; exit 3; }
  m=$(basename "$model" .bin)
  for setting in $settings; do
    k=${setting%%:*}; b=${setting#*:}
    name=${m}_k${k}_b$b
    if [[ ! -f $out/$name.bias.csv ]]; then
      "$app" bias --model "$model" --data "$ref" --samples-per-level "$bias_samples" --seed "$seed" --threads "$threads" \
        --epsilon-k "$k" --epsilon-b "$b" --label "$name" --csv "$out/$name.bias.csv.partial" \
        > "$out/$name.bias.md" 2> "$out/$name.bias.log"
      mv "$out/$name.bias.csv.partial" "$out/$name.bias.csv"
    fi
    if [[ ! -f $out/$name.json ]]; then
      "$app" generate --method torsional --model "$model" --input "$ref" --output "$out/$name.sdf" --seed "$seed" \
        --threads "$threads" --epsilon-k "$k" --epsilon-b "$b" --quiet 2> "$out/$name.gen.log" || [[ $? -eq 1 ]]
      "$app" evaluate --ref "$ref" --gen "$out/$name.sdf" --threshold "$threshold" --label "$name" \
        --json "$out/$name.json.partial" --threads "$threads" --quiet > "$out/$name.txt" || [[ $? -eq 1 ]]
      mv "$out/$name.json.partial" "$out/$name.json"
    fi
  done
done
/usr/bin/python3 - "$out" "$family" "$split" "$seed" "$threshold" "$bias_samples" "$models" "$settings" <<'PY'
import csv, json, os, sys
out, family, split, seed, threshold, samples, models, settings = sys.argv[1:9]
lines = [f"{family} {split} set, seed {seed}, COV/MAT at {threshold} A (2 x the reference count), bias: {samples} samples "
         f"per level, paired over settings (`bash examples/experiments/epsilon_scaling.sh`)\n",
         "| model | k | b | bias, torsion error per bond (rad), mean over levels | bias at the 5 lowest levels | "
         "COV-R mean (%) | MAT-R mean (A) | COV-P mean (%) | MAT-P mean (A) |",
         "|---|---|---|---|---|---|---|---|---|"]
for model in models.split():
    m = os.path.basename(model)[:-4]
    for setting in settings.split():
        k, b = setting.split(":")
        name = f"{m}_k{k}_b{b}"
        rows = list(csv.DictReader(open(f"{out}/{name}.bias.csv")))
        err = [float(r["torsion_error_per_bond_mean"]) for r in rows]
        a = json.load(open(f"{out}/{name}.json"))["aggregate"]
        lines.append(f"| {m} | {k} | {b} | {sum(err) / len(err):.4f} | {sum(err[-5:]) / 5:.4f} | "
                     f"{100 * a['cov_r_mean']:.2f} | {a['mat_r_mean']:.4f} | {100 * a['cov_p_mean']:.2f} | "
                     f"{a['mat_p_mean']:.4f} |")
text = "\n".join(lines) + "\n"
open(f"{out}/summary.md", "w").write(text)
print(text, end="")
PY
