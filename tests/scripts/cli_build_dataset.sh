#!/usr/bin/env bash
# `confsgm build-dataset` end to end on a handful of small molecules: a bad
# SMILES line is reported and counted, the output loads through the library's
# SDF reader, and a run killed with SIGKILL resumes without redoing finished
# molecules and ends with the same data set as an uninterrupted run.
# usage: cli_build_dataset.sh CONFSGM_BINARY WORK_DIR
set -uo pipefail
bin=$1; work=$2
rm -rf "$work"; mkdir -p "$work"
source "$(dirname "$0")/lib.sh"  # fail, die, data, models
cat > "$work/list.csv" <<'CSV'
mol_id,smiles
ethanol,CCO
isobutanol,CC(C)CO
cyclopropylamine,NC1CC1
bad_ring,C1CC
butane,CCCC
glycerol,OCC(O)CO
CSV
"$bin" build-dataset --input "$work/list.csv" --out "$work/full" --jobs 2 2> "$work/full.log"
rc=$?
[[ $rc -eq 1 ]] || die "exit $rc with a bad SMILES line (want 1)"
grep -qE "^line 5	failed	.*C1CC" "$work/full/status.tsv" || die "the bad line (5) is not in status.tsv"
[[ $(grep -c $'\tok\t' "$work/full/status.tsv") -eq 5 ]] || die "expected 5 ok molecules"
grep -q '"molecules_ok": 5' "$work/full/manifest.json" || die "manifest count"
grep -q '"molecules_failed": 1' "$work/full/manifest.json" || die "manifest failed count"
n_conf=$(zcat "$work/full/ensembles.sdf.gz" | grep -c '^\$\$\$\$')
grep -q "\"conformers\": $n_conf," "$work/full/manifest.json" || die "manifest conformer count != $n_conf"
# The library's reader loads the gzip file; every molecule against itself covers 100 %.
"$bin" evaluate --ref "$work/full/ensembles.sdf.gz" --gen "$work/full/ensembles.sdf.gz" --threshold 0.5 --quiet > "$work/eval.txt" 2>&1 \
  || die "evaluate could not read the data set: $(cat "$work/eval.txt")"
grep -q "5 molecules" "$work/eval.txt" || grep -q "| 100.00 |" "$work/eval.txt" || die "evaluate output: $(cat "$work/eval.txt")"

# Kill after two molecules, then resume.
"$bin" build-dataset --input "$work/list.csv" --out "$work/killed" --jobs 1 --quiet 2> /dev/null &
pid=$!
for _ in $(seq 1 600); do
  n=$(ls "$work/killed/molecules/"*.status 2> /dev/null | wc -l)
  [[ $n -ge 2 ]] && break
  sleep 0.1
done
kill -9 "$pid" 2> /dev/null; wait "$pid" 2> /dev/null
done_before=$(ls "$work/killed/molecules/"*.status | wc -l)
[[ $done_before -ge 2 && $done_before -lt 5 ]] || die "kill came too late or too early ($done_before molecules done)"
stat -c '%n %Y %i' "$work/killed/molecules/"*.status > "$work/before.txt"
"$bin" build-dataset --input "$work/list.csv" --out "$work/killed" --jobs 2 2> "$work/resume.log"
grep -q "$done_before already done" "$work/resume.log" || die "resume did not see the finished molecules: $(head -1 "$work/resume.log")"
while read -r name mtime inode; do
  now=$(stat -c '%Y %i' "$name")
  [[ "$now" == "$mtime $inode" ]] || die "$name was rebuilt after the resume"
done < "$work/before.txt"
ls "$work/killed/molecules/" | grep -q partial && die "a .partial file survived"
cmp <(zcat "$work/full/ensembles.sdf.gz") <(zcat "$work/killed/ensembles.sdf.gz") \
  || die "killed+resumed data set differs from the uninterrupted one"
cmp "$work/full/status.tsv" "$work/killed/status.tsv" > /dev/null 2>&1 \
  || cmp <(cut -f1-16 "$work/full/status.tsv") <(cut -f1-16 "$work/killed/status.tsv") \
  || die "status tables differ"
# No xtb: a clear message and exit 3.
"$bin" build-dataset --input "$work/list.csv" --out "$work/noxtb" --xtb /nonexistent/xtb > /dev/null 2> "$work/noxtb.log"
rc=$?
[[ $rc -eq 3 ]] && grep -q "apt-get install xtb" "$work/noxtb.log" || die "missing xtb: exit $rc, $(cat "$work/noxtb.log")"
[[ $fail -eq 0 ]] && echo "ok: build-dataset reports, resumes and reproduces"
exit $fail
