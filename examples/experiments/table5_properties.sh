#!/usr/bin/env bash
# Table V analogue (ensemble property prediction, GFN2-xTB) for a generator
# against the project's QM9 test references: 30 molecules x 50 conformers,
# seeded. Default generator: RDKit ETKDG (the baseline row).
#   bash examples/experiments/table5_properties.sh                 # ETKDG
#   MMFF=1 bash examples/experiments/table5_properties.sh          # ETKDG + MMFF94 (label etkdg-mmff)
#   RELAX=1 bash examples/experiments/table5_properties.sh         # generated conformers relaxed by xtb (TD protocol)
#   GEN=path/to/generated.sdf LABEL=confgf bash examples/experiments/table5_properties.sh
# Output: results/table5/<label>.{txt,json}. Build: build/ (cmake --build build).
set -euo pipefail
cd "$(dirname "$0")/../.."
app=${APP:-build/examples/confsgm}
ref=${REF:-data/qm9/test.sdf.gz}
out=results/table5
mkdir -p "$out"
base=etkdg${MMFF:+-mmff}
label=${LABEL:-$base${RELAX:+-xtbrelax}}
gen=${GEN:-}
if [[ -z $gen ]]; then
  gen=$out/${base}50.sdf
  # 50 ETKDG conformers for every test molecule (seed 42); properties draws 30 molecules of them.
  [[ -f $gen ]] || "$app" generate --input "$ref" --num 50 --seed 42 --output "$gen" --quiet ${MMFF:+--mmff}
fi
"$app" properties --ref "$ref" --gen "$gen" --molecules 30 --conformers 50 --seed 2021 --label "$label" \
  --json "$out/$label.json" --quiet ${RELAX:+--relax} | tee "$out/$label.txt"
