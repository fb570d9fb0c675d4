#!/usr/bin/env bash
# The comparison a chemist makes (issue 23, item 5): every generator x every refinement x oversampling, on one
# set, for several seeds; then mean +- sd over the seeds and a plot of MAT-R against the time per conformer.
# Each seed is one relax_pipelines.sh run (results/.../seedS/, resumable pipeline by pipeline: rerun the same
# command to continue).
#   FAMILY=qm9 SPLIT=test bash examples/experiments/relax_comparison.sh
#   FAMILY=qm9 SPLIT=test SEEDS="1 2 3" REFINERS="none mmff94 gfnff" bash examples/experiments/relax_comparison.sh
# Settings (environment): FAMILY (qm9 | drugs), SPLIT (test | val), SEEDS ("1 2 3"), GENERATORS (name=method:options,
# an underscore standing for a space; default: ETKDG and the torsional SGM on its shipped defaults), REFINERS
# (none mmff94 mmff94s gfnff gfn2), OVERSAMPLE ("1 4": K > 1 keeps the requested number by diversity, inside
# ENERGY_WINDOW kcal/mol (6) when refined), EXTRA (further pipelines outside the cross product, name=method:options
# as in relax_pipelines.sh, e.g. the GFN2-xTB rows at one oversampling only), COST (cost.md of relax_cost.sh: its
# CPU time per conformer as a column and as the plot's x; the wall times of a loaded machine mislead), APP, OUT. Writes OUT/summary.md and
# OUT/mat_r_vs_time.png (Drugs: also summary@1.25.md and mat_r_vs_time@1.25.png, the 1.25 A evaluation).
#   FAMILY=qm9 SPLIT=test REFINERS="none mmff94 gfnff" \
#     EXTRA="etkdg+gfn2=etkdg:--relax_gfn2 confgf=confgf: confgf+mmff94=confgf:--relax_mmff94" \
#     bash examples/experiments/relax_comparison.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
family=${FAMILY:-qm9}
split=${SPLIT:-test}
seeds=${SEEDS:-1 2 3}
generators=${GENERATORS:-etkdg=etkdg: torsional=torsional:}
refiners=${REFINERS:-none mmff94 gfnff gfn2}
oversample=${OVERSAMPLE:-1 4}
window=${ENERGY_WINDOW:-6}
app=${APP:-build/examples/confsgm}
out=${OUT:-results/relax_compare_${family}_$split}
pipelines=()
for g in $generators; do
  gname=${g%%=*}; spec=${g#*=}; method=${spec%%:*}; gopts=${spec#*:}
  for r in $refiners; do
    for k in $oversample; do
      name=$gname; opts=$gopts
      [[ $r != none ]] && name+="+$r" && opts+="_--relax_$r"
      if [[ $k -gt 1 ]]; then
        name+="-os$k-diverse"; opts+="_--oversample_${k}_--select_diverse"
        [[ $r != none ]] && opts+="_--energy-window_$window"
      fi
      pipelines+=("$name=$method:${opts#_}")
    done
  done
done
for e in ${EXTRA:-}; do pipelines+=("$e"); done
folders=()
for s in $seeds; do
  FAMILY=$family SPLIT=$split SEED=$s APP=$app OUT=$out/seed$s PIPELINES="${pipelines[*]}" \
    bash examples/experiments/relax_pipelines.sh > /dev/null
  folders+=("$out/seed$s")
  echo "relax_comparison: seed $s done ($out/seed$s/pipelines.md)" >&2
done
names=("${pipelines[@]%%=*}")
cost=()
[[ -n ${COST:-} ]] && cost=(--cost "$COST")
/usr/bin/python3 examples/experiments/relax_summary.py --out "$out" --names "${names[*]}" "${cost[@]}" "${folders[@]}"
if [[ $family == drugs ]]; then
  /usr/bin/python3 examples/experiments/relax_summary.py --out "$out" --names "${names[*]}" --threshold 1.25 "${cost[@]}" \
    "${folders[@]}"
fi
