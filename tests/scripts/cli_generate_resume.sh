#!/usr/bin/env bash
# `confsgm generate --resume`: a run killed with SIGKILL part way keeps its finished molecules (OUT.journal,
# OUT.partial) and, resumed with another thread count, ends with the uninterrupted run's output byte for byte and
# the same totals; a torn journal line is ignored; a resume under other settings, or with a journal that does not
# fit the input, is refused with the reason; --resume without a journal generates everything. Then the same
# kill/resume round for confgf, torsional and ETKDG over a journaled prefix holding a failed molecule; and
# distance-space particle guidance, thread-count independent.
# usage: cli_generate_resume.sh CONFSGM_BINARY WORK_DIR
set -uo pipefail
bin=$1; work=$2
rm -rf "$work"; mkdir -p "$work"
source "$(dirname "$0")/lib.sh"  # fail, die, data, models
cat > "$work/in.csv" <<'CSV'
mol_id,smiles
ethanol,CCO
isobutanol,CC(C)CO
cyclopropylamine,NC1CC1
butane,CCCC
glycerol,OCC(O)CO
propanoic_acid,CCC(=O)O
acetone,CC(C)=O
methylamine_ethyl,CCNC
CSV
n_mols=8
# The shipped QM9 distance model; 50 Langevin steps per level: about a second per molecule, so that the kill
# lands between molecules. With one thread every molecule is written (and journaled) as soon as it is sampled.
gen=(generate --method confgf --model qm9-distance-ip --input "$work/in.csv" --num 4 --steps-per-level 50 --seed 7 --quiet)
"$bin" "${gen[@]}" --output "$work/full.sdf" --threads 2 2> "$work/full.log" || die "uninterrupted run failed: $(cat "$work/full.log")"
[[ -e $work/full.sdf.journal || -e $work/full.sdf.partial ]] && die "a finished run left its journal or partial file"
[[ $(grep -c '^\$\$\$\$' "$work/full.sdf") -eq $((4 * n_mols)) ]] || die "uninterrupted run: not $((4 * n_mols)) conformers"

# One thread (every molecule journaled as soon as it is sampled), killed with SIGKILL once OUTPUT's journal lists
# at least N molecules. ARGS: the generate command line (default: gen's).
run_and_kill() {
  local output=$1 n=$2; shift 2
  local args=("$@")
  ((${#args[@]})) || args=("${gen[@]}")
  "$bin" "${args[@]}" --output "$output" --threads 1 2> /dev/null &
  local pid=$!
  for _ in $(seq 1 1200); do
    [[ $(grep -c '^molecule' "$output.journal" 2> /dev/null) -ge $n ]] && break
    sleep 0.05
  done
  kill -9 "$pid" 2> /dev/null; wait "$pid" 2> /dev/null
}
run_and_kill "$work/k.sdf" 2
done_before=$(grep -c '^molecule' "$work/k.sdf.journal")
[[ $done_before -ge 2 && $done_before -lt $n_mols ]] || die "kill came too late or too early ($done_before molecules journaled)"
[[ -f $work/k.sdf.partial && ! -e $work/k.sdf ]] || die "the killed run did not leave k.sdf.partial alone"
# A line torn by the kill, and bytes of an unfinished molecule, must not survive the resume.
printf 'molecule\tbutane\t99' >> "$work/k.sdf.journal"
printf 'half a molfile\n' >> "$work/k.sdf.partial"

# Another seed: refused, naming the setting; nothing is touched.
journal_before=$(md5sum < "$work/k.sdf.journal")
other_seed=("${gen[@]}"); other_seed[12]=8
"$bin" "${other_seed[@]}" --output "$work/k.sdf" --resume 2> "$work/seed.log"
rc=$?
[[ $rc -eq 2 ]] && grep -q "seed = 7, this run has 8" "$work/seed.log" || die "resume with another seed: exit $rc, $(cat "$work/seed.log")"
[[ $(md5sum < "$work/k.sdf.journal") == "$journal_before" ]] || die "a refused resume changed the journal"

"$bin" "${gen[@]}" --output "$work/k.sdf" --threads 2 --resume 2> "$work/resume.log" \
  || die "resume failed: $(cat "$work/resume.log")"
grep -q "resumed: $done_before of $n_mols molecules already generated" "$work/resume.log" \
  || die "resume did not report the journaled molecules: $(head -2 "$work/resume.log")"
cmp -s "$work/full.sdf" "$work/k.sdf" || die "killed + resumed output differs from the uninterrupted run's"
[[ "$(grep '^wrote' "$work/full.log" | sed 's/ to .* (/ (/')" == "$(grep '^wrote' "$work/resume.log" | sed 's/ to .* (/ (/')" ]] \
  || die "totals differ: $(grep '^wrote' "$work/full.log") / $(grep '^wrote' "$work/resume.log")"
[[ -e $work/k.sdf.journal || -e $work/k.sdf.partial ]] && die "the resumed run left its journal or partial file"

# A journal that does not fit the input (a molecule renamed): refused with the file and line.
run_and_kill "$work/j.sdf" 1
sed -i 's/^molecule\tethanol\t/molecule\tmethanol\t/' "$work/j.sdf.journal"
"$bin" "${gen[@]}" --output "$work/j.sdf" --resume 2> "$work/j.log"
rc=$?
[[ $rc -eq 3 ]] && grep -q "j.sdf.journal:[0-9]*: molecule 1 is 'methanol' here but 'ethanol' in the input" "$work/j.log" \
  || die "mismatched journal: exit $rc, $(cat "$work/j.log")"

# A count that is not a whole number: refused with the line.
cp "$work/j.sdf.journal" "$work/j2.sdf.journal"; cp "$work/j.sdf.partial" "$work/j2.sdf.partial"
sed -i 's/^molecule\tmethanol\t\([0-9]*\)\t[0-9]*\t/molecule\tethanol\t\1\t-1\t/' "$work/j2.sdf.journal"
"$bin" "${gen[@]}" --output "$work/j2.sdf" --resume 2> "$work/j2.log"
rc=$?
[[ $rc -eq 3 ]] && grep -q "j2.sdf.journal:[0-9]*: an offset or count is not a whole number" "$work/j2.log" \
  || die "negative count in the journal: exit $rc, $(cat "$work/j2.log")"
# A run without --resume replaces the unfinished run's journal and says so.
"$bin" "${gen[@]}" --output "$work/j2.sdf" 2> "$work/j3.log" || die "a fresh run over a journal failed: $(cat "$work/j3.log")"
grep -q "j2.sdf.journal of an earlier, unfinished run was replaced" "$work/j3.log" || die "no note on the replaced journal"
cmp -s "$work/full.sdf" "$work/j2.sdf" || die "a fresh run over a journal: output differs"
# The GPU samples every molecule up front: no resume there.
"$bin" "${gen[@]}" --output "$work/g.sdf" --backend cuda --resume 2> "$work/g.log"
rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--resume is for --backend cpu" "$work/g.log" || die "--resume with cuda: exit $rc, $(cat "$work/g.log")"

# --resume with no journal: a note, and every molecule.
"$bin" "${gen[@]}" --output "$work/n.sdf" --resume 2> "$work/n.log" || die "--resume without a journal failed: $(cat "$work/n.log")"
grep -q "no journal" "$work/n.log" || die "--resume without a journal gave no note"
cmp -s "$work/full.sdf" "$work/n.sdf" || die "--resume without a journal: output differs"

# The same round for every method, over a journaled prefix that holds a failed molecule: no_count lists no
# conformer count, so with --multiplier it fails at once (exit 1 for the run, "1 molecules failed"). The run killed
# after at least 2 molecules and resumed ends with the uninterrupted run's output byte for byte, its totals and
# its exit status. Counts are chosen so that every molecule takes well over the 50 ms the kill waits between looks.
cat > "$work/counts.csv" <<'CSV'
mol_id,smiles,n_conformers
pentanol,CCCCCO,3
no_count,CCOCC,
hexane,CCCCCC,3
butanol,CCCCO,2
ethylanisole,CCc1ccc(OC)cc1,3
diethylamine,CCNCC,2
CSV
resume_round() {
  local name=$1; shift
  local args=(generate "$@" --input "$work/counts.csv" --seed 11 --quiet)
  "$bin" "${args[@]}" --output "$work/$name-full.sdf" --threads 2 2> "$work/$name-full.log"
  local rc_full=$?
  [[ $rc_full -eq 1 ]] && grep -q "no_count: no --num given and the input lists no reference count" "$work/$name-full.log" \
    || { die "$name: uninterrupted run: exit $rc_full, $(grep -v '^warning' "$work/$name-full.log" | head -3)"; return; }
  run_and_kill "$work/$name.sdf" 2 "${args[@]}"
  local done_before
  done_before=$(grep -c '^molecule' "$work/$name.sdf.journal" 2> /dev/null)
  [[ $done_before -ge 2 && $done_before -lt 6 ]] || { die "$name: kill came too late or too early ($done_before molecules journaled)"; return; }
  grep -q $'^molecule\tno_count\t[0-9]*\t0\t1\t' "$work/$name.sdf.journal" || die "$name: the journal does not record no_count as failed"
  "$bin" "${args[@]}" --output "$work/$name.sdf" --threads 2 --resume 2> "$work/$name-resume.log"
  local rc=$?
  [[ $rc -eq $rc_full ]] || die "$name: resumed run exit $rc, uninterrupted $rc_full"
  grep -q "resumed: $done_before of 6 molecules already generated" "$work/$name-resume.log" \
    || die "$name: resume did not report the journaled molecules: $(grep -v '^warning' "$work/$name-resume.log" | head -2)"
  cmp -s "$work/$name-full.sdf" "$work/$name.sdf" || die "$name: killed + resumed output differs from the uninterrupted run's"
  [[ "$(grep '^wrote' "$work/$name-full.log" | sed 's/ to .* (/ (/')" == "$(grep '^wrote' "$work/$name-resume.log" | sed 's/ to .* (/ (/')" ]] \
    || die "$name: totals differ: $(grep '^wrote' "$work/$name-full.log") / $(grep '^wrote' "$work/$name-resume.log")"
  # The failed molecule's message is not repeated by the resume (it was reported by the killed run).
  grep -q "no_count" "$work/$name-resume.log" && die "$name: the resume sampled no_count again"
  [[ -e $work/$name.sdf.journal || -e $work/$name.sdf.partial ]] && die "$name: the resumed run left its journal or partial file"
}
resume_round confgf --method confgf --model qm9-distance-ip --steps-per-level 30 --multiplier 2
resume_round torsional --method torsional --model qm9-torsion-ip --multiplier 60
resume_round etkdg --multiplier 120

# Particle guidance in the distance space: the same file at 1 and 2 threads (a molecule's conformers are one
# batch), other conformers than the plain run's, and records that name the setting.
head -4 "$work/in.csv" > "$work/in3.csv"
pg=(generate --method confgf --model qm9-distance-ip --input "$work/in3.csv" --num 4 --steps-per-level 30 --seed 7 --quiet)
for t in 1 2; do
  "$bin" "${pg[@]}" --particle-guidance distance:10:1 --threads $t --output "$work/pg$t.sdf" 2> "$work/pg$t.log" \
    || die "--particle-guidance distance:10:1 failed: $(cat "$work/pg$t.log")"
done
"$bin" "${pg[@]}" --output "$work/pg0.sdf" 2> /dev/null || die "plain confgf run failed"
cmp -s "$work/pg1.sdf" "$work/pg2.sdf" || die "distance-space particle guidance depends on the thread count"
cmp -s "$work/pg0.sdf" "$work/pg1.sdf" && die "distance-space particle guidance did not change the conformers"
[[ $(awk '$0 == ">  <particle_guidance>" { getline; print }' "$work/pg1.sdf" | sort -u) == "distance:10:1" ]] \
  || die "records lack particle_guidance=distance:10:1"

[[ $fail -eq 0 ]] && echo "ok: generate --resume after SIGKILL equals the uninterrupted run; mismatches refused"
exit $fail
