#!/usr/bin/env bash
# Fault injection (issue 26, docs/reliability.md): a full disk while writing an SDF (generate), a checkpoint and a
# model (train), and a read-only output folder. Each runs in a user + mount namespace (unshare -rm) on a small
# tmpfs, so no privilege is needed; where namespaces are not allowed the test is skipped (exit 77).
# Checked: a clear error naming the file, a non-zero exit, and the previous good file intact.
# usage: fault_disk.sh CONFSGM_BINARY WORK_DIR
set -uo pipefail
bin=$(readlink -f "$1"); work=$2
rm -rf "$work"; mkdir -p "$work"
work=$(readlink -f "$work")
source "$(dirname "$0")/lib.sh"  # fail, die, data, models
if ! unshare -rm sh -c "mount -t tmpfs -o size=64k tmpfs '$work'" 2> /dev/null; then
  echo "skipped: this machine allows no user + mount namespace (unshare -rm), needed for a small tmpfs"
  exit 77
fi
printf 'mol_id,smiles\nethanol,CCO\nisobutanol,CC(C)CO\nbutane,CCCC\nglycerol,OCC(O)CO\n' > "$work/in.csv"
gen=(generate --method etkdg --input "$work/in.csv" --num 20 --seed 3 --threads 1 --quiet)
train=(train --train "$data/geom_drugs_train10.sdf" --hidden 8 --layers 1 --epochs 1 --batch 4 --micro-batch 2 --threads 1 --quiet)

# The good files a previous run left.
"$bin" "${gen[@]}" --output "$work/good.sdf" 2> /dev/null || die "generate failed"
"$bin" "${train[@]}" --out "$work/good.bin" --checkpoint "$work/good.ckpt" --log "$work/good.log" 2> /dev/null || die "train failed"
sdf_kb=$(( $(stat -c %s "$work/good.sdf") / 1024 ))
ckpt_kb=$(( $(stat -c %s "$work/good.ckpt") / 1024 ))

# in_tmpfs FREE_KB MODE SCRIPT: runs SCRIPT (bash) with a tmpfs mounted on $work/fs (MODE ro or rw) that holds
# the good files (copied first, before a read-only remount) and FREE_KB more.
in_tmpfs() {
  mkdir -p "$work/fs"
  local used=0 f
  for f in "$work"/good.*; do used=$(( used + ($(stat -c %s "$f") + 4095) / 4096 * 4 )); done
  unshare -rm bash -c "mount -t tmpfs -o size=$((used + $1))k tmpfs '$work/fs' && cp '$work'/good.* '$work/fs/' \
    && { [[ $2 == rw ]] || mount -o remount,ro '$work/fs'; } && cd '$work' && $3"
}

# An SDF on a full disk: the previous file stays, the error names the file.
in_tmpfs $(( sdf_kb / 2 )) rw "'$bin' ${gen[*]} --output fs/good.sdf 2> sdf.log; echo \$? > sdf.rc; md5sum < fs/good.sdf > sdf.md5"
rc=$(cat "$work/sdf.rc")
[[ $rc -eq 3 ]] && grep -q "good.sdf.partial.*\(disk full\|No space\)" "$work/sdf.log" \
  || die "SDF on a full disk: exit $rc, $(cat "$work/sdf.log")"
[[ $(cat "$work/sdf.md5") == $(md5sum < "$work/good.sdf") ]] || die "the previous SDF was damaged by the failed run"

# A checkpoint on a full disk (model and log elsewhere), then a model on a full disk (checkpoint elsewhere).
in_tmpfs $(( ckpt_kb / 2 )) rw "'$bin' ${train[*]} --out out.bin --log out.log --checkpoint fs/good.ckpt 2> ckpt.log; echo \$? > ckpt.rc; md5sum < fs/good.ckpt > ckpt.md5"
rc=$(cat "$work/ckpt.rc")
[[ $rc -eq 3 ]] && grep -q "good.ckpt.partial.*disk full" "$work/ckpt.log" || die "checkpoint on a full disk: exit $rc, $(cat "$work/ckpt.log")"
[[ $(cat "$work/ckpt.md5") == $(md5sum < "$work/good.ckpt") ]] || die "the previous checkpoint was damaged"
model_kb=$(( $(stat -c %s "$work/good.bin") / 1024 ))
in_tmpfs $(( model_kb / 2 )) rw "'$bin' ${train[*]} --out fs/good.bin --log out2.log --checkpoint out2.ckpt 2> model.log; echo \$? > model.rc; md5sum < fs/good.bin > model.md5"
rc=$(cat "$work/model.rc")
[[ $rc -eq 3 ]] && grep -q "good.bin.partial.*disk full" "$work/model.log" || die "model on a full disk: exit $rc, $(cat "$work/model.log")"
[[ $(cat "$work/model.md5") == $(md5sum < "$work/good.bin") ]] || die "the previous model was damaged"

# A read-only output folder: refused before any work, naming the folder's problem.
in_tmpfs 64 ro "'$bin' ${gen[*]} --output fs/new.sdf 2> ro.log; echo \$? > ro.rc"
rc=$(cat "$work/ro.rc")
[[ $rc -eq 3 ]] && grep -q "new.sdf.lock: cannot write in the output folder: Read-only file system" "$work/ro.log" \
  || die "read-only folder: exit $rc, $(cat "$work/ro.log")"

[[ $fail -eq 0 ]] && echo "ok: full disk (SDF, checkpoint, model) and read-only folder: clear errors, previous files intact"
exit $fail
