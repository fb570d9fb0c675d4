#!/usr/bin/env bash
# The cost per conformer of generator x refinement pipelines (issue 23), measured so that background load does not
# decide it: each pipeline runs on the first MOLECULES molecules of a set, REPEATS times, interleaved with the other
# pipelines, and the table gives the median wall time and the CPU time (user + system of confsgm and the xtb
# processes it waits for) per written conformer. Wall time depends on what else the machine runs; CPU time much
# less. Writes OUT/cost.md.
#   bash examples/experiments/relax_cost.sh                     # QM9 test set, 40 molecules, 8 pipelines, ~8 min
# Settings (environment): FAMILY (qm9 | drugs), SPLIT (test), MOLECULES (40), REPEATS (2), PIPELINES (name=method:options
# as in relax_pipelines.sh), SEED (1), THREADS (0 = all), APP, OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
family=${FAMILY:-qm9}
split=${SPLIT:-test}
molecules=${MOLECULES:-40}
repeats=${REPEATS:-2}
seed=${SEED:-1}
threads=${THREADS:-0}
app=${APP:-build/examples/confsgm}
out=${OUT:-results/relax_cost_${family}_$split}
window=6
pipelines=${PIPELINES:-etkdg=etkdg: etkdg+mmff94=etkdg:--relax_mmff94 etkdg+mmff94-os4-diverse=etkdg:--relax_mmff94_--oversample_4_--select_diverse_--energy-window_$window etkdg+gfn2=etkdg:--relax_gfn2 torsional=torsional: torsional+mmff94=torsional:--relax_mmff94 torsional+mmff94-os4-diverse=torsional:--relax_mmff94_--oversample_4_--select_diverse_--energy-window_$window torsional+gfn2=torsional:--relax_gfn2}
[[ -x $app ]] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null; cmake --build build --target confsgm_app -j 2 > /dev/null; }
mkdir -p "$out"
bash examples/experiments/first_molecules.sh "data/$family/$split.sdf.gz" "$molecules" > "$out/ref.sdf"
for ((r = 1; r <= repeats; r++)); do
  for p in $pipelines; do
    name=${p%%=*}; spec=${p#*=}; method=${spec%%:*}; extra=${spec#*:}; extra=${extra//_/ }
    [[ -f $out/$name.$r.time ]] && continue
    # shellcheck disable=SC2086  # extra holds options
    /usr/bin/time -f "%e %U %S" -o "$out/$name.$r.time.partial" "$app" generate --method "$method" --input "$out/ref.sdf" \
      --output "$out/$name.sdf" --seed "$seed" --threads "$threads" --quiet $extra 2> "$out/$name.$r.log" || [[ $? -eq 1 ]]
    echo "$(grep -c '^\$\$\$\$' "$out/$name.sdf") $(tail -1 "$out/$name.$r.time.partial")" > "$out/$name.$r.time"
    rm -f "$out/$name.$r.time.partial"
  done
done
/usr/bin/python3 - "$out" "$family" "$split" "$molecules" "$repeats" "$(nproc)" $pipelines <<'PY'
import statistics, sys
out, family, split, molecules, repeats, cores, pipelines = *sys.argv[1:7], sys.argv[7:]
lines = [f"Cost per written conformer, {family} {split} set, first {molecules} molecules, median of {repeats} interleaved "
         f"runs, {cores} cores (`bash examples/experiments/relax_cost.sh`)\n",
         "| pipeline | conformers | wall ms per conformer | CPU ms per conformer (user + system, with xtb) |",
         "|---|---|---|---|"]
for p in pipelines:
    name = p.split("=")[0]
    runs = [open(f"{out}/{name}.{r}.time").read().split() for r in range(1, int(repeats) + 1)]
    n = int(runs[0][0])
    wall = statistics.median(float(x[1]) for x in runs) * 1000 / max(n, 1)
    cpu = statistics.median(float(x[2]) + float(x[3]) for x in runs) * 1000 / max(n, 1)
    lines.append(f"| {name} | {n} | {wall:.1f} | {cpu:.1f} |")
text = "\n".join(lines) + "\n"
open(f"{out}/cost.md", "w").write(text)
print(text, end="")
PY
