#!/usr/bin/env bash
# Builds (or brings up to date) the data scripts' own copy of the application and prints its path:
#   app=$(bash data/build_app.sh)
# A folder of its own (build-data/), so rebuilding the development tree never swaps the binary under a
# running build. JOBS=2 compile jobs. Installs missing Debian packages first (cmake/install_deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install_deps.sh >&2
cmake -S . -B build-data -DCMAKE_BUILD_TYPE=Release -DCONFSGM_BUILD_TESTS=OFF -DCONFSGM_BUILD_BENCHMARKS=OFF \
  -DCONFSGM_ENABLE_CUDA=OFF -DCONFSGM_NATIVE=OFF > /dev/null
cmake --build build-data --target confsgm_app -j "${JOBS:-2}" > /dev/null
echo build-data/examples/confsgm
