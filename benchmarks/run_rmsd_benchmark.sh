#!/usr/bin/env bash
# Runs the RMSD benchmark and prints the confsgm / RDKit speed ratio.
# usage: benchmarks/run_rmsd_benchmark.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake --build "$build" -j"$(nproc)" --target bench_rmsd > /dev/null
out=$build/bench_rmsd.json
"$build/benchmarks/bench_rmsd" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$out" --benchmark_out_format=json
python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
med = {b["run_name"]: b for b in d["benchmarks"] if b.get("aggregate_name") == "median"}
c = med["BM_confsgm_best_rmsd_pairs"]["real_time"]; r = med["BM_rdkit_getBestRMS_pairs"]["real_time"]
print(f"machine: {d['context'].get('host_name','?')}, {d['context']['num_cpus']} CPUs @ {d['context']['mhz_per_cpu']} MHz")
print(f"2,080 GEOM pairs, single thread: confsgm {c:.3f} ms, RDKit getBestRMS {r:.1f} ms, ratio {r/c:.1f}x")
PY
