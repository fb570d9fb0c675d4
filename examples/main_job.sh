#!/usr/bin/env bash
# The README's main job on shipped defaults: build the reference application,
# generate 2 x n_ref ETKDG conformers for the 10 real GEOM-Drugs molecules
# shipped in tests/data, and evaluate them against the GEOM references
# (COV/MAT at 1.25 A, recall and precision), printing the paper-style table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install_deps.sh
cmake -S . -B build-main -DCMAKE_BUILD_TYPE=Release -DCONFSGM_BUILD_TESTS=OFF -DCONFSGM_BUILD_BENCHMARKS=OFF > /dev/null
cmake --build build-main -j"$(nproc)" --target confsgm_app
out=${OUT_DIR:-results/main_job}
mkdir -p "$out"
ref=tests/data/geom_drugs_train10.sdf
./build-main/examples/confsgm generate --method etkdg --input "$ref" --output "$out/etkdg.sdf" --seed 42
./build-main/examples/confsgm evaluate --ref "$ref" --gen "$out/etkdg.sdf" --threshold 1.25 --per-molecule \
    --json "$out/etkdg_covmat.json"
echo "conformers: $out/etkdg.sdf, report: $out/etkdg_covmat.json"
