#!/usr/bin/env bash
# Every experiment behind docs/results.md, one after another, each followed by publish.sh (tables, plots and the
# shipped models). Each step is resumable (paper_experiment.sh skips finished outputs and resumes training from its
# checkpoint), so a run cut off by the end of a session continues where it stopped: rerun the same command.
#
#   bash examples/experiments/reproduce_all.sh                       # everything: about 13 h on 2 cores
#   RUNS="torsion:drugs distance:drugs" bash examples/experiments/reproduce_all.sh
#
# RUNS lists SPACE:FAMILY pairs in the order they run (default: the cheapest first); TRAIN_FIRST below. Every run
# uses 3 seeds and the lambda grid "0.05 0.1 0.2"; the other settings are paper_experiment.sh's defaults
# (FAMILY=drugs: COV at 1.25 A).
# The whole-run log is results/reproduce_all.log; each experiment also logs to results/<space>_<family>.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-torsion:qm9 torsion:drugs distance:qm9 distance:drugs}
# Every run's data up front: a missing set would otherwise stop the queue hours in.
for run in $runs; do
  space=${run%%:*} family=${run##*:}
  [[ $space == "$run" || -z $family ]] && { echo "reproduce_all: RUNS entry '$run' is not SPACE:FAMILY" >&2; exit 2; }
  for split in train val test; do
    [[ -f data/$family/$split.sdf.gz ]] || { echo "reproduce_all: $run needs data/$family/$split.sdf.gz, not built yet" \
      "(bash data/build_all.sh builds it; docs/data.md), or leave $run out of RUNS" >&2; exit 3; }
  done
done
mkdir -p results
log() { echo "[reproduce_all $(date +%H:%M:%S)] $*" | tee -a results/reproduce_all.log >&2; }
# One build up front: the experiments then run with SKIP_BUILD=1 and cannot replace the binary under each other.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build --target confsgm_app -j 2 > /dev/null
# Every run's models first (TRAIN_ONLY=1), then each run's bias estimates, sampling and tables: training needs the
# CPU, while the sampling of trained models can also be done on a lent GPU (benchmarks/gpu/experiment_train.sh pass),
# so a session that is lent one finds every model it could sample already trained. TRAIN_FIRST=0 runs each
# experiment whole before the next instead, so that the first is finished and published sooner.
[[ ${TRAIN_FIRST:-1} == 0 ]] || for run in $runs; do
  space=${run%%:*} family=${run##*:}
  log "train $space $family"
  SKIP_BUILD=1 TRAIN_ONLY=1 SPACE=$space FAMILY=$family SEEDS="1 2 3" LAMBDAS="0.05 0.1 0.2" \
    bash examples/experiments/paper_experiment.sh 2> >(tee -a "results/${space}_${family}.log" >&2)
done
for run in $runs; do
  space=${run%%:*} family=${run##*:}
  log "start $space $family"
  # The experiment's progress goes to its own log and to the terminal.
  SKIP_BUILD=1 SPACE=$space FAMILY=$family SEEDS="1 2 3" LAMBDAS="0.05 0.1 0.2" \
    bash examples/experiments/paper_experiment.sh 2> >(tee -a "results/${space}_${family}.log" >&2)
  SPACE=$space FAMILY=$family bash examples/experiments/publish.sh | tee -a results/reproduce_all.log
  log "done $space $family"
done
# The QM9 models on the Drugs test set (results/drugs_transfer/transfer.md).
bash examples/experiments/drugs_transfer.sh | tee -a results/reproduce_all.log
log "all done"
