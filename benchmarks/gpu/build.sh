#!/usr/bin/env bash
# Builds the GPU test and benchmark programs on this (CPU) machine for the H100
# (sm_90) and collects them in build-gpu/bin, the folder to carry to the GPU
# machine. Only CUDA code and the Eigen-only core go in: no RDKit is needed there.
#   APP=1 also builds the reference application with the CUDA backend (and the composition examples with
#   Execution = backend::cuda_device, examples/compose/*_cuda.cu) and copies it
#   with the shared libraries the GPU machine lacks (RDKit, Boost, xtb, OpenBLAS: 57 MB,
#   packed as lib.tar.xz, about 15 MB) into build-gpu/bin, so run.sh can run it end to
#   end there.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash cmake/install_deps.sh
# NCCL=1 also builds the NCCL check (2+ GPUs, mpirun) and links the application with NCCL (libnccl is 218 MB: it
# does not fit the carry, so the GPU machine must have it); by default both go without it.
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCONFSGM_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DCONFSGM_NATIVE=OFF -DCONFSGM_ENABLE_NCCL=$([[ ${NCCL:-0} == 1 ]] && echo ON || echo OFF) > /dev/null
targets=(confsgm_gpu_tests confsgm_gpu_torsion_tests bench_distance_gpu bench_torsion_gpu)
[[ ${NCCL:-0} == 1 ]] && targets+=(confsgm_gpu_nccl_check)
[[ ${APP:-0} == 1 ]] && targets+=(confsgm_app example_compose_distance_cuda example_compose_torsion_cuda)
cmake --build build-gpu --target "${targets[@]}" -j 2
rm -rf build-gpu/bin
mkdir -p build-gpu/bin
cp build-gpu/tests/confsgm_gpu_tests build-gpu/tests/confsgm_gpu_torsion_tests build-gpu/benchmarks/bench_distance_gpu \
  build-gpu/benchmarks/bench_torsion_gpu build-gpu/bin/
[[ ${NCCL:-0} == 1 ]] && cp build-gpu/tests/confsgm_gpu_nccl_check build-gpu/bin/
if [[ ${APP:-0} == 1 ]]; then
  cp build-gpu/examples/confsgm build-gpu/examples/example_compose_distance_cuda \
    build-gpu/examples/example_compose_torsion_cuda build-gpu/bin/
  mkdir -p build-gpu/bin/lib
  # Every library the application loads except the C runtime, the compiler's runtime and CUDA's own: those the
  # GPU machine has, in versions at least as new.
  ldd build-gpu/examples/confsgm | awk '/=> \// { print $3 }' |
    grep -Ev '/(libc|libm|libmvec|libdl|libpthread|librt|ld-linux[^/]*|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas[^/]*|libnccl)\.so' |
    while read -r lib; do cp -L "$lib" build-gpu/bin/lib/; done
  tar cJf build-gpu/bin/lib.tar.xz -C build-gpu/bin lib  # the device tool carries at most 64 MiB in all
  rm -rf build-gpu/bin/lib
fi
ls -la build-gpu/bin
du -sh build-gpu/bin
