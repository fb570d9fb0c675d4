#!/usr/bin/env bash
# examples/experiments/keep_state.sh in a scratch git repository: what it stages of a run folder (finished and
# unfinished models, a sampling cut off mid-run), that the journal is staged as it was when the partial output was
# copied (the file itself may grow meanwhile), and that checkpoints and journals leave the index once their step
# finished, and that a published run keeps only its models, evaluations and bias tables in git.
# usage: keep_state_test.sh WORK_DIR
set -uo pipefail
work=$1
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"; mkdir -p "$work/repo/examples/experiments"
cp "$here/../../examples/experiments/keep_state.sh" "$work/repo/examples/experiments/"
cd "$work/repo" || exit 1
source "$here/lib.sh"  # fail, die
git init -q . && git config user.email t@t && git config user.name t
printf 'results/\n' > .gitignore
git add .gitignore examples && git commit -qm init
run=results/distance_qm9
mkdir -p $run/models $run/gen $run/eval
printf 'model' > $run/models/a.bin; touch $run/models/a.bin.done; printf 'log' > $run/models/a.bin.log.csv
printf 'ckpt' > $run/models/a.bin.ckpt                      # finished: its checkpoint stays out
printf 'model' > $run/models/b.bin; printf 'ckpt' > $run/models/b.bin.ckpt   # still training
printf '{}' > $run/eval/a_s1.json
gen=$run/gen/a_s1.sdf.partial.sdf
printf 'confsgm generate journal 1\nmolecule\tm1\t5\t1\t0\t0\t0\t0\n' > $gen.journal
printf 'abcde' > $gen.partial
printf 'whole file' > $run/gen/done_s1.sdf                   # finished conformers stay out
bash examples/experiments/keep_state.sh > ks.log 2>&1 || die "keep_state failed: $(cat ks.log)"
staged=$(git diff --cached --name-only)
for f in models/a.bin models/a.bin.done models/a.bin.log.csv models/b.bin models/b.bin.ckpt eval/a_s1.json \
  gen/a_s1.sdf.partial.sdf.journal gen/a_s1.sdf.partial.sdf.partial.gz; do
  grep -qx "$run/$f" <<< "$staged" || die "$f not staged"
done
for f in models/a.bin.ckpt gen/a_s1.sdf.partial.sdf.partial gen/done_s1.sdf; do
  grep -qx "$run/$f" <<< "$staged" && die "$f staged"
done
[[ $(git show ":$gen.partial.gz" | gzip -dc) == abcde ]] || die "the staged partial output is not the file's content"
git commit -qm state
# The sampling goes on: the staged journal is what was read, whatever the file holds now.
printf 'molecule\tm2\t9\t1\t0\t0\t0\t0\n' >> $gen.journal; printf 'fghi' >> $gen.partial
touch $run/models/b.bin.done                                 # b finished
bash examples/experiments/keep_state.sh > ks.log 2>&1 || die "keep_state (2) failed: $(cat ks.log)"
[[ $(git show ":$gen.journal" | grep -c '^molecule') -eq 2 ]] || die "the restaged journal does not have both molecules"
git ls-files --error-unmatch $run/models/b.bin.ckpt > /dev/null 2>&1 && die "a finished model's checkpoint stayed in git"
git commit -qm state2
# The sampling finished: generate removed the journal, paper_experiment.sh the gzipped copy.
rm $gen.journal $gen.partial $gen.partial.gz
bash examples/experiments/keep_state.sh > ks.log 2>&1 || die "keep_state (3) failed: $(cat ks.log)"
git ls-files "$run/gen/" | grep -q . && die "a finished sampling's journal stayed in git: $(git ls-files "$run/gen/")"
# A published run: models, evaluations and bias tables stay; its JSON, plots and matched sets leave the index.
pub=results/torsion_drugs
mkdir -p $pub/models $pub/data $pub/eval
printf 'model' > $pub/models/m.bin; touch $pub/models/m.bin.done
printf '{}' > $pub/results.json; printf 'png' > $pub/bias_vs_sigma.png; printf '{}' > $pub/eval/m_s1.json
printf 'sdf' > $pub/data/train.matched.sdf; printf 'tsv' > $pub/data/train.matching.tsv
bash examples/experiments/keep_state.sh > ks.log 2>&1 || die "keep_state (4) failed: $(cat ks.log)"
git ls-files --error-unmatch $pub/results.json $pub/data/train.matched.sdf.gz > /dev/null 2>&1 \
  || die "an unpublished run's JSON or matched set was not staged"
git commit -qm state3
echo "published to docs/results/torsion_drugs" > $pub/published
bash examples/experiments/keep_state.sh > ks.log 2>&1 || die "keep_state (5) failed: $(cat ks.log)"
for f in results.json bias_vs_sigma.png data/train.matched.sdf.gz data/train.matching.tsv; do
  git ls-files --error-unmatch "$pub/$f" > /dev/null 2>&1 && die "published run: $f stayed in git"
done
for f in models/m.bin models/m.bin.done eval/m_s1.json published; do
  git ls-files --error-unmatch "$pub/$f" > /dev/null 2>&1 || die "published run: $f not in git"
done
# A pipeline comparison (relax_comparison.sh): finished pipelines' evaluations, times and logs, every threshold's
# evaluation and the summaries are staged; conformers and a pipeline still running are not.
cmp=results/relax_compare_qm9_test
mkdir -p $cmp/seed1
for f in a.json a@1.25.json a.ms a.gen.log a.txt a@1.25.txt pipelines.md; do printf 'x' > "$cmp/seed1/$f"; done
printf 'sdf' > $cmp/seed1/a.sdf; printf 'log' > $cmp/seed1/b.gen.log; printf 'sdf' > $cmp/seed1/b.partial.sdf.partial
printf 'x' > $cmp/summary.md; printf 'png' > $cmp/mat_r_vs_time.png
bash examples/experiments/keep_state.sh > ks.log 2>&1 || die "keep_state (6) failed: $(cat ks.log)"
staged=$(git diff --cached --name-only)
for f in seed1/a.json seed1/a@1.25.json seed1/a.ms seed1/a.gen.log seed1/a.txt seed1/a@1.25.txt seed1/pipelines.md \
  summary.md mat_r_vs_time.png; do
  grep -qx "$cmp/$f" <<< "$staged" || die "comparison: $f not staged"
done
for f in seed1/a.sdf seed1/b.gen.log seed1/b.partial.sdf.partial; do
  grep -qx "$cmp/$f" <<< "$staged" && die "comparison: $f staged"
done
[[ $fail -eq 0 ]] && echo "ok: keep_state stages models, checkpoints of unfinished models and cut-off samplings"
exit $fail
