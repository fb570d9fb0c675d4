#!/usr/bin/env bash
# How far the shipped QM9-trained torsion models carry to drug-sized molecules: 2 x n_ref conformers for every
# molecule of the Drugs test set with ETKDG and with both shipped torsion models, for seeds 1-3, evaluated at
# 1.25 A. Writes results/drugs_transfer/transfer.md (mean +- sd over seeds). Resumable: finished steps are skipped.
#   bash examples/experiments/drugs_transfer.sh          # about 10 min on 2 cores
# Settings (environment): SEEDS ("1 2 3"), THREADS (0 = all), APP (build/examples/confsgm), OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=${SEEDS:-1 2 3}
threads=${THREADS:-0}
app=${APP:-build/examples/confsgm}
out=${OUT:-results/drugs_transfer}
ref=data/drugs/test.sdf.gz
py=/usr/bin/python3
[[ -f $ref ]] || { echo "missing $ref (see docs/data.md)" >&2; exit 3; }
[[ -x $app ]] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null; cmake --build build --target confsgm_app -j 2 > /dev/null; }
mkdir -p "$out"
for seed in $seeds; do
  for label in etkdg qm9-torsion qm9-torsion-ip; do
    name=${label}_s$seed
    [[ -f $out/$name.json ]] && continue
    method=(--method torsional --model "$label"); [[ $label == etkdg ]] && method=(--method etkdg)
    "$app" generate --input "$ref" --output "$out/$name.partial.sdf" "${method[@]}" --seed "$seed" --threads "$threads" \
      --quiet 2> "$out/$name.gen.log" || [[ $? -eq 1 ]]   # 1: some molecules failed (listed in the log)
    mv "$out/$name.partial.sdf" "$out/$name.sdf"
    "$app" evaluate --ref "$ref" --gen "$out/$name.sdf" --threshold 1.25 --label "$label" --json "$out/$name.json.partial" \
      --threads "$threads" --quiet > "$out/$name.txt" || [[ $? -eq 1 ]]
    mv "$out/$name.json.partial" "$out/$name.json"
  done
done
"$py" - "$out" $seeds <<'EOF'
import json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2:]
keys = [("cov_r_mean", 100, 2), ("mat_r_mean", 1, 4), ("cov_p_mean", 100, 2), ("mat_p_mean", 1, 4)]
rows = []
for label in ("etkdg", "qm9-torsion", "qm9-torsion-ip"):
    aggs = [json.load(open(f"{out}/{label}_s{s}.json"))["aggregate"] for s in seeds]
    cells = []
    for key, scale, digits in keys:
        vals = [scale * a[key] for a in aggs]
        sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
        cells.append(f"{statistics.mean(vals):.{digits}f} ± {sd:.{digits}f}")
    rows.append(f"| {label} | " + " | ".join(cells) + " |")
text = (f"Drugs test set, threshold 1.25 A, seeds {' '.join(seeds)} (mean ± sd)\n\n"
        "| method | COV-R mean (%) | MAT-R mean (A) | COV-P mean (%) | MAT-P mean (A) |\n|---|---|---|---|---|\n"
        + "\n".join(rows) + "\n")
open(f"{out}/transfer.md", "w").write(text)
print(text, end="")
EOF
