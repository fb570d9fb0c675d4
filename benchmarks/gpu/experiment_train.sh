#!/usr/bin/env bash
# The Drugs experiments' training on a lent GPU machine (one NVIDIA H100 and 16 CPU cores), in one call of at most
# BUDGET_S seconds (default 570), everything it makes packed under $OUT for paper_experiment.sh to go on with here:
#   - distance space on the GPU: the first seed's baseline and its IP models of the lambda grid, trained side by
#     side (`train --backend cuda`, one process each), then a partial pass of paper_experiment.sh (NO_TRAINING=1
#     DEFER_BIAS=1 BACKEND=cuda): the grid's conformers, lambda, the test conformers of the trained models and the
#     ETKDG row, all evaluated there;
#   - torsion space on the remaining CPU cores: conformer matching, then the first seed's baseline and grid models
#     and the other seeds' baselines on the CPU backend, stopped with a checkpoint before the budget ends.
# A model that did not finish its epochs comes back with its checkpoint and no .done marker, so the next plain run
# here resumes it (the trainer's checkpoint is the same on both backends).
#
#   here:    APP=1 bash benchmarks/gpu/build.sh; bash examples/experiments/keep_state.sh && git commit ...;
#            bash benchmarks/gpu/experiment_train.sh size      (the working tree and the build must fit 64 MiB)
#   device:  run, carry ["build-gpu/bin"], timeout_s 600:   bash benchmarks/gpu/experiment_train.sh
#   here:    bash benchmarks/gpu/experiment_train.sh collect FILES_AT
#              (unpacks into results/<space>_drugs, never over a finished model or an existing evaluation)
# Once distance models have finished training here, `pass` samples and evaluates them on the GPU machine without
# training anything (their state travels as committed files: examples/experiments/keep_state.sh first), run by run
# (PASS_RUNS, default "distance_drugs distance_qm9": each run folder of results/ that exists), the QM9 run's lambda
# grid included:
#   device:  run, carry ["build-gpu/bin"]:   bash benchmarks/gpu/experiment_train.sh pass
#   here:    bash benchmarks/gpu/experiment_train.sh collect FILES_AT
# The script's own test runs it here on the CPU: BACKEND=cpu BIN=build/examples with small DIST_EPOCHS,
# TORSION_EPOCHS and BUDGET_S (tests/scripts/experiment_smoke.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=${RESULTS_ROOT:-results}
# `size`: what a device call would take along (tracked and untracked-not-ignored files plus the carried build), against
# the device tool's 64 MiB; run it here after keep_state.sh, before the call.
if [[ ${1:-} == size ]]; then
  tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 du -cb 2> /dev/null | awk '$2 == "total" { s += $1 } END { print s + 0 }')
  carried=$(du -sb "${BIN:-build-gpu/bin}" 2> /dev/null | cut -f1)
  total=$((tree + ${carried:-0}))
  awk -v t="$tree" -v c="${carried:-0}" -v b="${BIN:-build-gpu/bin}" 'BEGIN { m = 1048576;
    printf "experiment_train: working tree %.1f MiB + %s %.1f MiB = %.1f MiB of 64\n", t / m, b, c / m, (t + c) / m }' 
  ((total <= 64 * 1048576)) || { echo "experiment_train: over the limit: see keep_state.sh (published runs)" >&2; exit 1; }
  exit 0
fi
if [[ ${1:-} == collect ]]; then
  from=${2:?collect FILES_AT: the folder where the files of the device run came back}
  for pack in "$from"/*.tgz; do
    [[ -e $pack ]] || continue
    tmp=$(mktemp -d)
    tar xzf "$pack" -C "$tmp"
    run=$(ls "$tmp")
    mkdir -p "$root/$run"
    # A file already here wins: a finished model, an evaluation or a newer checkpoint is never replaced.
    (cd "$tmp/$run" && find . -type f) | while read -r f; do
      target=$root/$run/${f#./}
      if [[ -e $target ]]; then echo "experiment_train: kept the existing $target"; continue; fi
      mkdir -p "$(dirname "$target")"
      cp "$tmp/$run/$f" "$target.partial" && mv "$target.partial" "$target"
    done
    rm -rf "$tmp"
    echo "experiment_train: $root/$run: $(find "$root/$run/models" -name '*.done' 2>/dev/null | wc -l) finished models"
  done
  exit 0
fi
: "${OUT:?set OUT to the output folder of the device run}"
budget=${BUDGET_S:-570}
t0=$SECONDS
left() { echo $((budget - (SECONDS - t0))); }
bin=${BIN:-build-gpu/bin}
app=$bin/confsgm
backend=${BACKEND:-cuda}
dist_epochs=${DIST_EPOCHS:-1700}
tors_epochs=${TORSION_EPOCHS:-3700}   # TORSION_EARLY_STOP (592) too: the test turns it off
train_sdf=${TRAIN_SDF:-data/drugs/train.sdf.gz}   # the test's smaller sets
val_sdf=${VAL_SDF:-data/drugs/val.sdf.gz}
if [[ -f $bin/lib.tar.xz ]]; then
  tar xJf "$bin/lib.tar.xz" -C /tmp   # the RDKit, Boost and xtb libraries build.sh packed
  export LD_LIBRARY_PATH=/tmp/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
work=${WORK:-/tmp/experiment}
rm -rf "$work"
mkdir -p "$work"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc; git rev-parse HEAD; } \
  2>&1 | tee "$OUT/card.txt"
card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || echo "no GPU")
lambdas=${LAMBDAS:-0.05 0.1 0.2}
log() { echo "[experiment_train +$((SECONDS - t0)) s] $*" | tee -a "$OUT/progress.txt"; }

# A finished run (all its epochs) gets the .done marker paper_experiment.sh looks for; a stopped one keeps its
# checkpoint for the next run to resume.
mark_if_finished() {
  local model=$1 epochs=$2 where=$3
  if grep -q -e "done: step [0-9]*, epoch $epochs," -e "stopped early" "$model.train.log" && [[ -f $model ]]; then
    touch "$model.done"
    echo "trained on $where" > "$model.where"
  else
    echo "partly trained on $where (resume here)" > "$model.where"
  fi
}

# The conformers and evaluations of the distance models in $dist (FAMILY $1, default drugs) on this machine, while
# time is left (bias: a later plain run).
distance_pass() {
  PY=$(command -v python3) NO_TRAINING=1 DEFER_BIAS=1 SKIP_BUILD=1 APP=$app BACKEND=$backend SPACE=distance \
    FAMILY=${1:-drugs} SEEDS=${PASS_SEEDS:-1} LAMBDAS="$lambdas" THREADS=${PASS_THREADS:-6} OUT=$dist timeout $(($(left) - 30)) \
    bash examples/experiments/paper_experiment.sh > "$dist/partial_pass.log" 2>&1
  log "distance ${1:-drugs}: partial pass exit $?"
  echo "sampled on $card by benchmarks/gpu/experiment_train.sh" > "$dist/gen/sampled_on.txt"
}
# Unfinished samplings (generate's journal and partial output, gzipped in a committed state): a journal records the
# backend, so a CPU sampling cannot be resumed here, nor one of this machine's there; the GPU samples it anew.
drop_unfinished_samplings() { rm -f "$1"/gen/*.partial.sdf "$1"/gen/*.partial.sdf.journal* "$1"/gen/*.partial.sdf.partial*; }
if [[ ${1:-} == pass ]]; then
  passed=0
  for run in ${PASS_RUNS:-distance_drugs distance_qm9}; do
    [[ -d $root/$run/models ]] || { log "pass: no $root/$run/models; $run skipped"; continue; }
    (($(left) > ${PASS_MIN_S:-90})) || { log "pass: $(left) s left; $run skipped"; continue; }
    dist=$work/$run
    cp -a "$root/$run" "$dist"
    drop_unfinished_samplings "$dist"
    distance_pass "${run#distance_}"
    drop_unfinished_samplings "$dist"
    tar czf "$OUT/${run}_pass.tgz" -C "$work" --exclude "$run/models" --exclude "$run/gen" "$run"
    tar czf "$OUT/${run}_gen.tgz" -C "$work" "$run/gen"
    passed=$((passed + 1))
  done
  ls -la "$OUT"
  ((passed)) || exit 3
  exit 0
fi

# Distance space: the first seed's baseline and grid models, one GPU process each (1,700 epochs, patience 170:
# paper_experiment.sh's Drugs settings).
dist=$work/distance_drugs
mkdir -p "$dist/models"
dist_minutes=${DIST_MINUTES:-5.5}
dist_jobs=("baseline_s1 1 --perturbation none")
for lam in $lambdas; do dist_jobs+=("ip_l${lam}_s1 1 --perturbation ip --lambda $lam"); done
# One distance training (paper_experiment.sh's Drugs settings): MODEL SEED BACKEND THREADS "EXTRA ARGUMENTS".
train_distance() {
  # shellcheck disable=SC2086
  "$app" train --space distance --train "$train_sdf" --val "$val_sdf" --out "$1" --seed "$2" --epochs "$dist_epochs" \
    --patience 170 --early-stop 340 --max-minutes "$dist_minutes" --threads "$4" --backend "$3" --quiet $5 > "$1.train.log" 2>&1
}
pids=()
for job in "${dist_jobs[@]}"; do
  read -r name seed extra <<< "$job"
  m=$dist/models/$name.bin
  train_distance "$m" "$seed" "$backend" 1 "$extra" &
  pids+=($!)
done
log "distance: ${#dist_jobs[@]} GPU trainings started (cap $dist_minutes min)"
# A training that failed at its start (say, no usable GPU) goes on on the CPU backend, for a checkpoint at least.
sleep "${START_CHECK_S:-30}"
for i in "${!dist_jobs[@]}"; do
  read -r name seed extra <<< "${dist_jobs[$i]}"
  m=$dist/models/$name.bin
  if ! kill -0 "${pids[$i]}" 2> /dev/null && ! grep -q "done: step" "$m.train.log"; then
    log "distance: $name failed on $backend: $(tail -1 "$m.train.log"); on the CPU instead"
    mv "$m.train.log" "$m.failed.log"
    train_distance "$m" "$seed" cpu 2 "$extra" &
    pids[$i]=$!
  fi
done

# Torsion space on the CPU cores: matching (30 conformers per molecule, as paper_experiment.sh on Drugs), then the
# trainings, each stopped with a checkpoint 60 s before the budget ends.
tors=$work/torsion_drugs
mkdir -p "$tors/models" "$tors/data"
(
  for split in train val; do
    src=$train_sdf; [[ $split == val ]] && src=$val_sdf
    "$app" match --input "$src" --output "$tors/data/$split.matched.sdf.partial.sdf" --threads "${MATCH_THREADS:-10}" \
      --conformers-per-molecule 30 --report "$tors/data/$split.matching.tsv" 2> "$tors/data/$split.match.log"
    s=$?
    [[ $s -le 1 ]] || { log "torsion: match $split failed ($s)"; exit 1; }
    mv "$tors/data/$split.matched.sdf.partial.sdf" "$tors/data/$split.matched.sdf"
    echo "$src 30" > "$tors/data/$split.matched.source"
  done
  log "torsion: matching done"
  minutes=$(awk -v s="$(($(left) - 60))" 'BEGIN { printf "%.2f", (s < 6 ? 6 : s) / 60 }')  # never 0: no cap
  tjobs=("baseline_s1 1 --perturbation none")
  for lam in $lambdas; do tjobs+=("ip_l${lam}_s1 1 --perturbation ip --lambda $lam"); done
  tjobs+=("baseline_s2 2 --perturbation none" "baseline_s3 3 --perturbation none")
  tp=()
  for job in "${tjobs[@]}"; do
    read -r name seed extra <<< "$job"
    m=$tors/models/$name.bin
    # shellcheck disable=SC2086
    "$app" train --space torsion --matched --conformers-per-molecule 30 --train "$tors/data/train.matched.sdf" \
      --val "$tors/data/val.matched.sdf" --out "$m" --seed "$seed" --epochs "$tors_epochs" --patience 296 --early-stop "${TORSION_EARLY_STOP:-592}" --max-minutes "$minutes" \
      --threads 2 --backend cpu --quiet $extra > "$m.train.log" 2>&1 &
    tp+=($!)
  done
  log "torsion: ${#tjobs[@]} CPU trainings started (cap $minutes min)"
  wait "${tp[@]}"
  for job in "${tjobs[@]}"; do
    read -r name _ <<< "$job"
    mark_if_finished "$tors/models/$name.bin" "$tors_epochs" "the CPU of the $card machine (2 threads)"
  done
  log "torsion: trainings stopped"
) &
tors_pid=$!

wait "${pids[@]}"
for job in "${dist_jobs[@]}"; do
  read -r name _ <<< "$job"
  mark_if_finished "$dist/models/$name.bin" "$dist_epochs" "$card"
done
log "distance: trainings stopped: $(find "$dist/models" -name '*.done' | wc -l) of ${#dist_jobs[@]} finished"

if (($(left) > ${PASS_MIN_S:-90})); then distance_pass; fi
wait "$tors_pid"
rm -f "$tors"/data/*.partial.sdf
drop_unfinished_samplings "$dist"
# A finished model's checkpoint is not needed again. The files come back at most 16 MiB each: conformers apart.
for done in "$dist"/models/*.done "$tors"/models/*.done; do [[ -e $done ]] && rm -f "${done%.done}.ckpt"; done
tar czf "$OUT/distance_drugs.tgz" -C "$work" --exclude distance_drugs/gen distance_drugs
[[ -d $dist/gen ]] && tar czf "$OUT/distance_drugs_gen.tgz" -C "$work" distance_drugs/gen
tar czf "$OUT/torsion_drugs.tgz" -C "$work" --exclude torsion_drugs/data torsion_drugs
tar czf "$OUT/torsion_drugs_data.tgz" -C "$work" torsion_drugs/data
ls -la "$OUT"
log "packed"
