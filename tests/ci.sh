#!/usr/bin/env bash
# The test command of the README (and of .ci/run): install what is missing,
# configure, build everything (CUDA code too where nvcc exists), run CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install_deps.sh python3-matplotlib   # the experiment driver's plots (cli:experiment_driver_smoke)
jobs=$(nproc)
cmake -S . -B build-ci -DCMAKE_BUILD_TYPE=Release
cmake --build build-ci -j"$jobs"
ctest --test-dir build-ci -j"$jobs" --output-on-failure --timeout 900
