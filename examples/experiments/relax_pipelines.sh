#!/usr/bin/env bash
# Generator x refinement (issue 23): the same molecules, seed and conformer counts (2 x the reference count) through
# several pipelines, each scored with COV/MAT against the references, with the wall time per written conformer.
# Writes results/relax_<family>_<split>/pipelines.md (Drugs: a table at 0.75 A and one at 1.25 A, each pipeline's
# conformers evaluated at both). Finished pipelines are skipped: rerun to resume.
#   bash examples/experiments/relax_pipelines.sh                 # QM9 validation set, 5 pipelines, ~6 min on 2 cores
#   FAMILY=drugs SPLIT=val bash examples/experiments/relax_pipelines.sh
# Settings (environment): FAMILY (qm9 | drugs), SPLIT (val | test; choose settings on val only), SEED (1),
# PIPELINES (name=method:extra-options, space-separated, an underscore in the options standing for a space;
# default below), THREADS (0 = all), APP, OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
family=${FAMILY:-qm9}
split=${SPLIT:-val}
seed=${SEED:-1}
threads=${THREADS:-0}
app=${APP:-build/examples/confsgm}
out=${OUT:-results/relax_${family}_$split}
pipelines=${PIPELINES:-etkdg=etkdg: etkdg+mmff94=etkdg:--mmff etkdg+relax-mmff94=etkdg:--relax_mmff94 torsional=torsional: torsional+mmff94=torsional:--relax_mmff94}
ref=data/$family/$split.sdf.gz
# The first threshold's evaluation is <name>.json, every further one's <name>@T.json.
case $family in qm9) thresholds="0.5" ;; drugs) thresholds="0.75 1.25" ;; *) echo "FAMILY must be qm9 or drugs" >&2; exit 2 ;; esac
threshold=${thresholds%% *}
[[ -f $ref ]] || { echo "missing $ref (see docs/data.md)" >&2; exit 3; }
[[ -x $app ]] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null; cmake --build build --target confsgm_app -j 2 > /dev/null; }
mkdir -p "$out"
names=()
for p in $pipelines; do
  name=${p%%=*}; spec=${p#*=}; method=${spec%%:*}; extra=${spec#*:}; extra=${extra//_/ }
  names+=("$name")
  for t in ${thresholds#"$threshold"}; do  # further thresholds of a finished pipeline (also after an upgrade)
    [[ -f $out/$name.json && ! -f $out/$name@$t.json ]] || continue
    "$app" evaluate --ref "$ref" --gen "$out/$name.sdf" --threshold "$t" --label "$name" \
      --json "$out/$name@$t.json.partial" --threads "$threads" --quiet > "$out/$name@$t.txt" || [[ $? -eq 1 ]]
    mv "$out/$name@$t.json.partial" "$out/$name@$t.json"
  done
  [[ -f $out/$name.json ]] && continue
  # A pipeline cut off (say at the end of a session) resumes at its next molecule (generate --resume); its wall time
  # then covers the last part only, which <name>.resumed records. A journal that cannot be resumed (written by a
  # build with other settings) is dropped and the pipeline starts over.
  resume=()
  if [[ -f $out/$name.partial.sdf.journal ]]; then resume=(--resume); touch "$out/$name.resumed"; fi
  run_generate() {
    # shellcheck disable=SC2086  # extra holds options
    "$app" generate --method "$method" --input "$ref" --output "$out/$name.partial.sdf" --seed "$seed" \
      --threads "$threads" --quiet $extra "$@"
  }
  start=$(date +%s%N)
  rc=0
  if ((${#resume[@]})); then run_generate --resume 2>> "$out/$name.gen.log" || rc=$?; else run_generate 2> "$out/$name.gen.log" || rc=$?; fi
  if ((rc >= 2 && ${#resume[@]})); then
    echo "relax_pipelines: $name: the cut-off run cannot be resumed (status $rc); starting over" >&2
    rm -f "$out/$name.partial.sdf."* "$out/$name.resumed"
    start=$(date +%s%N)
    rc=0
    run_generate 2> "$out/$name.gen.log" || rc=$?
  fi
  ((rc <= 1)) || { echo "relax_pipelines: $name: generate failed (status $rc; $out/$name.gen.log)" >&2; exit "$rc"; }
  echo $(( ($(date +%s%N) - start) / 1000000 )) > "$out/$name.ms"
  mv "$out/$name.partial.sdf" "$out/$name.sdf"
  "$app" evaluate --ref "$ref" --gen "$out/$name.sdf" --threshold "$threshold" --label "$name" \
    --json "$out/$name.json.partial" --threads "$threads" --quiet > "$out/$name.txt" || [[ $? -eq 1 ]]
  for t in ${thresholds#"$threshold"}; do
    "$app" evaluate --ref "$ref" --gen "$out/$name.sdf" --threshold "$t" --label "$name" \
      --json "$out/$name@$t.json.partial" --threads "$threads" --quiet > "$out/$name@$t.txt" || [[ $? -eq 1 ]]
    mv "$out/$name@$t.json.partial" "$out/$name@$t.json"
  done
  mv "$out/$name.json.partial" "$out/$name.json"
done
/usr/bin/python3 - "$out" "$family" "$split" "$seed" "$thresholds" "$(nproc)" "${names[@]}" <<'PY'
import json, re, sys
out, family, split, seed, thresholds, cores, names = *sys.argv[1:7], sys.argv[7:]
lines = []
for i, threshold in enumerate(thresholds.split()):
  tag = f"@{threshold}" if i > 0 else ""
  lines += ["\n" if i > 0 else "",
         f"{family} {split} set, seed {seed}, threshold {threshold} A, 2 x the reference count, {cores} cores "
         f"(`bash examples/experiments/relax_pipelines.sh`)\n",
         "| pipeline | COV-R mean (%) | MAT-R mean (A) | COV-R median (%) | MAT-R median (A) | COV-P mean (%) | "
         "MAT-P mean (A) | molecules failed | conformers written | ms per conformer | of which generation / "
         "refinement / selection |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
  for name in names:
    a = json.load(open(f"{out}/{name}{tag}.json"))["aggregate"]
    ms = int(open(f"{out}/{name}.ms").read())
    log = open(f"{out}/{name}.gen.log").read().strip().splitlines()
    last = log[-1]
    # The run's wall time split by the shares of generate's "time by stage" line (absent in logs of older runs).
    stages = [re.search(r"generation ([0-9.]+), refinement ([0-9.]+), selection ([0-9.]+)", l) for l in log]
    stages = [float(x) for x in next((m.groups() for m in stages if m), ())]
    written = int(re.search(r"wrote (\d+) conformers", last).group(1))
    failed = re.search(r"(\d+) molecules failed", last).group(1)
    lines.append(f"| {name} | {100 * a['cov_r_mean']:.2f} | {a['mat_r_mean']:.4f} | {100 * a['cov_r_median']:.2f} | "
                 f"{a['mat_r_median']:.4f} | {100 * a['cov_p_mean']:.2f} | {a['mat_p_mean']:.4f} | {failed} | "
                 f"{written} | {ms / max(written, 1):.1f} | " +
                 (" / ".join(f"{ms * t / sum(stages) / max(written, 1):.1f}" for t in stages) if sum(stages) > 0 else "-")
                 + " |")
text = "\n".join(lines).lstrip("\n") + "\n"
open(f"{out}/pipelines.md", "w").write(text)
print(text, end="")
PY
