#!/usr/bin/env bash
# Builds the GPU test and benchmark programs on this (CPU) machine for the H100
# (sm_90) and collects them in build-gpu/bin, the folder to carry to the GPU
# machine. Only CUDA code and the Eigen-only core go in: no RDKit is needed there.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash cmake/install_deps.sh
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCONFSGM_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DCONFSGM_NATIVE=OFF > /dev/null
cmake --build build-gpu --target confsgm_gpu_tests confsgm_gpu_torsion_tests bench_distance_gpu bench_torsion_gpu -j 2
mkdir -p build-gpu/bin
cp build-gpu/tests/confsgm_gpu_tests build-gpu/tests/confsgm_gpu_torsion_tests build-gpu/benchmarks/bench_distance_gpu \
  build-gpu/benchmarks/bench_torsion_gpu build-gpu/bin/
ls -la build-gpu/bin
