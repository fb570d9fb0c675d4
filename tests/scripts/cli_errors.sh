#!/usr/bin/env bash
# Exit codes and error messages of the reference application on bad input.
# usage: cli_errors.sh CONFSGM_BINARY WORK_DIR
set -uo pipefail
bin=$1; work=$2
here=$(cd "$(dirname "$0")" && pwd)
bad=$here/../data/bad_inputs
mkdir -p "$work"
fail=0
expect() {  # expect CODE PATTERN -- command...
  local want=$1 pattern=$2; shift 3
  "$@" > "$work/out.txt" 2> "$work/err.txt"
  local got=$?
  if [[ $got -ne $want ]]; then echo "FAIL: exit $got (want $want): $*"; cat "$work/err.txt"; fail=1; return; fi
  if [[ -n $pattern ]] && ! grep -qE -- "$pattern" "$work/err.txt" "$work/out.txt"; then
    echo "FAIL: output lacks /$pattern/: $*"; cat "$work/err.txt"; fail=1; return; fi
  echo "ok: exit $got: $*"
}
expect 2 "usage" -- "$bin"
expect 0 "exit codes" -- "$bin" --help
expect 2 "unknown option --thresold" -- "$bin" evaluate --ref a.sdf --gen b.sdf --thresold 1
expect 2 "expects a number" -- "$bin" evaluate --ref a.sdf --gen b.sdf --threshold abc
expect 2 "missing required option --gen" -- "$bin" evaluate --ref a.sdf
expect 2 "seed must be" -- "$bin" generate --input x.smi --output y.sdf --seed 0
# A negative count is refused by name, not wrapped around to a huge one.
expect 2 "--epochs must be a whole number from 0 to [0-9]+, got -1" -- "$bin" train --train x.sdf --out m.bin --epochs -1
expect 2 "--threads must be a whole number from 0 to 4294967295, got -2" -- "$bin" match --input x.sdf --output y.sdf --threads -2
expect 2 "--steps-per-level must be a whole number" -- "$bin" generate --method confgf --input x.smi --output y.sdf --steps-per-level -5
expect 2 "--relax must be none, mmff94, mmff94s, gfnff or gfn2, got .mmff." -- "$bin" generate --input x.smi --output y.sdf --relax mmff
expect 2 "give --relax or --mmff, not both" -- "$bin" generate --input x.smi --output y.sdf --relax mmff94 --mmff
expect 2 "--keep-changed and --relax-iterations need --relax" -- "$bin" generate --input x.smi --output y.sdf --keep-changed
expect 2 "--relax-level sets xtb's optimisation level: it needs --relax gfnff or gfn2" -- "$bin" generate --input x.smi --output y.sdf --relax mmff94 --relax-level loose
expect 2 "--relax-level must be crude, sloppy, loose, normal, tight, vtight or extreme, got .fast." -- "$bin" generate --input x.smi --output y.sdf --relax gfn2 --relax-level fast
expect 2 "--oversample 4 generates a pool: say how to keep" -- "$bin" generate --input x.smi --output y.sdf --oversample 4
expect 2 "--epsilon-b must be a finite number > 0, got 0" -- "$bin" generate --method torsional --input x.smi --output y.sdf --epsilon-b 0
expect 2 "--epsilon-k must be a finite number" -- "$bin" generate --method torsional --input x.smi --output y.sdf --epsilon-k inf
expect 2 "must be > 0 at every level" -- "$bin" generate --method torsional --input x.smi --output y.sdf --epsilon-k -0.1
expect 2 "sampling-time compensation applies to a score model's sampler" -- "$bin" generate --input x.smi --output y.sdf --epsilon-b 1.01
expect 2 "--corrector-step-size needs --corrector-steps >= 1" -- "$bin" generate --method torsional --input x.smi --output y.sdf --corrector-step-size 0.1
expect 2 "--corrector-step-size must be a finite number > 0" -- "$bin" generate --method torsional --input x.smi --output y.sdf --corrector-steps 1 --corrector-step-size 0
expect 2 "--particle-guidance: sampling-time compensation applies to a score model" -- "$bin" generate --input x.smi --output y.sdf --particle-guidance recall
expect 2 "--particle-guidance recall is set for the torsion space; --method confgf samples the distance space" -- "$bin" generate --method confgf --input x.smi --output y.sdf --particle-guidance recall
expect 2 "--particle-guidance distance:10:1 is set for the distance space; --method torsional samples the torsion space" -- "$bin" generate --method torsional --input x.smi --output y.sdf --particle-guidance distance:10:1
expect 2 "--particle-guidance must be one of none, recall" -- "$bin" generate --method torsional --input x.smi --output y.sdf --particle-guidance strong
expect 2 "--particle-guidance must be one of none, recall" -- "$bin" generate --method confgf --input x.smi --output y.sdf --particle-guidance distance:0:1
expect 2 "--particle-guidance runs on --backend cpu|built without CUDA|no CUDA device" -- "$bin" generate --method confgf --input x.smi --output y.sdf --particle-guidance distance:10:1 --backend cuda
expect 2 "--particle-guidance runs with --sampler sde" -- "$bin" generate --method torsional --input x.smi --output y.sdf --particle-guidance recall --sampler ode
expect 2 "--sampling-defaults must be 'model'" -- "$bin" generate --method torsional --input x.smi --output y.sdf --sampling-defaults auto
expect 2 "--sigma-shift-cutoff needs --sigma-shift-window >= 1" -- "$bin" generate --method torsional --input x.smi --output y.sdf --sigma-shift-cutoff 0.5
expect 2 "--sigma-shift-cutoff must be a finite sigma >= 0" -- "$bin" bias --model m.bin --data x.sdf --sigma-shift-window 2 --sigma-shift-cutoff -1
expect 2 "--oversample must be >= 1" -- "$bin" generate --input x.smi --output y.sdf --oversample 0 --select diverse
expect 2 "--select must be 'energy'" -- "$bin" generate --input x.smi --output y.sdf --select lowest
expect 2 "--select energy needs energies" -- "$bin" generate --input x.smi --output y.sdf --oversample 2 --select energy
expect 2 "--energy-window needs --select and energies" -- "$bin" generate --input x.smi --output y.sdf --select diverse --energy-window 3
expect 2 "--energy-window must be a finite number >= 0" -- "$bin" generate --input x.smi --output y.sdf --mmff --select energy --energy-window -1
expect 3 "no_such.sdf: no such file" -- "$bin" evaluate --ref "$bad/no_such.sdf" --gen "$bad/no_such.sdf"
# One bad line among good ones: the rest is generated, the bad lines are named, exit 1.
expect 1 "bad_smiles.smi:3: SMILES 'C1CC'" -- "$bin" generate --input "$bad/bad_smiles.smi" --output "$work/g.sdf" --num 2 --quiet
grep -q "bad_smiles.smi:6:" "$work/err.txt" || { echo "FAIL: line 6 not reported"; fail=1; }
n=$(grep -c '^\$\$\$\$' "$work/g.sdf"); [[ $n -eq 4 ]] || { echo "FAIL: expected 4 conformers, got $n"; fail=1; }
# More conformers than a molecule has noise streams: that molecule is refused by name, the run goes on.
printf 'mol_id,smiles,n_conformers\nethanol,CCO,40000\nmethanol,CO,1\n' > "$work/many.csv"
expect 1 "ethanol: 80000 conformers requested; at most 65536" -- "$bin" generate --method confgf --input "$work/many.csv" \
  --output "$work/many.sdf" --steps-per-level 1 --quiet
n=$(grep -c '^\$\$\$\$' "$work/many.sdf"); [[ $n -eq 2 ]] || { echo "FAIL: methanol's 2 conformers not written (got $n)"; fail=1; }
expect 2 "multiplier must be a finite number" -- "$bin" generate --input "$work/many.csv" --output "$work/x.sdf" --multiplier inf
# More molecules than the samplers have noise streams for: refused up front, before any sampling.
{ echo "mol_id,smiles,n_conformers"; seq -f "m%g,C,1" 1 65537; } > "$work/huge.csv"
expect 3 "65537 molecules; confgf takes at most 65536 per run" -- "$bin" generate --method confgf --input "$work/huge.csv" \
  --output "$work/huge.sdf" --quiet
expect 2 "num must be at most 65536" -- "$bin" generate --input "$work/many.csv" --output "$work/x.sdf" --num 70000
# A malformed SDF record: named by file, line and record; the other records are evaluated.
expect 1 "malformed_record.sdf:[0-9]+ \(record 2\)" -- "$bin" evaluate --ref "$bad/malformed_record.sdf" --gen "$bad/malformed_record.sdf" --quiet
grep -q "| 100.00 |" "$work/out.txt" || { echo "FAIL: remaining records not evaluated"; fail=1; }
expect 1 "mismatched_atoms.sdf:[0-9]+ \(record 2\)" -- "$bin" evaluate --ref "$bad/mismatched_atoms.sdf" --gen "$bad/mismatched_atoms.sdf" --quiet
expect 1 "nan_coordinates.sdf:98 \(record 2\).*coordinates" -- "$bin" evaluate --ref "$bad/nan_coordinates.sdf" --gen "$bad/nan_coordinates.sdf" --quiet
expect 1 "2 disconnected fragments" -- "$bin" generate --input "$bad/two_fragments.sdf" --output "$work/f.sdf" --quiet
exit $fail
