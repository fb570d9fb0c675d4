#!/usr/bin/env bash
# `confsgm generate --oversample K --select energy|diverse`: a pool of K x the requested conformers, refined, of
# which the requested number is written, with `selection` and `pool` in every record; the same file for any
# --threads (refinement and selection on); the energy rule writes ascending energies that begin with the pool's
# lowest; --mmff (ETKDG's alias) gives energies too; the first conformers of an oversampled pool are the
# samples a run without oversampling draws (each conformer keeps its noise stream). Then Epsilon Scaling,
# corrector steps, sigma-shift and the model files' recommended compensation (--sampling-defaults).
# usage: cli_generate_select.sh CONFSGM_BINARY WORK_DIR
set -uo pipefail
bin=$1; work=$2
rm -rf "$work"; mkdir -p "$work"
source "$(dirname "$0")/lib.sh"  # fail, die, data, models
cat > "$work/in.csv" <<'CSV'
mol_id,smiles
pentanol,CCCCCO
acetylphenylalanine,CC(=O)N[C@@H](Cc1ccccc1)C(=O)O
glycerol,OCC(O)CO
butanamide,CCCC(N)=O
CSV
count() { grep -c '^\$\$\$\$' "$1"; }
prop() { awk -v p="$2" '$0 == ">  <" p ">" { getline; print }' "$1"; }  # every record's value of property P

# ETKDG + MMFF94 relaxation, pool of 3 x 4, energy rule, 1 and 2 threads.
etkdg=(generate --input "$work/in.csv" --num 4 --relax mmff94 --oversample 3 --select energy --seed 2 --quiet)
for t in 1 2; do
  "$bin" "${etkdg[@]}" --output "$work/e$t.sdf" --threads $t 2> "$work/e$t.log" || die "etkdg energy run ($t threads): $(cat "$work/e$t.log")"
done
cmp -s "$work/e1.sdf" "$work/e2.sdf" || die "energy selection: 1 and 2 threads wrote different files"
[[ $(count "$work/e1.sdf") -eq 16 ]] || die "energy selection: $(count "$work/e1.sdf") conformers, not 4 x 4"
[[ $(prop "$work/e1.sdf" selection | sed 's/, filled up//' | sort -u) == energy && $(prop "$work/e1.sdf" pool | sort -u) == 12 ]] \
  || die "records lack selection=energy, pool=12"
# Per molecule: the energies chosen by the rule ascend (records "energy, filled up" follow them), and the first is
# the lowest of the whole pool.
"$bin" generate --input "$work/in.csv" --num 12 --relax mmff94 --seed 2 --quiet --output "$work/pool.sdf" 2> /dev/null \
  || die "pool run failed"
python3 - "$work/e1.sdf" "$work/pool.sdf" <<'PY' || fail=1
import sys
def energies(path):
    out, mol, e, rule = {}, None, None, "energy"
    lines = open(path).read().split("\n")
    for i, l in enumerate(lines):
        if l == ">  <mol_id>": mol = lines[i + 1]
        if l == ">  <energy>": e = float(lines[i + 1])
        if l == ">  <selection>": rule = lines[i + 1]
        if l == "$$$$" and rule == "energy": out.setdefault(mol, []).append(e)  # "energy, filled up": only to reach the count
    return out
sel, pool = energies(sys.argv[1]), energies(sys.argv[2])
for mol, es in sel.items():
    if es != sorted(es): print(f"FAIL: {mol}: selected energies not ascending: {es}"); sys.exit(1)
    if abs(es[0] - min(pool[mol])) > 1e-6: print(f"FAIL: {mol}: first {es[0]} is not the pool's lowest {min(pool[mol])}"); sys.exit(1)
print("ok: energy selection ascends from the pool's lowest energy for", len(sel), "molecules")
PY

# ETKDG's --mmff gives the energies too.
"$bin" generate --input "$work/in.csv" --num 2 --mmff --oversample 2 --select energy --seed 2 --quiet --output "$work/m.sdf" \
  2> "$work/m.log" || die "--mmff --select energy: $(cat "$work/m.log")"
[[ $(count "$work/m.sdf") -eq 8 ]] || die "--mmff --select energy: not 8 conformers"

# Torsional SGM (shipped model), pool of 2 x 3, diversity rule without refinement, 1 and 2 threads.
tors=(generate --method torsional --input "$work/in.csv" --num 3 --oversample 2 --select diverse --seed 2 --quiet)
for t in 1 2; do
  "$bin" "${tors[@]}" --output "$work/t$t.sdf" --threads $t 2> "$work/t$t.log" || die "torsional diverse run ($t threads): $(cat "$work/t$t.log")"
done
cmp -s "$work/t1.sdf" "$work/t2.sdf" || die "diverse selection: 1 and 2 threads wrote different files"
[[ $(count "$work/t1.sdf") -eq 12 && $(prop "$work/t1.sdf" pool | sort -u) == 6 ]] || die "diverse selection: not 4 x 3 records from pools of 6"
# Without oversampling, the same seed samples the pool's first 3 conformers: titles _conf0.._conf2 of the pool of 6
# (conformers sampled independently: the Drugs model's recommended compensation couples a molecule's conformers,
# particle guidance always and sigma-shift's pooled estimate where conformers share a local structure, so there
# they depend on how many are drawn together).
"$bin" generate --method torsional --input "$work/in.csv" --num 6 --seed 2 --quiet --sampling-defaults none \
  --output "$work/t6.sdf" 2> /dev/null || die "pool of 6 failed"
"$bin" generate --method torsional --input "$work/in.csv" --num 3 --seed 2 --quiet --sampling-defaults none \
  --output "$work/t3.sdf" 2> /dev/null || die "run of 3 failed"
python3 - "$work/t6.sdf" "$work/t3.sdf" <<'PY' || fail=1
import sys
def blocks(path):
    out = {}
    for rec in open(path).read().split("$$$$\n"):
        if rec.strip(): out[rec.split("\n", 1)[0]] = rec.split("M  END")[0]
    return out
six, three = blocks(sys.argv[1]), blocks(sys.argv[2])
for title, rec in three.items():
    if six.get(title) != rec: print(f"FAIL: {title} differs between --num 3 and --num 6"); sys.exit(1)
print("ok: the first conformers of a larger pool are those of the smaller run:", len(three))
PY
# The default run (the models' recommended compensation), against which the options below compare.
"$bin" generate --method torsional --input "$work/in.csv" --num 3 --seed 2 --quiet --output "$work/td.sdf" 2> /dev/null || die "default run failed"

# Epsilon Scaling (--epsilon-b/--epsilon-k): the identity (b = 1) writes the unscaled run's file; b = 1.01 changes
# the samples and names itself in the records.
"$bin" generate --method torsional --input "$work/in.csv" --num 3 --seed 2 --quiet --epsilon-b 1 --output "$work/es1.sdf" 2> /dev/null \
  || die "--epsilon-b 1 failed"
cmp -s "$work/td.sdf" "$work/es1.sdf" || die "--epsilon-b 1 (the identity) changed the output"
"$bin" generate --method torsional --input "$work/in.csv" --num 3 --seed 2 --quiet --epsilon-b 1.01 --epsilon-k 0.0025 \
  --output "$work/es.sdf" 2> /dev/null || die "--epsilon-b 1.01 failed"
cmp -s "$work/td.sdf" "$work/es.sdf" && die "--epsilon-b 1.01 did not change the samples"
[[ $(prop "$work/es.sdf" epsilon_scaling | sort -u) == "k=0.0025 b=1.01" ]] || die "records lack epsilon_scaling=k=0.0025 b=1.01"
# Corrector steps and sigma-shift: a zero window writes the plain file; each changes the samples (the shift
# at 1 and 2 threads alike) and names itself in the records.
"$bin" generate --method torsional --input "$work/in.csv" --num 3 --seed 2 --quiet --corrector-steps 0 \
  --output "$work/c0.sdf" 2> /dev/null || die "--corrector-steps 0 failed"
cmp -s "$work/td.sdf" "$work/c0.sdf" || die "--corrector-steps 0 changed the output"
"$bin" generate --method torsional --input "$work/in.csv" --num 3 --seed 2 --quiet --corrector-steps 2 \
  --corrector-step-size 0.05 --output "$work/c2.sdf" 2> /dev/null || die "--corrector-steps 2 failed"
cmp -s "$work/td.sdf" "$work/c2.sdf" && die "--corrector-steps 2 did not change the samples"
[[ $(prop "$work/c2.sdf" corrector | sort -u) == "steps=2 step_size=0.05" ]] || die "records lack corrector=steps=2 step_size=0.05"
for t in 1 2; do
  "$bin" generate --method torsional --input "$work/in.csv" --num 3 --seed 2 --quiet --sigma-shift-window 3 \
    --threads $t --output "$work/shift$t.sdf" 2> /dev/null || die "--sigma-shift-window 3 failed"
done
cmp -s "$work/shift1.sdf" "$work/shift2.sdf" || die "--sigma-shift-window 3 depends on the thread count"
cmp -s "$work/td.sdf" "$work/shift1.sdf" && die "--sigma-shift-window 3 did not change the samples"
[[ $(prop "$work/shift1.sdf" sigma_shift | sort -u) == "window=3 cutoff=0" ]] || die "records lack sigma_shift=window=3 cutoff=0"
# The model's recommendation (--sampling-defaults model, the default): acetylphenylalanine goes to the Drugs IP
# model, whose file recommends sigma-shift window 4 and particle guidance (recall), and its records say so; the
# QM9 molecules go to qm9-torsion-ip, which recommends particle guidance (precision) alone. Without the
# recommendation (--sampling-defaults none, or each part given as none) every molecule samples plainly.
records() { awk -v p="$2" '$0 == ">  <mol_id>" { getline; id = $0 } $0 == ">  <" p ">" { getline; print id ":" $0 }' "$1" | sort -u; }
[[ $(records "$work/td.sdf" sigma_shift) == "acetylphenylalanine:window=4 cutoff=0" ]] \
  || die "default run: sigma_shift records '$(records "$work/td.sdf" sigma_shift)', not acetylphenylalanine's alone"
expected_guidance=$'acetylphenylalanine:recall\nbutanamide:precision\nglycerol:precision\npentanol:precision'
[[ $(records "$work/td.sdf" particle_guidance) == "$expected_guidance" ]] \
  || die "default run: particle_guidance records '$(records "$work/td.sdf" particle_guidance)', not each model's own"
"$bin" generate --method torsional --input "$work/in.csv" --num 3 --seed 2 --quiet --sampling-defaults none \
  --output "$work/plain.sdf" 2> /dev/null || die "--sampling-defaults none failed"
"$bin" generate --method torsional --input "$work/in.csv" --num 3 --seed 2 --quiet --sigma-shift-window 0 \
  --particle-guidance none --output "$work/w0.sdf" 2> /dev/null || die "--sigma-shift-window 0 failed"
cmp -s "$work/plain.sdf" "$work/w0.sdf" \
  || die "--sampling-defaults none and --sigma-shift-window 0 --particle-guidance none wrote different files"
# --sampler ode cannot run the recommended guidance: a note says so, and the records do not claim it.
"$bin" generate --method torsional --input "$work/in.csv" --num 3 --seed 2 --quiet --sampler ode \
  --output "$work/ode.sdf" 2> "$work/ode.log" || die "--sampler ode with the recommended guidance failed: $(cat "$work/ode.log")"
grep -q "recommends particle guidance (recall), which runs with --sampler sde" "$work/ode.log" \
  || die "--sampler ode: no note that the recommended particle guidance is not run"
[[ -z $(prop "$work/ode.sdf" particle_guidance) ]] || die "--sampler ode: records claim particle guidance"
cmp -s "$work/td.sdf" "$work/plain.sdf" && die "--sampling-defaults none wrote the default run's file (no recommendation followed?)"
[[ -z $(prop "$work/plain.sdf" sigma_shift) ]] || die "--sampling-defaults none: records name a sigma_shift"
# Particle guidance: the conformers of a molecule sampled jointly change the samples, do not depend on the thread
# count, and name themselves in the records.
for t in 1 2; do
  "$bin" generate --method torsional --input "$work/in.csv" --num 3 --seed 2 --quiet --particle-guidance recall \
    --threads $t --output "$work/pg$t.sdf" 2> /dev/null || die "--particle-guidance recall failed"
done
cmp -s "$work/pg1.sdf" "$work/pg2.sdf" || die "--particle-guidance recall depends on the thread count"
cmp -s "$work/td.sdf" "$work/pg1.sdf" && die "--particle-guidance recall did not change the samples"
[[ $(prop "$work/pg1.sdf" particle_guidance | sort -u) == recall ]] || die "records lack particle_guidance=recall"
[[ $fail -eq 0 ]] && echo "all selection and scaling checks passed"
exit $fail
