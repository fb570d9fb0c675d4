#!/usr/bin/env bash
# Compares the application's GPU run (benchmarks/gpu/run.sh, unpacked into DIR) with the CPU runs of the same
# models, seed and settings (the experiment's seed-1 runs, examples/experiments/paper_experiment.sh), conformer
# by conformer, and evaluates the GPU conformers (COV/MAT at 0.5 A) beside the CPU ones.
#   bash benchmarks/gpu/compare_cpu.sh DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:?usage: compare_cpu.sh DIR (the unpacked results of run.sh)}
app=${APP:-build/examples/confsgm}
py=/usr/bin/python3
$py benchmarks/gpu/compare_sdf.py results/torsion_qm9/gen/ip_l0.2_s1.sdf "$dir/torsional_gpu.sdf"
$py benchmarks/gpu/compare_sdf.py results/distance_qm9/gen/ip_l0.1_s1.sdf "$dir/confgf_gpu.sdf" \
  --subset "$dir/confgf_cpu_same_molecules.sdf"
"$app" evaluate --ref data/qm9/test.sdf.gz --gen "$dir/torsional_gpu.sdf" --threshold 0.5 --label "torsional (GPU)" --quiet
"$app" evaluate --ref data/qm9/test.sdf.gz --gen results/torsion_qm9/gen/ip_l0.2_s1.sdf --threshold 0.5 \
  --label "torsional (CPU)" --quiet
"$app" evaluate --ref "$dir/qm9_test_head.sdf" --gen "$dir/confgf_gpu.sdf" --threshold 0.5 --label "confgf (GPU)" --quiet
"$app" evaluate --ref "$dir/qm9_test_head.sdf" --gen "$dir/confgf_cpu_same_molecules.sdf" --threshold 0.5 \
  --label "confgf (CPU)" --quiet
