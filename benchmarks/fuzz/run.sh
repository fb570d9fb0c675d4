#!/usr/bin/env bash
# The fuzz campaign (issue 26; docs/reliability.md, "Fuzzing"): builds the libFuzzer targets of tests/fuzz/ with
# clang (ASan + UBSan, libstdc++ assertions) in build-fuzz/ and fuzzes each for SECONDS, one after the other,
# one process each (JOBS=N runs N workers per target). Each target's corpus grows in results/fuzz/corpus/<target>
# (seeded from tests/fuzz/corpus/<target>, kept between runs: a later run continues the campaign); a crash,
# leak, timeout or out-of-memory input is written to results/fuzz/artifacts/<target>/. Every run appends one line
# per target to docs/results/fuzz_campaign.tsv: executions, corpus size, findings, exit status.
#   bash benchmarks/fuzz/run.sh                 # every target, 60 s each
#   bash benchmarks/fuzz/run.sh 600 npy sdf     # two targets, 10 min each
# A finding becomes a regression input: copy it to tests/data/fuzz_regressions/<target>/ (CTest replays it,
# tests/fuzz/CMakeLists.txt), fix the parser, rerun.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(checkpoint journal xtb_output npy smiles_list sdf)
build=${BUILD_DIR:-build-fuzz}
jobs=${JOBS:-1}
log=docs/results/fuzz_campaign.tsv
command -v clang++ > /dev/null || { echo "run.sh: clang++ is needed (apt-get install clang)" >&2; exit 2; }
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCONFSGM_BUILD_FUZZERS=ON -DCONFSGM_BUILD_TESTS=OFF -DCONFSGM_BUILD_EXAMPLES=OFF -DCONFSGM_BUILD_BENCHMARKS=OFF \
  -DCONFSGM_ENABLE_CUDA=OFF -DCONFSGM_NATIVE=OFF > /dev/null || exit 1
cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}" > /dev/null || { echo "run.sh: build failed" >&2; exit 1; }
mkdir -p "$(dirname "$log")"
[[ -f $log ]] || printf 'date\ttarget\tseconds\tjobs\texecutions\texec_per_s\tcorpus_files\tnew_units\tpeak_rss_mb\tfindings\tstatus\n' > "$log"
# Third-party leaks only, each with its reason (tests/fuzz/lsan.supp).
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
status=0
for t in "${targets[@]}"; do
  corpus=results/fuzz/corpus/$t
  artifacts=results/fuzz/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  before=$(find "$artifacts" -type f | wc -l)
  out=results/fuzz/$t.log
  # -max_len: the seeds of the text formats are a few kB; longer inputs only slow the search.
  # RDKit's MOL parser leaks on many malformed blocks (tests/fuzz/lsan.supp): a leak check after each such input
  # slows fuzz_sdf to ~15 inputs/s, so it fuzzes without one, and its whole corpus is replayed with the leak
  # check once at the end (below).
  leaks=1
  [[ $t == sdf ]] && leaks=0
  "$build/tests/fuzz/fuzz_$t" "$corpus" "tests/fuzz/corpus/$t" -max_total_time="$seconds" -print_final_stats=1 \
    -rss_limit_mb=2048 -timeout=20 -max_len=16384 -detect_leaks=$leaks -artifact_prefix="$artifacts/" \
    $( ((jobs > 1)) && echo "-fork=$jobs -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1" ) > "$out" 2>&1
  rc=$?
  # libFuzzer's final statistics (counted before the leak replay below adds its own lines); with -fork the
  # workers' running total is in the last "#N: cov: ..." progress line.
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$out" | awk '{s += $2} END {print s + 0}')
  ((jobs > 1)) && execs=$(grep -oE '^#[0-9]+: cov' "$out" | tail -1 | grep -oE '[0-9]+')
  if ((rc == 0 && leaks == 0)); then  # the corpus once, leak check at exit
    "$build/tests/fuzz/fuzz_$t" -runs=0 -detect_leaks=1 -artifact_prefix="$artifacts/" "$corpus" >> "$out" 2>&1
    rc=$?
  fi
  new=$(grep -oE 'stat::new_units_added: *[0-9]+' "$out" | awk '{s += $2} END {print s + 0}')
  rss=$(grep -oE 'stat::peak_rss_mb: *[0-9]+' "$out" | awk '{if ($2 > m) m = $2} END {print m + 0}')
  files=$(find "$corpus" -type f | wc -l)
  findings=$(( $(find "$artifacts" -type f | wc -l) - before ))
  rate=$(awk -v e="${execs:-0}" -v s="$seconds" 'BEGIN {printf "%.0f", e / s}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$t" "$seconds" "$jobs" \
    "${execs:-0}" "$rate" "$files" "$new" "$rss" "$findings" "$rc" >> "$log"
  echo "fuzz_$t: ${execs:-0} executions in $seconds s, corpus $files files, $findings findings (exit $rc; log $out)"
  ((rc == 0)) || status=1
done
echo "campaign so far (per target, every run of $log):"
awk -F'\t' 'NR > 1 {e[$2] += $5; f[$2] += $10; s[$2] += $3} END {for (t in e) printf "  %-12s %12d executions %7d s %3d findings\n", t, e[t], s[t], f[t]}' "$log" | sort
exit $status
