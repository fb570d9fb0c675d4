#!/usr/bin/env bash
# Numerical faults (issue 26, docs/reliability.md): a model file with a NaN or an infinite weight, a model whose
# noise levels include 0 or are out of order, conformers with coinciding atoms in training, matching and bias
# data and in evaluated files. Each gives a clear error (naming the file, the entry or the atoms) or a
# per-record status, never a crash and never a NaN written.
# usage: fault_numeric.sh CONFSGM_BINARY WORK_DIR
set -uo pipefail
bin=$1; work=$2
rm -rf "$work"; mkdir -p "$work"
source "$(dirname "$0")/lib.sh"  # fail, die, data, models
printf 'mol_id,smiles\nethanol,CCO\nbutane,CCCC\n' > "$work/in.csv"

# edit_model IN OUT [param=INDEX:VALUE] [KEY=VALUE ...]: a copy of a model file with one parameter and/or header
# entries replaced, its checksum recomputed (train/checkpoint.hpp layout), so only the numbers are wrong.
edit_model() {
  python3 - "$@" <<'PY'
import struct, sys
src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
b = open(src, 'rb').read()
hlen = struct.unpack_from('<I', b, 12)[0]
header = dict(l.split('=', 1) for l in b[16:16 + hlen].decode().splitlines())
rest = bytearray(b[16 + hlen:-8])
sb = struct.unpack_from('<I', rest, 0)[0]
for e in edits:
    k, v = e.split('=', 1)
    if k == 'param':
        i, x = v.split(':')
        struct.pack_into('<f' if sb == 4 else '<d', rest, 12 + int(i) * sb, float(x))
    else:
        header[k] = v
h = ''.join(f'{k}={v}\n' for k, v in sorted(header.items())).encode()
out = b[:12] + struct.pack('<I', len(h)) + h + bytes(rest)
s = 1469598103934665603
for c in out:
    s = ((s ^ c) * 1099511628211) % (1 << 64)
open(dst, 'wb').write(out + struct.pack('<Q', s))
PY
}
# expect NAME WANT_EXIT PATTERN -- ARGS...
expect() {
  local name=$1 want=$2 pattern=$3; shift 4
  "$bin" "$@" > "$work/$name.out" 2> "$work/$name.log"
  local rc=$?
  [[ $rc -eq $want ]] || die "$name: exit $rc, want $want ($(grep -v '^\[' "$work/$name.log" | head -2))"
  grep -q -- "$pattern" "$work/$name.log" || die "$name: message '$(grep -v '^\[' "$work/$name.log" | head -2)' lacks '$pattern'"
}

d=$models/qm9-distance-ip.bin; t=$models/qm9-torsion-ip.bin
edit_model "$d" "$work/nan.bin" param=17:nan
edit_model "$t" "$work/inf.bin" param=0:inf
edit_model "$d" "$work/zero_sigma.bin" sigmas=1.0,0.5,0
edit_model "$d" "$work/unsorted.bin" sigmas=0.5,1.0,0.25
edit_model "$t" "$work/zero_sigma_min.bin" sigma_min=0
edit_model "$t" "$work/nan_sigma_max.bin" sigma_max=nan
gen=(generate --input "$work/in.csv" --num 2 --steps-per-level 5 --steps 5 --quiet)
expect nan_weight 3 "nan.bin: parameter 17 (in '.*') is NaN: the model is corrupt" -- "${gen[@]}" --method confgf --model "$work/nan.bin" --output "$work/a.sdf"
expect inf_weight 3 "inf.bin: parameter 0 (in '.*') is infinite" -- "${gen[@]}" --method torsional --model "$work/inf.bin" --output "$work/b.sdf"
expect inf_weight_bias 3 "inf.bin: parameter 0 .* is infinite" -- bias --model "$work/inf.bin" --data "$(dirname "$0")/../data/geom_drugs_train10.sdf" --molecules 1
expect zero_sigma 3 "zero_sigma.bin: entry 'sigmas': .*level 2 is 0" -- "${gen[@]}" --method confgf --model "$work/zero_sigma.bin" --output "$work/c.sdf"
expect unsorted 3 "unsorted.bin: entry 'sigmas': .*must decrease" -- "${gen[@]}" --method confgf --model "$work/unsorted.bin" --output "$work/d.sdf"
expect zero_sigma_min 3 "zero_sigma_min.bin" -- "${gen[@]}" --method torsional --model "$work/zero_sigma_min.bin" --output "$work/e.sdf"
expect nan_sigma_max 3 "nan_sigma_max.bin" -- "${gen[@]}" --method torsional --model "$work/nan_sigma_max.bin" --output "$work/f.sdf"
for f in a b c d e f; do [[ -e $work/$f.sdf ]] && die "a refused model still wrote $f.sdf"; done

# Coinciding atoms: two atoms of one conformer at one place, and a conformer with every atom at one point.
python3 - "$(dirname "$0")/../data/geom_drugs_train10.sdf" "$work" <<'PY'
import sys
src, work = sys.argv[1], sys.argv[2]
records = open(src).read().split('$$$$\n')[:6]
def moved(rec, all_atoms):
    lines = rec.split('\n')
    n = int(lines[3][:3])
    for i in range(4, 4 + n):
        if all_atoms or i == 5:
            src_line = lines[4] if not all_atoms else '    1.0000    1.0000    1.0000'
            lines[i] = src_line[:30] + lines[i][30:]
    return '\n'.join(lines)
bad = [records[0], records[1], moved(records[2], False), records[3], moved(records[4], True), records[5]]
open(f'{work}/coinciding.sdf', 'w').write('$$$$\n'.join(bad) + '$$$$\n')
PY
expect coinciding_train 0 "atoms 1 and 2 are 0 A apart (closer than 0.1 A): not a physical conformer" -- \
  train --train "$work/coinciding.sdf" --out "$work/m.bin" --hidden 8 --layers 1 --epochs 1 --batch 2 --micro-batch 1
grep -q "(record 5): .*atoms 1 and 2 are 0 A apart" "$work/coinciding_train.log" || die "the all-in-one-point record (5) is not named"
expect coinciding_match 0 "(record 3): .*atoms 1 and 2 are 0 A apart" -- match --input "$work/coinciding.sdf" --output "$work/matched.sdf" --conformers-per-molecule 2
expect coinciding_bias 0 "(record 3): .*not a physical conformer" -- \
  bias --model "$t" --data "$work/coinciding.sdf" --samples-per-level 2 --steps 4 --csv "$work/bias.csv"
grep -qi nan "$work/bias.csv" && die "bias wrote NaN"
# Evaluated files keep such conformers (a collapsed sample is a bad conformer, not bad input): finite numbers.
"$bin" evaluate --ref "$(dirname "$0")/../data/geom_drugs_train10.sdf" --gen "$work/coinciding.sdf" --json "$work/e.json" \
  > /dev/null 2> "$work/eval.log" || die "evaluate failed on coinciding atoms: $(cat "$work/eval.log")"
grep -qi nan "$work/e.json" && die "evaluate wrote NaN for coinciding atoms"

[[ $fail -eq 0 ]] && echo "ok: NaN/Inf weights, bad noise levels and coinciding atoms give clear errors, no NaN written"
exit $fail
