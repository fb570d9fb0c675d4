#!/usr/bin/env bash
# Sampling-time exposure-bias compensation (issue 24; confsgm/sample/compensation.hpp): for each model and each
# named setting, the exposure bias per level (paper Algorithm 2, `confsgm bias`: the same seed gives every setting
# the same perturbed starts, so the comparison is paired) and COV/MAT of a generated ensemble (2 x the reference
# count). Every setting is exactly what it names: a model file's recommended settings are not applied
# (--sampling-defaults none).
# Writes results/compensation_<space>_<family>_<split>/summary.md; finished parts are skipped: rerun to
# resume.
#   bash examples/experiments/compensation.sh        # QM9 validation set, torsion baseline model, seed 1
# Settings (environment): SPACE (torsion | distance), FAMILY (qm9 | drugs), SPLIT (val | test; choose settings on
# val only), SEED (1), MODELS (files; default the family's baseline model of the space), STEPS (torsion: sampling
# levels, default 20; distance: Langevin steps per level, default 100), SETTINGS (space-separated NAME:OPTIONS,
# OPTIONS a comma-separated list of generate/bias options without the dashes, e.g.
# "none: c1:corrector-steps=1,corrector-step-size=0.05"; an option written gen.NAME=V goes to generate only, e.g.
# "pg:gen.particle-guidance=recall", whose bias is then the setting's other options), BIAS_SAMPLES (samples per level, default 1000;
# 0: no bias runs, COV/MAT only),
# MOLECULES (only the first N reference molecules; default all), THREADS, APP, OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
space=${SPACE:-torsion}
family=${FAMILY:-qm9}
split=${SPLIT:-val}
seed=${SEED:-1}
threads=${THREADS:-0}
app=${APP:-build/examples/confsgm}
bias_samples=${BIAS_SAMPLES:-1000}
case $space in
  torsion) method=torsional; steps=${STEPS:-20}; step_options=(--steps "$steps"); bias_steps=(--steps "$steps") ;;
  distance) method=confgf; steps=${STEPS:-100}; step_options=(--steps-per-level "$steps")
            bias_steps=(--steps-per-level "$steps") ;;
  *) echo "SPACE must be torsion or distance" >&2; exit 2 ;;
esac
models=${MODELS:-models/$family-$space.bin}
out=${OUT:-results/compensation_${space}_${family}_$split}
settings=${SETTINGS:-none: c1_r0.05:corrector-steps=1,corrector-step-size=0.05 c1_r0.2:corrector-steps=1,corrector-step-size=0.2 \
c3_r0.05:corrector-steps=3,corrector-step-size=0.05 shift_w2:sigma-shift-window=2 shift_w2_c0.3:sigma-shift-window=2,sigma-shift-cutoff=0.3}
case $family in qm9) threshold=0.5 ;; drugs) threshold=0.75 ;; *) echo "FAMILY must be qm9 or drugs" >&2; exit 2 ;; esac
ref=data/$family/$split.sdf.gz
[[ -f $ref ]] || { echo "missing $ref (see docs/data.md)" >&2; exit 3; }
[[ -x $app ]] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null; cmake --build build --target confsgm_app -j 2 > /dev/null; }
mkdir -p "$out"
# The reference set, optionally cut to its first MOLECULES molecules (generate and evaluate see the same ones).
input=$ref
if [[ -n ${MOLECULES:-} ]]; then
  input=$out/reference_first${MOLECULES}.sdf
  # A molecule is its mol_id (each reference conformer has a record name of its own).
  [[ -f $input ]] || /usr/bin/python3 - "$ref" "$MOLECULES" "$input" <<'PY'
import gzip, os, sys
src, n, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
text = (gzip.open if src.endswith(".gz") else open)(src, "rt").read()
ids, keep = [], []
for record in (r for r in text.split("$$$$\n") if r.strip()):
    lines = record.split("\n")
    mol = lines[lines.index(">  <mol_id>") + 1] if ">  <mol_id>" in lines else lines[0]
    if mol not in ids:
        if len(ids) >= n:
            continue
        ids.append(mol)
    keep.append(record)
open(dst + ".partial", "w").write("$$$$\n".join(keep) + "$$$$\n")
os.replace(dst + ".partial", dst)
PY
fi
options_of() {  # "a=1,gen.b=2" -> --a 1 (and with "gen", also --b 2: options of generate only)
  local spec=$1 which=${2:-} item
  [[ -z $spec ]] && return 0
  IFS=, read -ra items <<< "$spec"
  for item in "${items[@]}"; do
    if [[ $item == gen.* ]]; then
      [[ $which == gen ]] || continue
      item=${item#gen.}
    fi
    printf -- '--%s\n%s\n' "${item%%=*}" "${item#*=}"
  done
}
for model in $models; do
  [[ -f $model ]] || { echo "missing model $model" >&2; exit 3; }
  m=$(basename "$model" .bin)
  for setting in $settings; do
    name=${m}_s${steps}_${setting%%:*}
    mapfile -t extra < <(options_of "${setting#*:}")
    mapfile -t gen_extra < <(options_of "${setting#*:}" gen)
    if [[ $bias_samples -gt 0 && ! -f $out/$name.bias.csv ]]; then
      "$app" bias --model "$model" --data "$input" --samples-per-level "$bias_samples" --seed "$seed" \
        --threads "$threads" "${bias_steps[@]}" "${extra[@]}" --label "$name" --csv "$out/$name.bias.csv.partial" \
        > "$out/$name.bias.md" 2> "$out/$name.bias.log"
      mv "$out/$name.bias.csv.partial" "$out/$name.bias.csv"
    fi
    if [[ ! -f $out/$name.json ]]; then
      start=$(date +%s.%N)
      "$app" generate --method "$method" --model "$model" --input "$input" --output "$out/$name.sdf" --seed "$seed" \
        --sampling-defaults none --threads "$threads" "${step_options[@]}" "${gen_extra[@]}" --quiet 2> "$out/$name.gen.log" || [[ $? -eq 1 ]]
      awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f\n", b - a}' > "$out/$name.seconds"
      "$app" evaluate --ref "$input" --gen "$out/$name.sdf" --threshold "$threshold" --label "$name" \
        --json "$out/$name.json.partial" --threads "$threads" --quiet > "$out/$name.txt" || [[ $? -eq 1 ]]
      mv "$out/$name.json.partial" "$out/$name.json"
    fi
  done
done
/usr/bin/python3 - "$out" "$family" "$split" "$seed" "$threshold" "$bias_samples" "$models" "$settings" "$space" \
  "$steps" <<'PY'
import csv, json, os, sys
out, family, split, seed, threshold, samples, models, settings, space, steps = sys.argv[1:11]
metric = "torsion_error_per_bond_mean" if space == "torsion" else "coordinate_l1_per_atom_mean"
unit = "torsion error per bond (rad)" if space == "torsion" else "coordinate L1 per atom (A)"
lines = [f"{space} space, {family} {split} set, seed {seed}, {steps} {'levels' if space == 'torsion' else 'steps per level'}; "
         f"COV/MAT at {threshold} A (2 x the reference count); bias: {samples} samples per level, paired over settings "
         f"(`bash examples/experiments/compensation.sh`)\n",
         f"| model | setting | options | bias, {unit}, mean over levels | bias at the 5 lowest levels | "
         "COV-R mean (%) | MAT-R mean (A) | COV-P mean (%) | MAT-P mean (A) | generate (s) |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for model in models.split():
    m = os.path.basename(model)[:-4]
    for setting in settings.split():
        label, options = setting.split(":", 1)
        name = f"{m}_s{steps}_{label}"
        err = [float(r[metric]) for r in csv.DictReader(open(f"{out}/{name}.bias.csv"))] if int(samples) else []
        mean = lambda v: f"{sum(v) / len(v):.4f}" if v else "-"
        a = json.load(open(f"{out}/{name}.json"))["aggregate"]
        secs = open(f"{out}/{name}.seconds").read().strip()
        lines.append(f"| {m} | {label} | {options.replace(',', ' ') or '-'} | {mean(err)} | "
                     f"{mean(err[-5:])} | {100 * a['cov_r_mean']:.2f} | {a['mat_r_mean']:.4f} | "
                     f"{100 * a['cov_p_mean']:.2f} | {a['mat_p_mean']:.4f} | {secs} |")
text = "\n".join(lines) + "\n"
open(f"{out}/summary.md.partial", "w").write(text)
os.replace(f"{out}/summary.md.partial", f"{out}/summary.md")
print(text, end="")
PY
