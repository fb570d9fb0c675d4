#!/usr/bin/env bash
# Sharded runs under mpirun (issue 27, docs/scale.md): the output of N ranks equals one process's byte for byte,
# and a job that loses a rank resumes with another number of ranks to the same output.
# usage: mpi_sharded.sh CONFSGM_BINARY MPIEXEC WORK_DIR CHECK
#   CHECK: generate (etkdg, confgf and torsional on 1, 2 and 3 ranks), generate_kill (a rank killed, resumed on 3
#   ranks; a single-process run killed, resumed on 2), evaluate, build-dataset, train (distance and torsion on 1, 2
#   and 3 ranks; killed on 2 ranks, resumed on 3), bias (torsion and distance models on 2 and 3 ranks), properties
set -uo pipefail
bin=$1; mpiexec=$2; work=$3; check=$4
rm -rf "$work"; mkdir -p "$work"
source "$(dirname "$0")/lib.sh"  # fail, die, data, models
# CI runs as root; Open MPI refuses root unless told. --oversubscribe: more ranks than cores (2-core machines).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { local n=$1; shift; "$mpiexec" -n "$n" "$bin" "$@"; }
same() {  # same NAME FILE_A FILE_B
  cmp -s "$2" "$3" || die "$1: $3 differs from $2 ($(cmp "$2" "$3" 2>&1 | head -1))"
}
printf 'mol_id,smiles\nethanol,CCO\nisobutanol,CC(C)CO\ncyclopropylamine,NC1CC1\nbutane,CCCC\nglycerol,OCC(O)CO\nacetone,CC(C)=O\nbad,C1CC\npropanoic_acid,CCC(=O)O\n' > "$work/in.csv"

case $check in
  generate)
    for method in etkdg confgf torsional; do
      args=(generate --method "$method" --input "$work/in.csv" --num 3 --seed 7 --threads 1 --quiet)
      [[ $method == confgf ]] && args+=(--steps-per-level 12)
      "$bin" "${args[@]}" --output "$work/one_$method.sdf" 2> "$work/one_$method.log"
      rc_one=$?
      [[ -s $work/one_$method.sdf ]] || die "$method: the single-process run wrote nothing ($(tail -2 "$work/one_$method.log"))"
      for n in 1 2 3; do
        mpi "$n" "${args[@]}" --output "$work/n${n}_$method.sdf" 2> "$work/n${n}_$method.log"
        rc=$?
        [[ $rc -eq $rc_one ]] || die "$method on $n ranks: exit $rc, one process: $rc_one ($(tail -2 "$work/n${n}_$method.log"))"
        same "$method on $n ranks" "$work/one_$method.sdf" "$work/n${n}_$method.sdf"
        [[ ! -e $work/n${n}_$method.sdf.parts ]] || die "$method on $n ranks: the parts folder was left behind"
        # The bad SMILES is reported once (by rank 0), as by one process.
        [[ $(grep -c "C1CC" "$work/n${n}_$method.log") -eq 1 ]] || die "$method on $n ranks: the rejected record is not reported exactly once"
      done
    done
    # A plain --resume over the state of a job is refused with the way to go on.
    mkdir -p "$work/stale.sdf.parts"
    "$bin" generate --input "$work/in.csv" --num 1 --output "$work/stale.sdf" --resume 2> "$work/stale.log"
    [[ $? -eq 2 ]] && grep -q "resume it under mpirun" "$work/stale.log" || die "plain --resume over a job's state: $(tail -1 "$work/stale.log")"
    ;;
  generate_kill)
    args=(generate --method confgf --input "$work/in.csv" --num 4 --seed 3 --steps-per-level 40 --threads 1 --quiet)
    "$bin" "${args[@]}" --output "$work/one.sdf" 2> /dev/null
    rc_one=$?  # 1: the bad SMILES is rejected
    # wait_for_lines FILE_GLOB N: until N molecule lines are journaled (at most 60 s)
    wait_for_lines() {
      for _ in $(seq 600); do
        (( $(cat $1 2> /dev/null | grep -c '^molecule') >= $2 )) && return 0
        sleep 0.1
      done
      return 1
    }
    # 1. A job of 2 ranks loses one (SIGKILL) after a molecule is journaled; mpirun ends the job.
    setsid "$mpiexec" -n 2 "$bin" "${args[@]}" --output "$work/job.sdf" 2> "$work/job1.log" &
    launcher=$!
    wait_for_lines "$work/job.sdf.parts/*.journal" 2 || die "no molecule journaled within 60 s"
    victim=$(pgrep -f "confsgm generate" -P "$launcher" | tail -1)
    [[ -n $victim ]] && kill -9 "$victim"
    wait "$launcher"
    rc=$?
    [[ $rc -ne 0 ]] || echo "note: the job ended before the kill landed"
    [[ ! -e $work/job.sdf ]] || [[ $rc -eq 0 ]] || die "a killed job left an output under the final name"
    # 2. Resumed on 3 ranks: the molecules the two ranks journaled are kept, the rest dealt to three.
    mpi 3 "${args[@]}" --output "$work/job.sdf" --resume 2> "$work/job2.log"
    [[ $? -eq $rc_one ]] || die "the resume on 3 ranks failed: $(tail -2 "$work/job2.log")"
    grep -q "^resumed: [1-9]" "$work/job2.log" || [[ $rc -eq 0 ]] || die "the resume kept no molecule: $(head -2 "$work/job2.log")"
    same "killed on 2 ranks, resumed on 3" "$work/one.sdf" "$work/job.sdf"
    # 3. A single-process run killed after two molecules, resumed on 2 ranks.
    setsid "$bin" "${args[@]}" --output "$work/single.sdf" 2> /dev/null &
    pid=$!
    wait_for_lines "$work/single.sdf.journal" 2 || die "the single-process run journaled nothing within 60 s"
    kill -9 "$pid"; wait "$pid" 2> /dev/null
    mpi 2 "${args[@]}" --output "$work/single.sdf" --resume 2> "$work/single2.log"
    [[ $? -eq $rc_one ]] || die "the resume on 2 ranks failed: $(tail -2 "$work/single2.log")"
    grep -q "^resumed: [1-9]" "$work/single2.log" || die "the resume of the single-process run kept no molecule: $(head -2 "$work/single2.log")"
    same "killed alone, resumed on 2 ranks" "$work/one.sdf" "$work/single.sdf"
    ;;
  evaluate)
    ref=$data/geom_drugs_train10.sdf
    "$bin" generate --input "$ref" --num 4 --seed 2 --threads 1 --quiet --output "$work/gen.sdf" 2> /dev/null
    # The last molecule has no generated conformers: it counts as missing on every rank count.
    python3 - "$work/gen.sdf" <<'PY'
import sys
text = open(sys.argv[1]).read().split("$$$$\n")
open(sys.argv[1], "w").write("$$$$\n".join(r for r in text if "drugs_train10_0009" not in r))
PY
    args=(evaluate --ref "$ref" --gen "$work/gen.sdf" --per-molecule --sweep --quiet --threads 1)
    "$bin" "${args[@]}" --json "$work/one.json" --rmsd-dir "$work/one_rmsd" > "$work/one.md" 2> "$work/one.log"
    rc_one=$?
    [[ -s $work/one.md ]] || die "the single-process evaluation wrote nothing ($(tail -2 "$work/one.log"))"
    for n in 2 3; do
      mpi "$n" "${args[@]}" --json "$work/n$n.json" --rmsd-dir "$work/n${n}_rmsd" > "$work/n$n.md" 2> "$work/n$n.log"
      [[ $? -eq $rc_one ]] || die "evaluate on $n ranks: exit status differs from one process's $rc_one ($(tail -2 "$work/n$n.log"))"
      same "evaluate tables on $n ranks" "$work/one.md" "$work/n$n.md"
      cmp -s <(sed "s#one\.json##; s#$work/##g" "$work/one.json") <(sed "s#n$n\.json##; s#$work/##g" "$work/n$n.json") \
        || die "evaluate JSON on $n ranks differs from one process's"
      diff -r "$work/one_rmsd" "$work/n${n}_rmsd" > /dev/null || die "evaluate RMSD matrices on $n ranks differ from one process's"
    done
    ;;
  build-dataset)
    printf 'mol_id,smiles\nmethanol,CO\nethanol,CCO\nmethylamine,CN\nacetaldehyde,CC=O\nbad,C1CC\n' > "$work/list.csv"
    args=(build-dataset --input "$work/list.csv" --tier gfnff-sp --jobs 1 --quiet)
    "$bin" "${args[@]}" --out "$work/one" 2> "$work/one.log"
    rc_one=$?
    mpi 2 "${args[@]}" --out "$work/two" 2> "$work/two.log"
    [[ $? -eq $rc_one ]] || die "build-dataset on 2 ranks: exit status differs from one process's $rc_one ($(tail -2 "$work/two.log"))"
    cmp -s <(zcat "$work/one/ensembles.sdf.gz") <(zcat "$work/two/ensembles.sdf.gz") || die "build-dataset on 2 ranks: other conformers"
    # Without the timing column.
    cmp -s <(cut -f1-16,18- "$work/one/status.tsv") <(cut -f1-16,18- "$work/two/status.tsv") || die "build-dataset on 2 ranks: other status table"
    cmp -s <(grep -v '"input"' "$work/one/manifest.json") <(grep -v '"input"' "$work/two/manifest.json") || die "build-dataset on 2 ranks: other manifest"
    # Resumed on 3 ranks after two molecules were removed: rebuilt, same set.
    rm "$work/two/molecules/ethanol."* "$work/two/molecules/acetaldehyde."*
    mpi 3 "${args[@]}" --out "$work/two" 2> "$work/three.log"
    cmp -s <(zcat "$work/one/ensembles.sdf.gz") <(zcat "$work/two/ensembles.sdf.gz") || die "build-dataset resumed on 3 ranks: other conformers"
    ;;
  train)
    # Data-parallel training: each rank computes its micro-batches, all sum all of them in micro-batch order, so the
    # weights, checkpoint and loss curve equal one process's bit for bit.
    ref=$data/geom_drugs_train10.sdf
    for space in distance torsion; do
      args=(train --space "$space" --train "$ref" --val "$ref" --hidden 16 --layers 2 --epochs 3 --batch 4 --micro-batch 1
            --conformers-per-molecule 3 --threads 1 --seed 3 --quiet)
      "$bin" "${args[@]}" --out "$work/one_$space.bin" 2> "$work/one_$space.log" \
        || die "$space: the single-process training failed ($(tail -2 "$work/one_$space.log"))"
      for n in 2 3; do
        mpi "$n" "${args[@]}" --out "$work/n${n}_$space.bin" 2> "$work/n${n}_$space.log" \
          || die "$space training on $n ranks failed ($(tail -2 "$work/n${n}_$space.log"))"
        same "$space model trained on $n ranks" "$work/one_$space.bin" "$work/n${n}_$space.bin"
        same "$space checkpoint on $n ranks" "$work/one_$space.bin.ckpt" "$work/n${n}_$space.bin.ckpt"
        cmp -s <(cut -d, -f1-7 "$work/one_$space.bin.log.csv") <(cut -d, -f1-7 "$work/n${n}_$space.bin.log.csv") \
          || die "$space loss curve on $n ranks differs from one process's"
      done
    done
    # Killed on 2 ranks after a checkpoint, resumed on 3: the uninterrupted model.
    args=(train --train "$ref" --val "$ref" --hidden 16 --layers 2 --epochs 400 --batch 2 --micro-batch 1
          --checkpoint-every 1 --threads 1 --seed 5 --quiet)
    "$bin" "${args[@]}" --out "$work/full.bin" 2> /dev/null || die "the uninterrupted training failed"
    setsid "$mpiexec" -n 2 "$bin" "${args[@]}" --out "$work/cut.bin" 2> "$work/cut.log" &
    launcher=$!
    for _ in $(seq 600); do [[ -s $work/cut.bin.ckpt ]] && break; sleep 0.05; done
    sleep 0.3
    victim=$(pgrep -f "confsgm train" -P "$launcher" | tail -1)
    [[ -n $victim ]] && kill -9 "$victim"
    wait "$launcher"
    [[ $? -ne 0 ]] || echo "note: the training ended before the kill landed"
    mpi 3 "${args[@]}" --out "$work/cut.bin" --resume 2> "$work/resume.log" || die "the resume on 3 ranks failed: $(tail -2 "$work/resume.log")"
    same "trained on 2 ranks, killed, resumed on 3" "$work/full.bin" "$work/cut.bin"
    ;;
  bias)
    # The draws are shared by the ranks; every rank holds all errors, rank 0 writes the tables.
    ref=$data/geom_drugs_train10.sdf
    for model in qm9-torsion-ip qm9-distance-ip; do
      args=(bias --model "$models/$model.bin" --data "$ref" --molecules 3 --samples-per-level 4 --conformers-per-molecule 2
            --steps 8 --steps-per-level 4 --threads 1 --seed 5)
      "$bin" "${args[@]}" --csv "$work/one_$model.csv" --errors "$work/one_errors_$model.csv" > "$work/one_$model.md" 2> "$work/one_$model.log" \
        || die "$model: the single-process estimate failed ($(tail -2 "$work/one_$model.log"))"
      for n in 2 3; do
        mpi "$n" "${args[@]}" --csv "$work/n${n}_$model.csv" --errors "$work/n${n}_errors_$model.csv" > "$work/n${n}_$model.md" \
          2> "$work/n${n}_$model.log" || die "$model: the estimate on $n ranks failed ($(tail -2 "$work/n${n}_$model.log"))"
        same "bias table of $model on $n ranks" "$work/one_$model.md" "$work/n${n}_$model.md"
        same "bias CSV of $model on $n ranks" "$work/one_$model.csv" "$work/n${n}_$model.csv"
        same "bias errors of $model on $n ranks" "$work/one_errors_$model.csv" "$work/n${n}_errors_$model.csv"
      done
    done
    ;;
  properties)
    ref=$data/geom_drugs_train10.sdf
    "$bin" generate --input "$ref" --num 3 --seed 2 --threads 1 --quiet --output "$work/gen.sdf" 2> /dev/null
    args=(properties --ref "$ref" --gen "$work/gen.sdf" --molecules 4 --conformers 3 --per-molecule --quiet --jobs 1)
    "$bin" "${args[@]}" --json "$work/one.json" > "$work/one.md" 2> "$work/one.log"
    rc_one=$?
    [[ -s $work/one.md ]] || die "the single-process properties wrote nothing ($(tail -2 "$work/one.log"))"
    mpi 2 "${args[@]}" --json "$work/two.json" > "$work/two.md" 2> "$work/two.log"
    [[ $? -eq $rc_one ]] || die "properties on 2 ranks: exit status differs from one process's $rc_one ($(tail -2 "$work/two.log"))"
    same "properties table on 2 ranks" "$work/one.md" "$work/two.md"
    same "properties JSON on 2 ranks" "$work/one.json" "$work/two.json"
    ;;
  *) echo "mpi_sharded.sh: unknown check '$check'" >&2; exit 2 ;;
esac
[[ $fail -eq 0 ]] && echo "ok: $check"
exit $fail
