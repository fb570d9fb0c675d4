#!/usr/bin/env bash
# Fault injection (issue 26, docs/reliability.md): outputs that cannot or must not be written are refused before
# any work, with a message naming the file:
#   - a missing input (every command);
#   - an output that is an input (generate, evaluate, train, bias, match), or two outputs that are one file;
#   - a second process writing an output another is writing (a lock, OUTPUT.lock): refused, and the first run's
#     output is what it would have been alone.
# usage: fault_outputs.sh CONFSGM_BINARY WORK_DIR
set -uo pipefail
bin=$1; work=$2
rm -rf "$work"; mkdir -p "$work"
source "$(dirname "$0")/lib.sh"  # fail, die, data, models
sdf=$data/geom_drugs_train10.sdf
printf 'mol_id,smiles\nethanol,CCO\nisobutanol,CC(C)CO\nbutane,CCCC\nglycerol,OCC(O)CO\n' > "$work/in.csv"

# refused NAME WANT_EXIT PATTERN -- ARGS...: the command exits WANT_EXIT quickly, its message matches PATTERN.
refused() {
  local name=$1 want=$2 pattern=$3; shift 4
  local start; start=$(date +%s%N)
  "$bin" "$@" > /dev/null 2> "$work/$name.log"
  local rc=$? ms=$(( ($(date +%s%N) - start) / 1000000 ))
  [[ $rc -eq $want ]] || die "$name: exit $rc, want $want ($(head -2 "$work/$name.log"))"
  grep -q -- "$pattern" "$work/$name.log" || die "$name: message '$(head -2 "$work/$name.log")' lacks '$pattern'"
  ((ms < 5000)) || die "$name: refused only after $ms ms (work was done first)"
}

# Missing inputs.
refused gen_missing 3 "nosuch.csv: no such file" -- generate --input "$work/nosuch.csv" --output "$work/o.sdf"
refused eval_missing 3 "nosuch.sdf: no such file" -- evaluate --ref "$sdf" --gen "$work/nosuch.sdf" --json "$work/e.json"
refused train_missing 3 "nosuch.sdf: no such file" -- train --train "$work/nosuch.sdf" --out "$work/m.bin"
refused bias_missing 3 "nosuch.bin: no such file" -- bias --model "$work/nosuch.bin" --data "$sdf"
refused build_missing 3 "nosuch.csv: no such file" -- build-dataset --input "$work/nosuch.csv" --out "$work/ds"
[[ -e $work/o.sdf || -e $work/e.json || -e $work/m.bin || -e $work/ds/recipe.json ]] && die "a refused run wrote an output"

# An output that is an input: refused, the input untouched.
cp "$sdf" "$work/ref.sdf"
before=$(md5sum < "$work/ref.sdf")
refused gen_same 3 "is the input" -- generate --input "$work/in.csv" --output "$work/in.csv"
refused eval_same 3 "is the input" -- evaluate --ref "$work/ref.sdf" --gen "$sdf" --json "$work/ref.sdf"
refused train_same 3 "is the input" -- train --train "$work/ref.sdf" --out "$work/ref.sdf"
refused train_log_same 3 "is the input" -- train --train "$work/ref.sdf" --out "$work/m.bin" --log "$work/./ref.sdf"
refused bias_same 3 "is the input" -- bias --model "$models/qm9-torsion-ip.bin" --data "$work/ref.sdf" --csv "$work/ref.sdf"
refused match_same 3 "is the input" -- match --input "$work/ref.sdf" --output "$work/ref.sdf"
refused two_outputs 3 "the same file is given for two outputs" -- \
  bias --model "$models/qm9-torsion-ip.bin" --data "$work/ref.sdf" --csv "$work/b.csv" --errors "$work/b.csv"
[[ $(md5sum < "$work/ref.sdf") == "$before" ]] || die "a refused run changed its input"
[[ $(head -1 "$work/in.csv") == "mol_id,smiles" ]] || die "generate overwrote its input"
refused no_folder 3 "output folder $work/nowhere does not exist" -- generate --input "$work/in.csv" --output "$work/nowhere/o.sdf"

# Two processes, one output: the second is refused while the first runs; the first's output is unharmed.
gen=(generate --method confgf --model qm9-distance-ip --input "$work/in.csv" --num 2 --steps-per-level 20 --seed 3 --threads 1 --quiet)
"$bin" "${gen[@]}" --output "$work/alone.sdf" 2> /dev/null || die "the lone run failed"
"$bin" "${gen[@]}" --output "$work/shared.sdf" 2> "$work/first.log" &
first=$!
for _ in $(seq 1 100); do [[ -e $work/shared.sdf.lock ]] && break; sleep 0.05; done
[[ -e $work/shared.sdf.lock ]] || die "the first run holds no lock file"
kill -0 "$first" 2> /dev/null || die "the first run ended before the second started (make it longer)"
refused second_writer 3 "another process (pid $first) is writing this output" -- "${gen[@]}" --output "$work/shared.sdf"
wait "$first" || die "the first run failed: $(cat "$work/first.log")"
cmp -s "$work/alone.sdf" "$work/shared.sdf" || die "the first run's output differs from a lone run's"
[[ -e $work/shared.sdf.lock ]] && die "a finished run left its lock file"
# A lock file left by a killed run holds no lock: the next run goes ahead.
echo 999999 > "$work/alone.sdf.lock"
"$bin" "${gen[@]}" --output "$work/alone.sdf" 2> "$work/stale.log" || die "a stale lock file blocked the run: $(cat "$work/stale.log")"

[[ $fail -eq 0 ]] && echo "ok: missing inputs, outputs that are inputs and concurrent writers are refused before any work"
exit $fail
