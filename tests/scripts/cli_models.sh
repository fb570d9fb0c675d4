#!/usr/bin/env bash
# `confsgm train` (both spaces), `generate --method confgf|torsional` and `properties` end to end on the
# 10 real GEOM molecules (tiny network, few steps): files written, resume
# continues, damaged model files are named, properties of a set against itself are 0.
# usage: cli_models.sh CONFSGM_BINARY WORK_DIR HAVE_XTB(0|1)
set -uo pipefail
bin=$1; work=$2; have_xtb=${3:-0}
here=$(cd "$(dirname "$0")" && pwd)
source "$(dirname "$0")/lib.sh"  # fail, die, data, models
data=$here/../data/geom_drugs_train10.sdf  # (replaces lib.sh's folder)
rm -rf "$work"; mkdir -p "$work"
"$bin" train --train "$data" --val "$data" --out "$work/m.bin" --hidden 16 --layers 2 --epochs 3 --batch 4 \
  --micro-batch 2 --threads 2 --quiet 2> "$work/train.log" || die "train failed: $(tail -3 "$work/train.log")"
[[ -s $work/m.bin && -s $work/m.bin.ckpt && -s $work/m.bin.log.csv ]] || die "train did not write model, checkpoint and log"
[[ $(grep -c '^epoch,' "$work/m.bin.log.csv") -eq 3 ]] || die "log has no 3 epoch rows"
"$bin" train --train "$data" --val "$data" --out "$work/m.bin" --hidden 16 --layers 2 --epochs 4 --batch 4 \
  --micro-batch 2 --threads 1 --resume --quiet 2> "$work/resume.log" || die "resume failed: $(tail -3 "$work/resume.log")"
grep -q "resumed from .* at step 9, epoch 3" "$work/resume.log" || die "resume did not start at step 9: $(head -2 "$work/resume.log")"
# A resume with another architecture is refused with the reason.
"$bin" train --train "$data" --out "$work/m.bin" --hidden 32 --layers 2 --epochs 5 --batch 4 --micro-batch 2 \
  --resume --quiet 2> "$work/bad_resume.log"
[[ $? -eq 3 ]] && grep -q "hidden" "$work/bad_resume.log" || die "architecture mismatch on resume not reported: $(cat "$work/bad_resume.log")"
printf 'mol_id,smiles,n_conformers\nethanol,CCO,2\nisobutanol,CC(C)CO,3\n' > "$work/in.csv"
"$bin" generate --method confgf --model "$work/m.bin" --input "$work/in.csv" --output "$work/g.sdf" \
  --steps-per-level 2 --quiet 2> "$work/gen.log" || die "generate confgf failed: $(cat "$work/gen.log")"
[[ $(grep -c '^\$\$\$\$' "$work/g.sdf") -eq 10 ]] || die "expected 2x(2+3) = 10 conformers"
grep -q "confgf" "$work/g.sdf" || die "method property missing"
# The model records its training domain (largest training molecule: 30 heavy atoms). Larger input molecules
# are warned about, smaller ones are not; the shipped QM9 models say so for a drug-sized molecule.
grep -aq "^training_heavy_atoms_max=30$" "$work/m.bin" || die "model does not record its largest training molecule"
grep -q "more heavy atoms" "$work/gen.log" && die "warned about molecules inside the training domain: $(cat "$work/gen.log")"
printf 'mol_id,smiles,n_conformers\nc31,%s,1\n' "$(printf 'C%.0s' {1..31})" > "$work/big.csv"
"$bin" generate --method confgf --model "$work/m.bin" --input "$work/big.csv" --output "$work/big.sdf" \
  --steps-per-level 1 --quiet 2> "$work/big.log" || die "generate for a large molecule failed: $(cat "$work/big.log")"
grep -q "1 of 1 molecules have more heavy atoms .*at most 30; largest here: c31 with 31" "$work/big.log" \
  || die "no training-domain warning: $(cat "$work/big.log")"
printf 'mol_id,smiles,n_conformers\nibuprofen,CC(C)Cc1ccc(cc1)C(C)C(=O)O,1\n' > "$work/drug.csv"
"$bin" generate --method torsional --model qm9-torsion-ip --input "$work/drug.csv" --output "$work/drug.sdf" --quiet 2> "$work/drug.log" \
  || die "generate with the shipped torsion model failed: $(cat "$work/drug.log")"
grep -q "at most 9; largest here: ibuprofen with 15" "$work/drug.log" || die "shipped model did not warn: $(cat "$work/drug.log")"
# By default each molecule goes to the shipped model whose training domain fits it best: the smallest that
# holds it, or the largest when none does (here a "qm9" model of at most 5 heavy atoms and a "drugs" one of 30).
mkdir -p "$work/shipped"
cp "$work/m.bin" "$work/shipped/drugs-distance-ip.bin"
cp "$work/m.bin" "$work/shipped/qm9-distance-ip.bin"
/usr/bin/python3 "$here/../../models/stamp_training_domain.py" "$work/shipped/qm9-distance-ip.bin" 10 5
printf 'mol_id,smiles,n_conformers\nethanol,CCO,1\nc31,%s,1\nisobutanol,CC(C)CO,1\nibuprofen,CC(C)Cc1ccc(cc1)C(C)C(=O)O,1\n' \
  "$(printf 'C%.0s' {1..31})" > "$work/mixed.csv"
CONFSGM_MODEL_DIR=$work/shipped "$bin" generate --method confgf --input "$work/mixed.csv" --output "$work/mixed.sdf" \
  --steps-per-level 1 --quiet 2> "$work/mixed.log" || die "generate with two shipped models failed: $(cat "$work/mixed.log")"
chosen=$(awk '/^>  <mol_id>/ {getline; id=$0} /^>  <model>/ {getline; print id ":" $0}' "$work/mixed.sdf" | uniq | tr '\n' ' ')
[[ $chosen == "ethanol:qm9-distance-ip.bin c31:drugs-distance-ip.bin isobutanol:qm9-distance-ip.bin ibuprofen:drugs-distance-ip.bin " ]] \
  || die "models chosen per molecule: $chosen"
grep -q "1 of 2 molecules have more heavy atoms .*drugs-distance-ip.bin .*at most 30; largest here: c31" "$work/mixed.log" \
  && [[ $(grep -c "more heavy atoms" "$work/mixed.log") -eq 1 ]] || die "training-domain warnings: $(cat "$work/mixed.log")"
# The shipped model files are the ones models/MANIFEST.tsv lists.
(cd "$here/../../models" && tail -n +2 MANIFEST.tsv | awk -F'\t' '{print $2 "  " $1 ".bin"}' | sha256sum -c --quiet) \
  || die "models/MANIFEST.tsv does not match the shipped model files"
# Mirror images: with the same seed the samples are the same; `reflect` turns every wrong-handed one whose
# reflection has the input's R/S labels into that reflection, `keep` writes them as sampled.
printf 'mol_id,smiles,n_conformers\nalanine,C[C@@H](C(=O)O)N,10\nbutanol,C[C@@H](O)CC,10\n' > "$work/chiral.csv"
for mode in keep reflect; do
  "$bin" generate --method confgf --model "$work/m.bin" --input "$work/chiral.csv" --output "$work/mi_$mode.sdf" \
    --steps-per-level 2 --mirror-images $mode --quiet 2> "$work/mi_$mode.log" || [[ $? -eq 1 ]] \
    || die "generate --mirror-images $mode failed: $(cat "$work/mi_$mode.log")"
done
count() { sed -nE "s/.* ([0-9]+) $2.*/\1/p" "$work/mi_$1.log" | tail -1; }
keep_bad=$(count keep "conformers with a stereo mismatch"); bad=$(count reflect "conformers with a stereo mismatch")
reflected=$(count reflect "mirror images reflected")
keep_reflected=$(count keep "mirror images reflected")
[[ $keep_reflected =~ ^[0-9]+$ && $bad =~ ^[0-9]+$ && $reflected =~ ^[0-9]+$ && $keep_bad =~ ^[0-9]+$ ]] \
  || die "mirror images: a count is missing from the logs"
[[ $keep_reflected -eq 0 && $reflected -gt 0 && $keep_bad -eq $((bad + reflected)) ]] \
  || die "mirror images: keep $keep_bad wrong, reflect $bad wrong + $reflected reflected"
[[ $(grep -c "ok (mirror image of the sample)" "$work/mi_reflect.sdf") -eq $reflected ]] || die "reflected status not written"
"$bin" generate --method torsional --mirror-images keep --model "$work/t.bin" --input "$work/chiral.csv" \
  --output "$work/x.sdf" 2> "$work/e.log"
[[ $? -eq 2 ]] && grep -q "confgf only" "$work/e.log" || die "--mirror-images accepted for torsional: $(cat "$work/e.log")"
CONFSGM_MODEL_DIR=$work/none "$bin" generate --method confgf --input "$work/in.csv" --output "$work/x.sdf" 2> "$work/e.log"
[[ $? -eq 2 ]] && grep -q "shipped model" "$work/e.log" || die "missing model not refused: $(cat "$work/e.log")"
head -c 200 "$work/m.bin" > "$work/cut.bin"
"$bin" generate --method confgf --model "$work/cut.bin" --input "$work/in.csv" --output "$work/x.sdf" 2> "$work/e.log"
[[ $? -eq 3 ]] && grep -q "cut.bin" "$work/e.log" && grep -qE "checksum|truncated" "$work/e.log" || die "truncated model not reported: $(cat "$work/e.log")"
printf 'not a model' > "$work/foreign.bin"
"$bin" generate --method confgf --model "$work/foreign.bin" --input "$work/in.csv" --output "$work/x.sdf" 2> "$work/e.log"
[[ $? -eq 3 ]] && grep -q "not a confsgm model file" "$work/e.log" || die "foreign model not reported: $(cat "$work/e.log")"
# Torsion space: conformer matching, training, resume, generation (molecules without a rotatable bond keep
# their ETKDG conformers), no stereo change, model kinds not mixed up.
"$bin" train --space torsion --train "$data" --val "$data" --out "$work/t.bin" --hidden 8 --layers 2 --epochs 2 \
  --batch 4 --micro-batch 2 --threads 2 --conformers-per-molecule 2 --quiet 2> "$work/ttrain.log" \
  || die "torsion train failed: $(tail -3 "$work/ttrain.log")"
grep -q "conformer matching (training): 20 conformers of 10 molecules" "$work/ttrain.log" \
  || die "matching summary missing: $(grep matching "$work/ttrain.log")"
[[ $(wc -l < "$work/t.bin.matching.tsv") -eq 21 ]] || die "matching table should list 20 conformers"
"$bin" train --space torsion --train "$data" --val "$data" --out "$work/t.bin" --hidden 8 --layers 2 --epochs 3 \
  --batch 4 --micro-batch 2 --threads 1 --conformers-per-molecule 2 --resume --quiet 2> "$work/tresume.log" \
  || die "torsion resume failed: $(tail -3 "$work/tresume.log")"
grep -q "resumed from .* at step 6, epoch 2" "$work/tresume.log" || die "torsion resume did not start at step 6"
# Matching once, training on the matched file without matching again.
"$bin" match --input "$data" --output "$work/matched.sdf" --conformers-per-molecule 2 2> "$work/match.log" \
  || die "match failed: $(cat "$work/match.log")"
[[ $(grep -c '^\$\$\$\$' "$work/matched.sdf") -eq 20 && -s $work/matched.sdf.tsv ]] || die "match should write 20 conformers"
"$bin" train --space torsion --matched --train "$work/matched.sdf" --out "$work/tm.bin" --hidden 8 --layers 2 --epochs 1 \
  --batch 4 --micro-batch 2 --quiet 2> "$work/tm.log" || die "train --matched failed: $(cat "$work/tm.log")"
grep -q "20 conformers taken as matched" "$work/tm.log" || die "matched input not used as is: $(cat "$work/tm.log")"
# A learning rate that reaches its floor early and stays there is reported (the plateau patience counts epochs);
# the runs above, with the default patience, are not.
"$bin" train --space torsion --matched --train "$work/matched.sdf" --val "$work/matched.sdf" --out "$work/lr.bin" \
  --hidden 8 --layers 2 --epochs 6 --batch 4 --micro-batch 2 --lr 1e-4 --plateau-factor 0.01 --patience 0 --quiet \
  2> "$work/lr.log" || die "train with a collapsing learning rate failed: $(cat "$work/lr.log")"
grep -qE "learning rate was at its floor \(1e-05\) for the last [4-6] of the 6 epochs" "$work/lr.log" \
  || die "learning-rate floor not reported: $(cat "$work/lr.log")"
! grep -q "learning rate was at its floor" "$work/ttrain.log" "$work/tm.log" || die "learning-rate floor reported wrongly"
printf 'mol_id,smiles,n_conformers\nethanol,CCO,2\nisobutanol,CC(C)CO,3\nbenzene,c1ccccc1,1\n' > "$work/tin.csv"
"$bin" generate --method torsional --model "$work/t.bin" --input "$work/tin.csv" --output "$work/tg.sdf" \
  --quiet 2> "$work/tgen.log" || die "generate torsional failed: $(cat "$work/tgen.log")"
[[ $(grep -c '^\$\$\$\$' "$work/tg.sdf") -eq 12 ]] || die "expected 2x(2+3+1) = 12 torsional conformers"
grep -q "torsional-sde" "$work/tg.sdf" || die "torsional method property missing"
grep -q " 0 conformers with a stereo mismatch" "$work/tgen.log" || die "stereo changed: $(cat "$work/tgen.log")"
# Molecules run in parallel, conformers keyed by molecule and index: the files do not depend on --threads.
# Small molecules share the threads, hexane (40 conformers; 10 for ETKDG) runs alone on both: both paths run.
printf 'mol_id,smiles,n_conformers\nethanol,CCO,2\nisobutanol,CC(C)CO,3\nbenzene,c1ccccc1,1\nhexane,CCCCCC,20\n' \
  > "$work/thr.csv"
for t in 1 2; do
  "$bin" generate --method torsional --model "$work/t.bin" --input "$work/thr.csv" --output "$work/tt$t.sdf" \
    --threads $t --quiet 2> /dev/null || die "generate torsional --threads $t failed"
  "$bin" generate --method confgf --model "$work/m.bin" --input "$work/thr.csv" --output "$work/ct$t.sdf" \
    --steps-per-level 2 --threads $t --quiet 2> /dev/null || die "generate confgf --threads $t failed"
  "$bin" generate --input "$work/thr.csv" --output "$work/et$t.sdf" --multiplier 0.5 --threads $t --quiet 2> /dev/null \
    || die "generate etkdg --threads $t failed"
done
for f in tt ct et; do
  [[ -s $work/${f}1.sdf ]] && cmp -s "$work/${f}1.sdf" "$work/${f}2.sdf" || die "$f: output differs between 1 and 2 threads"
done
for s in ode langevin; do
  "$bin" generate --method torsional --sampler $s --reuse-local --model "$work/t.bin" --input "$work/tin.csv" \
    --output "$work/t$s.sdf" --quiet 2> /dev/null || die "torsional --sampler $s failed"
done
# Exposure bias per level for both model kinds (table rows for every level, CSV files written).
"$bin" bias --model "$work/t.bin" --data "$data" --molecules 2 --samples-per-level 2 --csv "$work/tb.csv" \
  --errors "$work/tbe.csv" > "$work/tb.md" 2> "$work/tb.log" || die "bias (torsion) failed: $(cat "$work/tb.log")"
[[ $(grep -c '^| [0-9]' "$work/tb.md") -eq 20 && $(wc -l < "$work/tb.csv") -eq 21 ]] || die "torsion bias table: $(cat "$work/tb.md")"
"$bin" bias --model "$work/m.bin" --data "$data" --molecules 1 --samples-per-level 1 --steps-per-level 1 \
  > "$work/db.md" 2> "$work/db.log" || die "bias (distance) failed: $(cat "$work/db.log")"
[[ $(grep -c '^| [0-9]' "$work/db.md") -eq 50 ]] || die "distance bias table should have 50 levels"
"$bin" generate --method torsional --model "$work/m.bin" --input "$work/tin.csv" --output "$work/x.sdf" 2> "$work/e.log"
[[ $? -eq 3 ]] && grep -q "not a torsion-space" "$work/e.log" || die "distance model accepted as torsional: $(cat "$work/e.log")"
# --backend: cuda runs where a device is, else a clear error with status 2; anything else is a usage error.
"$bin" generate --method torsional --model "$work/t.bin" --input "$work/tin.csv" --output "$work/tc.sdf" --backend cuda \
  --quiet 2> "$work/bc.log"
rc=$?
if [[ $rc -eq 2 ]]; then
  grep -Eq "no CUDA device|built without CUDA" "$work/bc.log" || die "--backend cuda error unclear: $(cat "$work/bc.log")"
else
  [[ $rc -eq 0 && $(grep -c '^\$\$\$\$' "$work/tc.sdf") -eq 12 ]] || die "--backend cuda failed: $(cat "$work/bc.log")"
fi
"$bin" bias --model "$work/m.bin" --data "$data" --backend gpu > /dev/null 2> "$work/bg.log"
[[ $? -eq 2 ]] && grep -q "must be cpu or cuda" "$work/bg.log" || die "--backend gpu accepted: $(cat "$work/bg.log")"
if [[ $have_xtb == 1 ]]; then
  "$bin" properties --ref "$data" --gen "$data" --molecules 2 --conformers 1000 --quiet > "$work/p.txt" 2> /dev/null
  grep -q "| 0.0000 | 0.0000 | 0.0000 | 0.0000 | 0.0000 |" "$work/p.txt" || die "properties of a set against itself: $(cat "$work/p.txt")"
fi
[[ $fail -eq 0 ]] && echo "ok: train, resume, generate --method confgf and torsional, match, bias, --backend, model-file errors, properties"
exit $fail
