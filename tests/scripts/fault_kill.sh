#!/usr/bin/env bash
# Fault injection (issue 26, docs/reliability.md): COMMAND (generate, train, bias or build-dataset) is killed
# with SIGKILL at KILLS moments drawn from a seeded generator, each time started again the way a user resumes it
# (generate --resume, train --resume once a checkpoint exists, build-dataset by itself, bias from the start);
# then one run finishes. Checked: the final outputs equal an uninterrupted run's byte for byte, and after every
# kill a file under a finished output's name is complete (equal to the uninterrupted run's), never half-written.
# The whole process group is killed, as Slurm or timeout(1) do, so that child xtb processes go too.
# usage: fault_kill.sh CONFSGM_BINARY WORK_DIR COMMAND [KILLS=20] [SEED=1]
set -uo pipefail
bin=$1; work=$2; command=$3; kills=${4:-20}; seed=${5:-1}
rm -rf "$work"; mkdir -p "$work"
source "$(dirname "$0")/lib.sh"  # fail, die, data, models

# The command line writing into folder $1; outputs: the files compared (relative to that folder).
case $command in
  generate)
    printf 'mol_id,smiles\nethanol,CCO\nisobutanol,CC(C)CO\ncyclopropylamine,NC1CC1\nbutane,CCCC\nglycerol,OCC(O)CO\nacetone,CC(C)=O\n' > "$work/in.csv"
    cmd() { echo generate --method confgf --model qm9-distance-ip --input "$work/in.csv" --num 2 --steps-per-level 12 \
              --seed 7 --threads 1 --quiet --output "$1/out.sdf" --resume; }
    outputs=(out.sdf) ;;
  train)
    cmd() {
      local resume=()
      [[ -f $1/m.bin.ckpt ]] && resume=(--resume)
      echo train --train "$data/geom_drugs_train10.sdf" --val "$data/geom_drugs_train10.sdf" --out "$1/m.bin" --hidden 32 \
        --layers 2 --epochs 12 --batch 4 --micro-batch 2 --checkpoint-every 1 --threads 1 --seed 3 --quiet "${resume[@]}"
    }
    outputs=(m.bin) ;;
  bias)
    cmd() { echo bias --model "$models/qm9-torsion-ip.bin" --data "$data/geom_drugs_train10.sdf" --molecules 3 \
              --samples-per-level 4 --conformers-per-molecule 2 --steps 8 --threads 1 --seed 5 \
              --csv "$1/bias.csv" --errors "$1/errors.csv"; }
    outputs=(bias.csv errors.csv) ;;
  build-dataset)
    printf 'mol_id,smiles\nmethanol,CO\nethanol,CCO\nmethylamine,CN\nacetaldehyde,CC=O\n' > "$work/list.csv"
    cmd() { echo build-dataset --input "$work/list.csv" --out "$1/ds" --tier gfnff-sp --jobs 1 --quiet; }
    outputs=(ds/ensembles.sdf.gz ds/status.tsv) ;;
  *) echo "fault_kill.sh: unknown command '$command'" >&2; exit 2 ;;
esac

# The file as compared: gzip files by content; status tables without their timing column.
canonical() {
  case $1 in
    *.gz) zcat "$1" ;;
    */status.tsv) cut -f1-16,18- "$1" ;;
    *) cat "$1" ;;
  esac
}

# A confsgm model or checkpoint file whose trailing FNV-1a checksum matches its bytes (train/checkpoint.hpp).
whole_model_file() {
  python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
h = 1469598103934665603
for c in b[:-8]:
    h = ((h ^ c) * 1099511628211) % (1 << 64)
sys.exit(0 if len(b) > 24 and b[:8] == b'CONFSGM\x01' and struct.unpack('<Q', b[-8:])[0] == h else 1)
PY
}

mkdir -p "$work/full" "$work/killed"
start=$(date +%s%N)
# shellcheck disable=SC2046
"$bin" $(cmd "$work/full") > /dev/null 2> "$work/full.log" || die "uninterrupted $command failed: $(tail -3 "$work/full.log")"
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
for o in "${outputs[@]}"; do [[ -s $work/full/$o ]] || die "uninterrupted $command wrote no $o"; done

# Kill moments uniform in [0, window_ms]: early ones land in start-up and input reading, late ones in sampling,
# training, xtb runs and writing. The window starts at the uninterrupted run's time and shrinks to the time of any
# run from an empty folder that finished before its kill: under a loaded CTest the first run can take twice as
# long as later ones, and kills drawn after the end would not test anything. A run that finishes is checked, then
# its folder is emptied, so that later kills land in a new run rather than in a command with nothing left to do.
RANDOM=$seed
window_ms=$full_ms
landed=0 finished=0
ms_now() { echo $(($(date +%s%N) / 1000000)); }
# Until KILLS kills have landed in a running process (a draw after the run's end does not count), at most 4 x KILLS.
for ((k = 1; landed < kills && k <= 4 * kills; ++k)); do
  delay_ms=$(( (RANDOM * 32768 + RANDOM) % (window_ms + 1) ))
  fresh=0
  [[ -z $(ls -A "$work/killed") ]] && fresh=1
  started=$(ms_now)
  # shellcheck disable=SC2046
  setsid "$bin" $(cmd "$work/killed") > /dev/null 2>> "$work/killed.log" &
  pid=$!
  # The killer waits in the background, so that a run ending early is seen at once, with its true duration.
  ( sleep "$(awk -v ms="$delay_ms" 'BEGIN {printf "%.3f", ms / 1000}')"; kill -9 -- "-$pid" 2> /dev/null ) &
  killer=$!
  wait "$pid" 2> /dev/null
  rc=$?
  elapsed=$(($(ms_now) - started))
  kill "$killer" 2> /dev/null
  wait "$killer" 2> /dev/null
  if ((rc == 137)); then
    landed=$((landed + 1))
  elif ((rc != 0 && rc != 1)); then
    die "run $k (not killed) of $command ended with status $rc: $(tail -3 "$work/killed.log")"
  elif ((fresh && elapsed < window_ms)); then
    window_ms=$elapsed
  fi
  # A file under a finished output's name is a finished output: it must be complete. Training writes its model
  # (the best epoch so far) and checkpoint during the run: those must be whole model files (checksum intact).
  for o in "${outputs[@]}"; do
    [[ -e $work/killed/$o ]] || continue
    if [[ $command == train && $rc -eq 137 ]]; then
      for f in "$work/killed/$o" "$work/killed/$o.ckpt"; do
        [[ ! -e $f ]] || whole_model_file "$f" || die "after kill $k (at $delay_ms ms): $f is not a whole model file"
      done
    elif ! cmp -s <(canonical "$work/full/$o") <(canonical "$work/killed/$o"); then
      die "after run $k (killed at $delay_ms ms: $((rc == 137))): $o exists but differs from the uninterrupted run's"
    fi
  done
  if ((rc != 137)); then
    rm -rf "${work:?}/killed" && mkdir "$work/killed"  # finished (and checked above): start a new run
    finished=$((finished + 1))
  fi
done
# shellcheck disable=SC2046
"$bin" $(cmd "$work/killed") > /dev/null 2> "$work/final.log" || die "the final resumed $command failed: $(tail -3 "$work/final.log")"
for o in "${outputs[@]}"; do
  cmp -s <(canonical "$work/full/$o") <(canonical "$work/killed/$o") \
    || die "$o after $landed kills and a resume differs from the uninterrupted run's"
done
((landed >= kills)) || die "only $landed of $((k - 1)) kills landed while $command ran (window $window_ms ms; runs too short to test)"
[[ $fail -eq 0 ]] && echo "ok: $command killed $landed times with SIGKILL ($((k - 1)) moments drawn in [0, $window_ms] ms, seed $seed; an uninterrupted run takes $full_ms ms; $finished runs finished before their kill and were started again), resumed, same output"
exit $fail
