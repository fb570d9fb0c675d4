#!/usr/bin/env bash
# Strong scaling of the sharded commands (docs/scale.md): the same job alone, on 1 rank and on N ranks (one thread
# each), wall-clock seconds, and whether the outputs equal the single-process run's byte for byte.
# usage: bash benchmarks/mpi/scaling.sh [RANKS=2] [BUILD=build-new] [ONLY=regex of the job names]
# Appends to docs/results/mpi_scaling.tsv (date, machine, command, ranks, seconds, speed-up, same output).
set -euo pipefail
cd "$(dirname "$0")/../.."
ranks=${1:-2}
bin=${2:-build-new}/examples/confsgm
only=${3:-.}
[[ -x $bin ]] || { echo "scaling.sh: build the application first ($bin)" >&2; exit 2; }
work=results/mpi_scaling
mkdir -p "$work" docs/results
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
table=docs/results/mpi_scaling.tsv
[[ -f $table ]] || printf 'date\tmachine\tcommand\tranks\tseconds\tspeed_up\tsame_output\n' > "$table"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
# Generation: the first 32 QM9 training-list molecules, 8 conformers each, shipped QM9 distance model.
head -n 33 data/splits/qm9_train.csv | cut -d, -f1,2 > "$work/qm9_32.csv"
# Evaluation and training: the QM9 validation set (228 molecules, 828 conformers); ETKDG conformers to evaluate.
ref=data/qm9/val.sdf.gz
[[ -s $work/qm9_val_etkdg.sdf ]] || "$bin" generate --input "$ref" --seed 2 --threads 2 --quiet --output "$work/qm9_val_etkdg.sdf" 2> /dev/null || true

# run NAME OUTPUT -- ARGS: times ARGS alone, then under mpirun with 1 and $ranks ranks.
run() {
  local name=$1 output=$2; shift 3
  [[ $name =~ $only ]] || return 0
  local t0 t1 base=""
  for n in 0 1 "$ranks"; do
    rm -rf "$work/$name.$n" "$work/$name.$n".*
    local launch=() out="$work/$name.$n"
    ((n > 0)) && launch=(mpirun -n "$n")
    t0=$(date +%s.%N)
    "${launch[@]}" "$bin" "$@" "${output}" "$out" > "$work/$name.$n.stdout" 2> "$work/$name.$n.log" || [[ $? -eq 1 ]]
    t1=$(date +%s.%N)
    local s; s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    [[ -n $base ]] || base=$s
    local same=yes
    if [[ $name == train* ]]; then cmp -s "$work/$name.0" "$out" || same=no
    elif [[ $name == evaluate* ]]; then cmp -s "$work/$name.0.stdout" "$work/$name.$n.stdout" || same=no
    else cmp -s "$work/$name.0" "$out" || same=no; fi
    local label=$n; ((n == 0)) && label="1 (no mpirun)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%F)" "$machine" "$name" "$label" "$s" \
      "$(awk -v a="$base" -v b="$s" 'BEGIN {printf "%.2f", a / b}')" "$same" | tee -a "$table"
  done
}
run generate_confgf_qm9_32x8 --output -- generate --method confgf --input "$work/qm9_32.csv" --num 8 --steps-per-level 30 \
  --seed 7 --threads 1 --quiet
run generate_torsional_qm9_32x8 --output -- generate --method torsional --input "$work/qm9_32.csv" --num 8 --seed 7 \
  --threads 1 --quiet
run evaluate_qm9_val --json -- evaluate --ref "$ref" --gen "$work/qm9_val_etkdg.sdf" --threads 1 --quiet
run train_distance_qm9_val --out -- train --train "$ref" --hidden 128 --layers 4 --epochs 10 --batch 32 \
  --micro-batch 4 --threads 1 --seed 3 --quiet
