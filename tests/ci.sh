#!/usr/bin/env bash
# The test command of the README (and of .ci/run): install what is missing,
# configure, build everything (CUDA code too where nvcc exists), run CTest.
# The unit tests and a copy of the application are built with ASan + UBSan (CONFSGM_SANITIZE_TESTS): a
# sanitizer report fails its test. LeakSanitizer is on; no suppressions are needed today (a third-party report
# would get one in tests/sanitizer.supp, with its reason).
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install_deps.sh python3-matplotlib   # the experiment driver's plots (cli:experiment_driver_smoke)
jobs=$(nproc)
cmake -S . -B build-ci -DCMAKE_BUILD_TYPE=Release -DCONFSGM_SANITIZE_TESTS=ON
cmake --build build-ci -j"$jobs"
# Not detect_stack_use_after_return: with -march=native on an AVX-512 machine, GCC 12's realigned stack frames and
# ASan's fake stack crash inside the test harness (docs/reliability.md).
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-ci -j"$jobs" --output-on-failure --timeout 900
