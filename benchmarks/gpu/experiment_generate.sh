#!/usr/bin/env bash
# The sampling of the paper experiment's trained models on a lent GPU: on 2 CPU cores the distance model's
# 5,000 Langevin steps per conformer take about 50 min per model on the Drugs test set, on an H100 under a
# minute (docs/performance.md). Three steps:
#
#   here:    APP=1 bash benchmarks/gpu/build.sh
#            RUNS="distance:drugs distance:qm9" bash benchmarks/gpu/experiment_generate.sh prepare
#              (gpu-carry/: each run's data, trained models, finished evaluations and lambda; hard links, small)
#   device:  run, carry ["build-gpu/bin", "gpu-carry"]:
#            RUNS="distance:drugs distance:qm9" bash benchmarks/gpu/experiment_generate.sh device
#              (paper_experiment.sh GENERATE_ONLY=1 BACKEND=cuda for each run: the conformers of every trained
#              model not yet evaluated, under $OUT/<space>_<family>/gen)
#   here:    bash benchmarks/gpu/experiment_generate.sh collect FILES_AT
#              (copies the generated files into results/<space>_<family>/gen, never over an existing one)
#
# Then the next plain run (reproduce_all.sh or paper_experiment.sh) evaluates those files instead of sampling
# again, and goes on. The GPU's conformers differ from the CPU's by rounding (docs/performance.md, "CUDA backend");
# each collected file's log ends with the card it was sampled on, and docs/results.md says which runs were sampled
# where. RESULTS_ROOT (results), APP (build-gpu/bin/confsgm) and BACKEND (cuda) are for the script's own test.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-}
runs=${RUNS:-distance:drugs}
carry=gpu-carry
root=${RESULTS_ROOT:-results}          # where the experiments live here
app=${APP:-build-gpu/bin/confsgm}      # APP and BACKEND=cpu run the device step on a CPU (the script's own test)
backend=${BACKEND:-cuda}
case $mode in
  prepare)
    rm -rf "$carry"
    for run in $runs; do
      space=${run%%:*} family=${run##*:}
      src=$root/${space}_${family} dst=$carry/${space}_${family}
      [[ -d $src/models ]] || { echo "experiment_generate: $src has no trained model yet" >&2; exit 3; }
      mkdir -p "$dst/models" "$dst/eval"
      cp -al "$src/data" "$dst/data"
      # Finished models only (their .done marker), without the checkpoints: the carry holds 64 MiB in all.
      for done in "$src"/models/*.bin.done; do
        [[ -e $done ]] || continue
        ln "${done%.done}" "$dst/models/" && ln "$done" "$dst/models/"
      done
      cp -l "$src"/eval/*.json "$dst/eval/" 2>/dev/null || true   # evaluated: not sampled again
      [[ -f $src/lambda.txt ]] && cp "$src/lambda.txt" "$dst/"
      echo "experiment_generate: $dst: $(ls "$dst/models" | grep -c '\.done$') trained models"
    done
    du -sh "$carry" build-gpu/bin
    ;;
  device)
    : "${OUT:?set OUT to the output folder of the device run}"
    if [[ -f $(dirname "$app")/lib.tar.xz ]]; then
      tar xJf "$(dirname "$app")/lib.tar.xz" -C /tmp  # the RDKit, Boost and xtb libraries build.sh packed
      export LD_LIBRARY_PATH=/tmp/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    fi
    { nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo "no GPU ($backend)"; } |
      tee "$OUT/card.txt"
    for run in $runs; do
      space=${run%%:*} family=${run##*:}
      src=$carry/${space}_${family} dst=$OUT/${space}_${family}
      mkdir -p "$dst"
      # The inputs are read where they were carried; only what the run writes (gen/) comes back.
      for d in data models eval; do ln -sfn "$(realpath "$src/$d")" "$dst/$d"; done
      [[ -f $src/lambda.txt ]] && cp "$src/lambda.txt" "$dst/"
      GENERATE_ONLY=1 SKIP_BUILD=1 APP=$app BACKEND=$backend SPACE=$space FAMILY=$family OUT=$dst \
        bash examples/experiments/paper_experiment.sh 2>&1 | tee "$dst/generate.log"
      rm -f "$dst"/{data,models,eval,lambda.txt}
      rmdir "$dst/bias" 2>/dev/null || true
    done
    ;;
  collect)
    from=${2:?collect FILES_AT: the folder the files of the device run came back to}
    for run in $runs; do
      space=${run%%:*} family=${run##*:}
      [[ -d $from/${space}_${family}/gen ]] || continue
      mkdir -p "$root/${space}_${family}/gen"
      card=$(cat "$from/card.txt" 2>/dev/null || echo "an unnamed device")
      for f in "$from/${space}_${family}"/gen/*.sdf; do
        [[ -e $f ]] || continue
        target=$root/${space}_${family}/gen/$(basename "$f")
        if [[ -e $target ]]; then echo "experiment_generate: kept the existing $target"; continue; fi
        { cat "${f%.sdf}.log"; echo "note: sampled on $card by benchmarks/gpu/experiment_generate.sh"; } \
          > "${target%.sdf}.log"
        cp "$f" "$target.partial" && mv "$target.partial" "$target"
        echo "experiment_generate: $target (sampled on $card)"
      done
    done
    ;;
  *)
    echo "usage: RUNS=\"SPACE:FAMILY ...\" bash benchmarks/gpu/experiment_generate.sh prepare | device | collect FILES_AT" >&2
    exit 2
    ;;
esac
