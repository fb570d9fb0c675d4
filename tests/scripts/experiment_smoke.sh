#!/usr/bin/env bash
# The experiment driver end to end in smoke mode (QUICK=1: tiny networks, a few QM9 molecules, 2 seeds, a
# 2-value lambda grid), in both state spaces: tables, JSON and plots are written. Then the split run that
# benchmarks/gpu/experiment_generate.sh relies on: GENERATE_ONLY=1 samples only the trained models, and a plain
# run afterwards evaluates those files; the conformers and the results table equal the one-piece run's.
# A sampling whose resume is refused (a damaged journal) starts afresh; `experiment_train.sh pass` on a collected state.
# usage: experiment_smoke.sh CONFSGM_BINARY WORK_DIR
set -uo pipefail
bin=$1; work=$2
here=$(cd "$(dirname "$0")" && pwd)
driver=$here/../../examples/experiments/paper_experiment.sh
rm -rf "$work"; mkdir -p "$work"
die() { echo "FAIL: $*"; exit 1; }
run() {  # OUT, then settings; the driver's log goes to OUT.log
  local out=$1; shift
  env QUICK=1 SKIP_BUILD=1 APP="$bin" THREADS=2 OUT="$out" "$@" bash "$driver" > "$out.log" 2>&1 \
    || die "paper_experiment.sh $* failed: $(tail -5 "$out.log")"
}
for space in distance torsion; do
  run "$work/$space" SPACE=$space FAMILY=qm9
  for f in results.md results.json lambda.txt lambda_grid.md bias_vs_sigma.png error_histogram.png; do
    [[ -s $work/$space/$f ]] || die "$space: $f missing"
  done
  grep -q "seed" "$work/$space/results.md" || die "$space: results.md has no seed table"
done
# A sampling whose resume is refused (here a damaged journal) starts afresh instead of stopping the run.
refused=$work/refused
cp -a "$work/distance" "$refused"
rm -f "$refused"/gen/baseline_s2.sdf "$refused"/eval/baseline_s2.* "$refused"/results.*
printf 'not a journal\n' > "$refused/gen/baseline_s2.sdf.partial.sdf.journal"
printf 'x' > "$refused/gen/baseline_s2.sdf.partial.sdf.partial"
run "$refused" SPACE=distance FAMILY=qm9
grep -q "generate baseline_s2: resume refused (.*not a confsgm generate journal.*); starting afresh" "$refused.log" \
  || die "refused resume: $(grep baseline_s2 "$refused.log")"
cmp -s "$work/distance/gen/baseline_s2.sdf" "$refused/gen/baseline_s2.sdf" || die "the fresh sampling differs"
ls "$refused/gen/" > "$refused.gen.list"
grep -q journal "$refused.gen.list" && die "a journal survived the fresh sampling"
# The split run: seed 2's IP model not trained yet, nothing of seed 2 sampled or evaluated.
split=$work/split
cp -a "$work/distance" "$split"
lam=$(cat "$split/lambda.txt")
rm -f "$split"/gen/*_s2.* "$split"/eval/*_s2.* "$split"/results.* "$split/models/ip_l${lam}_s2.bin.done"
run "$split" SPACE=distance FAMILY=qm9 GENERATE_ONLY=1
[[ -f $split/gen/baseline_s2.sdf ]] || die "generate-only did not sample the trained baseline_s2"
[[ ! -e $split/gen/ip_l${lam}_s2.sdf ]] || die "generate-only sampled the untrained ip_l${lam}_s2"
[[ ! -e $split/eval/baseline_s2.json && ! -e $split/results.md ]] || die "generate-only evaluated"
cmp -s "$split/gen/baseline_s2.sdf" "$work/distance/gen/baseline_s2.sdf" || die "generate-only conformers differ"
touch "$split/models/ip_l${lam}_s2.bin.done"
run "$split" SPACE=distance FAMILY=qm9
grep -q "generate baseline_s2" "$split.log" && die "the plain run sampled baseline_s2 again"
# The tables name their run folder; everything else must match.
diff <(sed "s|$split/|RUN/|g" "$split/results.md") <(sed "s|$work/distance/|RUN/|g" "$work/distance/results.md") > "$work/split.diff" \
  || die "split run's results.md differs: $(head "$work/split.diff")"
# The table within and beyond the training domain appears when test molecules are larger than every training
# molecule: here the first model's recorded domain is cut to 6 heavy atoms.
domain=$work/domain
cp -a "$work/distance" "$domain"
/usr/bin/python3 "$here/../../models/stamp_training_domain.py" "$domain/models/baseline_s1.bin" 40 6 > /dev/null \
  || die "stamp_training_domain.py failed"
/usr/bin/python3 "$here/../../examples/experiments/summarize.py" "$domain" distance qm9 0.5 "$lam" 1 2 \
  || die "summarize.py failed on the stamped run"
grep -qE "trained on molecules of at most 6 heavy atoms; [1-6] of the 6 test molecules are larger" "$domain/results.md" \
  || die "no within/beyond-domain table: $(grep -A3 'Within' "$domain/results.md")"
! grep -q "Within and beyond" "$work/distance/results.md" || die "domain table without molecules beyond the domain"
# The lent-GPU training script on the CPU (benchmarks/gpu/experiment_train.sh, BACKEND=cpu): distance models that
# finish are sampled and evaluated by the partial pass (NO_TRAINING=1 DEFER_BIAS=1), torsion models cut off by the
# budget come back with a checkpoint and no .done marker; `collect` unpacks both and never overwrites.
gpu=$work/gpu_train
mkdir -p "$gpu/out" "$gpu/bin"
ln -s "$(realpath "$bin")" "$gpu/bin/confsgm"
/usr/bin/python3 - "$here/../../data/drugs/val.sdf.gz" "$gpu" <<'EOF_PY'
import gzip, sys
recs = [r for r in gzip.open(sys.argv[1], 'rt').read().split('$$$$\n') if r.strip()]
by = {}
for r in recs:
    lines = r.split('\n')
    by.setdefault(lines[lines.index('>  <mol_id>') + 1], []).append(r)
ids = list(by)
for name, sel in (('train', ids[:6]), ('val', ids[6:9])):
    open(f'{sys.argv[2]}/{name}.sdf', 'w').write(''.join(x + '$$$$\n' for m in sel for x in by[m][:6]))
EOF_PY
(cd "$here/../.." && OUT=$gpu/out BIN=$gpu/bin WORK=$gpu/work BACKEND=cpu DIST_EPOCHS=1 TORSION_EPOCHS=100000 TORSION_EARLY_STOP=0 \
  BUDGET_S=80 PASS_MIN_S=5 START_CHECK_S=2 TRAIN_SDF=$gpu/train.sdf VAL_SDF=$gpu/val.sdf MATCH_THREADS=2 VAL_MOLECULES=2 \
  TEST_MOLECULES=2 STEPS_PER_LEVEL=2 bash benchmarks/gpu/experiment_train.sh > "$gpu.log" 2>&1) \
  || die "experiment_train.sh failed: $(tail -5 "$gpu.log")"
for f in distance_drugs.tgz distance_drugs_gen.tgz torsion_drugs.tgz torsion_drugs_data.tgz; do
  [[ -s $gpu/out/$f ]] || die "experiment_train.sh: $f missing"
done
(cd "$here/../.." && RESULTS_ROOT=$gpu/results bash benchmarks/gpu/experiment_train.sh collect "$gpu/out" > "$gpu.collect.log") \
  || die "collect failed"
r=$gpu/results
[[ -f $r/distance_drugs/models/baseline_s1.bin.done && -f $r/distance_drugs/lambda.txt ]] || die "distance models not finished"
[[ -s $r/distance_drugs/eval/baseline_s1.json && -s $r/distance_drugs/eval/etkdg_s1.json ]] || die "partial pass did not evaluate"
[[ ! -e $r/distance_drugs/bias/baseline_s1.csv ]] || die "partial pass estimated the bias"
[[ -f $r/torsion_drugs/models/baseline_s1.bin.ckpt && ! -e $r/torsion_drugs/models/baseline_s1.bin.done ]] \
  || die "the cut-off torsion model should come back with its checkpoint and unfinished"
grep -q "partly trained" "$r/torsion_drugs/models/baseline_s1.bin.where" || die "no provenance for the torsion model"
[[ -s $r/torsion_drugs/data/train.matched.sdf ]] || die "matched set missing"
(cd "$here/../.." && RESULTS_ROOT=$gpu/results bash benchmarks/gpu/experiment_train.sh collect "$gpu/out" > "$gpu.collect2.log")
grep -q "kept the existing" "$gpu.collect2.log" || die "a second collect overwrote files"
# `pass` on the collected state: samples and evaluates what is missing, run by run (a missing run folder is
# skipped), and drops an unfinished sampling (its journal records another backend) instead of failing on it.
rm -f "$r"/distance_drugs/eval/baseline_s1.* "$r"/distance_drugs/gen/baseline_s1.*
printf 'not a journal' > "$r/distance_drugs/gen/baseline_s1.sdf.partial.sdf.journal"
printf 'partial' | gzip > "$r/distance_drugs/gen/baseline_s1.sdf.partial.sdf.partial.gz"
mkdir -p "$gpu/out2"
(cd "$here/../.." && OUT=$gpu/out2 BIN=$gpu/bin WORK=$gpu/work2 BACKEND=cpu RESULTS_ROOT=$r BUDGET_S=80 PASS_MIN_S=5 VAL_MOLECULES=2 \
  TEST_MOLECULES=2 STEPS_PER_LEVEL=2 bash benchmarks/gpu/experiment_train.sh pass > "$gpu.pass.log" 2>&1) \
  || die "experiment_train.sh pass failed: $(tail -5 "$gpu.pass.log")"
grep -q "distance_qm9 skipped" "$gpu.pass.log" || die "pass did not report the missing QM9 run"
# (Listings to files first: grep -q stops reading early, and pipefail would count tar's broken pipe.)
tar tzf "$gpu/out2/distance_drugs_pass.tgz" > "$gpu/pass.list"; tar tzf "$gpu/out2/distance_drugs_gen.tgz" > "$gpu/gen.list"
grep -q "eval/baseline_s1.json" "$gpu/pass.list" || die "pass did not evaluate baseline_s1"
grep -q "partial" "$gpu/gen.list" && die "an unfinished sampling travelled back"
echo "ok: paper_experiment.sh QUICK in both spaces, the generate-only split run, the training-domain table," \
  "experiment_train.sh with its partial pass, collect and pass"
