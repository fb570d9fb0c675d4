#!/usr/bin/env bash
# Issue 23's whole comparison, resumable (rerun to continue; a pipeline cut off mid-run resumes at its next
# molecule): the QM9 test set with the distance SGM, then the Drugs test set one seed at a time (0.75 and 1.25 A),
# then the distance SGM + MMFF94 on QM9. Each step is relax_comparison.sh; logs go to results/relax_comparison_all/.
#   setsid nohup bash examples/experiments/relax_comparison_all.sh > /dev/null 2>&1 &
#   APP=build-new/examples/confsgm bash examples/experiments/relax_comparison_all.sh
# The QM9 summaries take their CPU cost column from results/relax_cost_qm9_test/cost.md (relax_cost.sh) when it exists.
set -uo pipefail
cd "$(dirname "$0")/../.."
echo 10 > /proc/self/autogroup 2>/dev/null || true  # background work: below interactive work, above the data build
app=${APP:-build/examples/confsgm}
logs=results/relax_comparison_all
mkdir -p "$logs"
cost=results/relax_cost_qm9_test/cost.md
[[ -f $cost ]] || cost=
refiners="none mmff94 gfnff"
qm9_extra="etkdg+gfn2=etkdg:--relax_gfn2 torsional+gfn2=torsional:--relax_gfn2 torsional-baseline=torsional:--model_qm9-torsion torsional-baseline+mmff94=torsional:--model_qm9-torsion_--relax_mmff94 torsional-baseline+mmff94-os4-diverse=torsional:--model_qm9-torsion_--relax_mmff94_--oversample_4_--select_diverse_--energy-window_6"
drugs_extra="etkdg+gfn2=etkdg:--relax_gfn2 torsional+gfn2=torsional:--relax_gfn2 torsional-baseline=torsional:--model_drugs-torsion torsional-baseline+mmff94=torsional:--model_drugs-torsion_--relax_mmff94"
step() {  # log name, then the settings
  local log=$1
  shift
  env "$@" APP="$app" bash examples/experiments/relax_comparison.sh > "$logs/$log.log" 2>&1 ||
    { echo "relax_comparison_all: $log failed ($logs/$log.log)" >&2; exit 1; }
  echo "relax_comparison_all: $log done $(date -u +%FT%TZ)" | tee -a "$logs/progress.log"
}
step qm9_confgf FAMILY=qm9 SPLIT=test SEEDS="1 2 3" REFINERS="$refiners" COST="$cost" EXTRA="$qm9_extra confgf=confgf:"
for seeds in "1" "1 2" "1 2 3"; do
  step "drugs_seeds_${seeds// /_}" FAMILY=drugs SPLIT=test SEEDS="$seeds" REFINERS="$refiners" EXTRA="$drugs_extra"
done
step qm9_confgf_mmff94 FAMILY=qm9 SPLIT=test SEEDS="1 2 3" REFINERS="$refiners" COST="$cost" \
  EXTRA="$qm9_extra confgf=confgf: confgf+mmff94=confgf:--relax_mmff94"
