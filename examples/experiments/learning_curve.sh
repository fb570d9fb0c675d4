#!/usr/bin/env bash
# Learning curve of the torsion-space model on Drugs (issue 25, item 4): the same protocol as the shipped Drugs
# baseline (examples/experiments/paper_experiment.sh with SPACE=torsion FAMILY=drugs: 30 matched conformers per
# molecule, the QM9 runs' number of optimizer steps, plateau patience and early stopping scaled with the epochs),
# trained on the built Drugs training set plus the first K finished shards of the large set
# (data/drugs/train_large/, docs/data.md), then sampled plainly (--sampling-defaults none; the sampling seed is the
# model's, as paper_experiment.sh does) on the Drugs test set and scored at 0.75 and 1.25 A. Every step is
# resumable (rerun the same command).
#   SHARDS="6" bash examples/experiments/learning_curve.sh         # train.sdf.gz + shards 000-005
#   SHARDS="0 3 6" SEEDS="1 2 3" bash examples/experiments/learning_curve.sh
# K = 0 is the shipped baseline's own training set: with REUSE_SHIPPED=1 (default) its models are those
# paper_experiment.sh trained with this protocol: K0_MODELS/baseline_sS.bin (default results/torsion_drugs/models,
# the run the shipped models came from) where it exists, else models/drugs-torsion.bin for seed 1 (that run's seed 1).
# Settings (environment): SHARDS, SEEDS (1), STEPS (77700: 3,700 epochs of 21 optimizer steps, the shipped
# baseline's budget), APP, OUT (results/learning_curve_torsion_drugs), THREADS (0 = all).
set -euo pipefail
cd "$(dirname "$0")/../.."
shards=${SHARDS:-6}
seeds=${SEEDS:-1}
steps=${STEPS:-77700}
app=${APP:-build/examples/confsgm}
out=${OUT:-results/learning_curve_torsion_drugs}
threads=${THREADS:-0}
reuse=${REUSE_SHIPPED:-1}
k0_models=${K0_MODELS:-results/torsion_drugs/models}
py=/usr/bin/python3
[[ -x $app ]] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null; cmake --build build --target confsgm_app -j 2 > /dev/null; }
mkdir -p "$out/data"
log() { echo "[learning_curve $(date +%H:%M:%S)] $*" >&2; }
test_ref=data/drugs/test.sdf.gz
# The validation set, matched once (the trainer's validation loss; the same for every point).
if [[ ! -f $out/data/val.matched.sdf ]]; then
  log "conformer matching (val)"
  "$app" match --input data/drugs/val.sdf.gz --output "$out/data/val.matched.partial.sdf" --threads "$threads" \
    --conformers-per-molecule 30 --report "$out/data/val.matching.tsv" 2> "$out/data/val.match.log" || [[ $? -eq 1 ]]
  mv "$out/data/val.matched.partial.sdf" "$out/data/val.matched.sdf"
fi
# Scores FILE (generated) against the test set at both thresholds: $out/eval/<label>_<threshold>.json.
score() {
  local gen=$1 label=$2
  mkdir -p "$out/eval"
  for t in 0.75 1.25; do
    [[ -f $out/eval/${label}_$t.json ]] && continue
    "$app" evaluate --ref "$test_ref" --gen "$gen" --threshold "$t" --label "$label" --threads "$threads" \
      --json "$out/eval/${label}_$t.json.partial" --quiet > /dev/null || [[ $? -eq 1 ]]
    mv "$out/eval/${label}_$t.json.partial" "$out/eval/${label}_$t.json"
  done
}
# Generates 2 x n_ref conformers of every test molecule with MODEL, sampling seed SEED, plainly, and scores them.
sample_and_score() {
  local model=$1 label=$2 seed=$3
  mkdir -p "$out/gen"
  if [[ ! -f $out/gen/$label.sdf ]]; then
    log "generate $label"
    local start; start=$(date +%s)
    "$app" generate --method torsional --model "$model" --input "$test_ref" --output "$out/gen/$label.partial.sdf" \
      --seed "$seed" --threads "$threads" --sampling-defaults none --quiet --resume 2> "$out/gen/$label.log" || [[ $? -eq 1 ]]
    echo $(($(date +%s) - start)) > "$out/gen/$label.seconds"
    mv "$out/gen/$label.partial.sdf" "$out/gen/$label.sdf"
  fi
  score "$out/gen/$label.sdf" "$label"
}
for k in $shards; do
  point=$out/k$k
  mkdir -p "$point"
  for seed in $seeds; do
    label=k${k}_s$seed
    if [[ $k -eq 0 && $reuse == 1 ]]; then
      if [[ -f $k0_models/baseline_s$seed.bin ]]; then sample_and_score "$k0_models/baseline_s$seed.bin" "$label" "$seed"
      elif [[ $seed == 1 ]]; then sample_and_score models/drugs-torsion.bin "$label" 1
      else log "no K = 0 model for seed $seed ($k0_models/baseline_s$seed.bin); skipping it"; fi
      continue
    fi
    # The training set: train.sdf.gz and the first k finished shards, in order (one gzip member).
    if [[ ! -f $point/train.sdf.gz ]]; then
      parts=(data/drugs/train.sdf.gz)
      for ((i = 0; i < k; i++)); do
        name=$(printf 'data/drugs/train_large/shard_%03d' "$i")
        [[ -f $name.manifest.json ]] || { echo "learning_curve: $name is not finished (no manifest.json)" >&2; exit 2; }
        parts+=("$name.sdf.gz")
      done
      zcat "${parts[@]}" | gzip -c > "$point/train.partial.sdf.gz"
      mv "$point/train.partial.sdf.gz" "$point/train.sdf.gz"
    fi
    if [[ ! -f $point/train.matched.sdf ]]; then
      log "conformer matching (k = $k)"
      "$app" match --input "$point/train.sdf.gz" --output "$point/train.matched.partial.sdf" --threads "$threads" \
        --conformers-per-molecule 30 --report "$point/train.matching.tsv" 2> "$point/train.match.log" || [[ $? -eq 1 ]]
      mv "$point/train.matched.partial.sdf" "$point/train.matched.sdf"
    fi
    # The same optimizer steps at every size: an epoch is one pass over the molecules in batches of 32.
    molecules=$(awk '$0 == ">  <mol_id>" { getline; seen[$0] = 1 } END { print length(seen) }' "$point/train.matched.sdf")
    per_epoch=$(((molecules + 31) / 32))
    epochs=$(((steps + per_epoch - 1) / per_epoch))
    patience=$(((296 * 21 + per_epoch - 1) / per_epoch))   # the shipped baseline's 296 epochs of 21 steps
    model=$point/baseline_s$seed.bin
    if [[ ! -f $model.done ]]; then
      resume=()
      [[ -f $model.ckpt ]] && resume=(--resume)
      log "train $label: $molecules molecules, $epochs epochs of $per_epoch steps, patience $patience"
      start=$(date +%s)
      "$app" train --space torsion --matched --conformers-per-molecule 30 --train "$point/train.matched.sdf" \
        --val "$out/data/val.matched.sdf" --out "$model" --seed "$seed" --epochs "$epochs" --patience "$patience" \
        --early-stop $((2 * patience)) --threads "$threads" --quiet "${resume[@]}" 2> "$point/train_s$seed.log"
      echo $(($(date +%s) - start)) >> "$point/train_s$seed.seconds"
      echo "$molecules $epochs $per_epoch $patience" > "$point/train_s$seed.settings"
      touch "$model.done"
    fi
    sample_and_score "$model" "$label" "$seed"
  done
done
"$py" - "$out" "$shards" "$seeds" "$reuse" <<'PY'
import glob, json, os, statistics, sys
out, shards, seeds, reuse = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4] == "1"
rows = ["| training molecules (K shards) | seeds | COV-R 0.75 Å (%) | MAT-R (Å) | COV-P 0.75 Å (%) | COV-R 1.25 Å (%) | "
        "COV-P 1.25 Å (%) | MAT-P (Å) | train time (min) |", "|---|---|---|---|---|---|---|---|---|"]
def ms(v, scale, d):
    return f"{statistics.mean(v) * scale:.{d}f}" + (f" ± {statistics.stdev(v) * scale:.{d}f}" if len(v) > 1 else "")
for k in shards:
    runs, mols, minutes = [], "656 (the shipped baseline's run)" if k == "0" and reuse else "?", []
    for s in seeds:
        label = f"k{k}_s{s}"
        if not all(os.path.exists(f"{out}/eval/{label}_{t}.json") for t in ("0.75", "1.25")):
            continue
        runs.append({t: json.load(open(f"{out}/eval/{label}_{t}.json"))["aggregate"] for t in ("0.75", "1.25")})
        st = f"{out}/k{k}/train_s{s}.settings"
        if os.path.exists(st):
            mols = open(st).read().split()[0]
            minutes.append(sum(int(x) for x in open(f"{out}/k{k}/train_s{s}.seconds").read().split()) / 60)
    if not runs:
        continue
    a, b = [r["0.75"] for r in runs], [r["1.25"] for r in runs]
    rows.append(f"| {mols} ({k}) | {len(runs)} | {ms([x['cov_r_mean'] for x in a], 100, 2)} | "
                f"{ms([x['mat_r_mean'] for x in a], 1, 4)} | {ms([x['cov_p_mean'] for x in a], 100, 2)} | "
                f"{ms([x['cov_r_mean'] for x in b], 100, 2)} | {ms([x['cov_p_mean'] for x in b], 100, 2)} | "
                f"{ms([x['mat_p_mean'] for x in b], 1, 4)} | {ms(minutes, 1, 1) if minutes else '-'} |")
text = ("Drugs test set, torsion space, baseline models, sampled plainly (sampling seed = model seed, 20 steps, "
        "2 x n_ref), mean ± sd over seeds; "
        "`bash examples/experiments/learning_curve.sh`\n\n" + "\n".join(rows) + "\n")
open(f"{out}/summary.md.partial", "w").write(text)
os.replace(f"{out}/summary.md.partial", f"{out}/summary.md")
print(text, end="")
PY
