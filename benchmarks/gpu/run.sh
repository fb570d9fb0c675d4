#!/usr/bin/env bash
# Runs the GPU tests and benchmarks on a lent GPU machine, from programs built
# here with benchmarks/gpu/build.sh (carry build-gpu/bin). Under 8 minutes.
# Writes the card, the commit, the test log and the benchmark tables to
# $RESULTS (default results/gpu); docs/performance.md records them.
# When build-gpu/bin holds the application (APP=1 bash benchmarks/gpu/build.sh),
# it also runs `generate --backend cuda` end to end with the shipped IP models on
# the QM9 test set, seed 1, the settings of the experiment's seed-1 CPU runs;
# benchmarks/gpu/compare_cpu.sh compares the files here.
#   device run (carry ["build-gpu/bin"]):
#   RESULTS=/tmp/gpu bash benchmarks/gpu/run.sh; tar czf $OUT/gpu_results.tgz -C /tmp/gpu .
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build-gpu/bin}
out=${RESULTS:-results/gpu}
mkdir -p "$out"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; } > "$out/card.txt" 2>&1
git rev-parse HEAD > "$out/commit.txt" 2>/dev/null || echo unknown > "$out/commit.txt"
cat "$out/card.txt"
rc=0
if [[ ${APP_ONLY:-0} != 1 ]]; then  # APP_ONLY=1: the application runs alone
  timeout 150 "$bin/confsgm_gpu_tests" 2>&1 | tee "$out/gpu_tests.txt" || rc=1
  timeout 100 "$bin/confsgm_gpu_torsion_tests" 2>&1 | tee -a "$out/gpu_tests.txt" || rc=1
  timeout 120 "$bin/bench_distance_gpu" "$out/bench_distance_gpu.csv" 2>&1 | tee "$out/bench_distance_gpu.md" || rc=1
  timeout 100 "$bin/bench_torsion_gpu" "$out/bench_torsion_gpu.csv" 2>&1 | tee "$out/bench_torsion_gpu.md" || rc=1
  # NCCL between two GPUs (NCCL=1 bash benchmarks/gpu/build.sh): needs mpirun and libnccl on the machine.
  if [[ -x $bin/confsgm_gpu_nccl_check ]] && command -v mpirun > /dev/null; then
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 mpirun -n 2 "$bin/confsgm_gpu_nccl_check" \
      2>&1 | tee "$out/nccl_check.txt"
    [[ ${PIPESTATUS[0]} == 0 || ${PIPESTATUS[0]} == 77 ]] || rc=1
  fi
fi
if [[ -x $bin/confsgm ]]; then
  tar xJf "$bin/lib.tar.xz" -C /tmp  # the RDKit, Boost and xtb libraries build.sh packed
  export LD_LIBRARY_PATH=/tmp/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  app=$bin/confsgm
  # The composition examples with the network on the device (one type changed from the CPU programs CI runs).
  for space in distance torsion; do
    [[ -x $bin/example_compose_${space}_cuda ]] || continue
    timeout 120 "$bin/example_compose_${space}_cuda" tests/data/geom_drugs_train10.sdf 2>&1 |
      tee -a "$out/compose_cuda.txt" || rc=1
  done
  zcat data/qm9/test.sdf.gz > "$out/qm9_test.sdf"
  # The distance model on the first $CONFGF_MOLECULES molecules (all their reference conformers; default: all):
  # 5,000 Langevin steps per conformer, many molecules per launch.
  awk -v n="${CONFGF_MOLECULES:-100000}" '
    { rec = rec $0 "\n" }
    /^>  <mol_id>/ { getline id; rec = rec id "\n"; if (!(id in seen)) { seen[id] = 1; count++ } }
    /^\$\$\$\$/ { if (count <= n) printf "%s", rec; rec = "" }' "$out/qm9_test.sdf" > "$out/qm9_test_head.sdf"
  run_app() {  # label, then generate's arguments
    local label=$1
    shift
    local t0=$SECONDS
    timeout 200 "$app" generate "$@" --seed 1 --backend cuda --quiet --output "$out/$label.sdf" 2> "$out/$label.log"
    local s=$?
    echo "$label: exit $s, $((SECONDS - t0)) s" | tee -a "$out/app_runs.txt"
    [[ $s -le 1 ]] || rc=1
  }
  run_app torsional_gpu --method torsional --model models/qm9-torsion-ip.bin --input "$out/qm9_test.sdf"
  run_app confgf_gpu --method confgf --model models/qm9-distance-ip.bin --input "$out/qm9_test_head.sdf" \
    --steps-per-level 100
  # The Drugs test set with the QM9 models (as examples/experiments/drugs_transfer.sh, seed 1; the torsional file
  # is compared with that run's, the distance model's has no CPU run).
  run_app torsional_drugs_gpu --method torsional --model models/qm9-torsion-ip.bin --input data/drugs/test.sdf.gz
  run_app confgf_drugs_gpu --method confgf --model models/qm9-distance-ip.bin --input data/drugs/test.sdf.gz \
    --steps-per-level 100
  rm -f "$out/qm9_test.sdf"
fi
exit $rc
