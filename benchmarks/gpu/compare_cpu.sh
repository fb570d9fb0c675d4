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
if [[ -f $dir/torsional_drugs_gpu.sdf ]]; then  # the Drugs test set with the QM9 models (1.25 A)
  $py benchmarks/gpu/compare_sdf.py results/drugs_transfer/qm9-torsion-ip_s1.sdf "$dir/torsional_drugs_gpu.sdf"
  "$app" evaluate --ref data/drugs/test.sdf.gz --gen "$dir/torsional_drugs_gpu.sdf" --threshold 1.25 \
    --label "torsional, Drugs (GPU)" --quiet
  "$app" evaluate --ref data/drugs/test.sdf.gz --gen "$dir/confgf_drugs_gpu.sdf" --threshold 1.25 \
    --label "confgf, Drugs (GPU)" --quiet
fi
