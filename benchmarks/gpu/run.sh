#!/usr/bin/env bash
# Runs the GPU tests and benchmarks on a lent GPU machine, from programs built
# here with benchmarks/gpu/build.sh (carry build-gpu/bin). Under 8 minutes.
# Writes the card, the commit, the test log and the benchmark table to $OUT
# (or results/gpu); docs/performance.md records them.
#   device run (carry ["build-gpu/bin"]): bash benchmarks/gpu/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build-gpu/bin}
out=${OUT:-results/gpu}
mkdir -p "$out"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; } > "$out/card.txt" 2>&1
git rev-parse HEAD > "$out/commit.txt" 2>/dev/null || echo unknown > "$out/commit.txt"
cat "$out/card.txt"
rc=0
timeout 150 "$bin/confsgm_gpu_tests" 2>&1 | tee "$out/gpu_tests.txt" || rc=1
timeout 100 "$bin/confsgm_gpu_torsion_tests" 2>&1 | tee -a "$out/gpu_tests.txt" || rc=1
timeout 120 "$bin/bench_distance_gpu" "$out/bench_distance_gpu.csv" 2>&1 | tee "$out/bench_distance_gpu.md" || rc=1
timeout 100 "$bin/bench_torsion_gpu" "$out/bench_torsion_gpu.csv" 2>&1 | tee "$out/bench_torsion_gpu.md" || rc=1
exit $rc
