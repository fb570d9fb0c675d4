#!/usr/bin/env bash
# Epsilon Scaling at sampling time (issue 24; confsgm/sample/compensation.hpp): examples/experiments/compensation.sh
# with one setting per (k, b) pair: the exposure bias per level (paired over settings) and COV/MAT of a generated
# ensemble, for the family's torsion baseline and IP models. Writes results/epsilon_<family>_<split>/summary.md;
# finished parts are skipped: rerun to resume.
#   bash examples/experiments/epsilon_scaling.sh          # QM9 validation set, torsion models, ~15 min on 2 cores
# Settings (environment): SETTINGS (space-separated k:b pairs; 0:1 is the unscaled sampler), FAMILY, SPLIT, SEED,
# MODELS, BIAS_SAMPLES, THREADS, APP, OUT as in compensation.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
family=${FAMILY:-qm9}
split=${SPLIT:-val}
named=""
for setting in ${SETTINGS:-0:1 0:1.005 0:1.01 0:1.02 0.0025:1}; do
  k=${setting%%:*}; b=${setting#*:}
  named+=" k${k}_b$b:epsilon-k=$k,epsilon-b=$b"
done
SPACE=torsion FAMILY=$family SPLIT=$split SETTINGS=$named \
  MODELS=${MODELS:-models/$family-torsion.bin models/$family-torsion-ip.bin} \
  OUT=${OUT:-results/epsilon_${family}_$split} exec bash examples/experiments/compensation.sh
