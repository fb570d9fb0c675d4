#!/usr/bin/env bash
# Builds, or resumes, the large Drugs training set (issue 25; docs/data.md, "The large
# Drugs training set") in shards that load on their own:
#   data/drugs/train_large/shard_NNN.{sdf.gz,status.tsv,manifest.json}
# The list, data/splits/drugs_train_large.csv (data/make_splits.py), starts with the 660
# molecules of data/splits/drugs_train.csv, already built by the full protocol
# (data/drugs/train.sdf.gz); the shards hold the rest: shard k = data rows
# [660 + k*SHARD, 660 + (k+1)*SHARD). The large set is train.sdf.gz plus every shard. A shard is finished when its manifest.json is in place (copied
# last); a killed run resumes inside the shard it was building (build-dataset keeps
# every finished molecule in data/work/drugs_train_large/shard_NNN/molecules/). data/work is
# ignored by git and lost with the machine: data/keep_large_partial.sh packs the finished
# molecules of an unfinished shard into $dest/partial/shard_NNN.tar.gz (commit it), and this
# script unpacks such a pack before it resumes that shard in a fresh checkout.
#   bash data/build_drugs_large.sh                 # every shard, in order
#   MAX_SHARDS=3 bash data/build_drugs_large.sh    # at most 3 more shards, then stop
# TIER (default gfnff-opt, chosen by data/fidelity/run_tier_fidelity.sh), SHARD rows per
# shard (default 200; changing it for a started set is refused), JOBS=2 molecules in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
echo 19 > /proc/self/autogroup 2>/dev/null || true  # background work: lowest priority (see build_all.sh)
app=$(bash data/build_app.sh)
list=data/splits/drugs_train_large.csv
shard=${SHARD:-200}
tier=${TIER:-gfnff-opt}
first=660  # data rows of drugs_train.csv at the head of the list
dest=data/drugs/train_large
mkdir -p "$dest" data/work/drugs_train_large
# The shard size is part of every finished shard's identity: refuse to mix sizes.
if [[ -f $dest/SHARD_SIZE && $(cat "$dest/SHARD_SIZE") != "$shard" ]]; then
  echo "build_drugs_large: $dest was built with SHARD=$(cat "$dest/SHARD_SIZE"), not $shard" >&2
  exit 2
fi
echo "$shard" > "$dest/SHARD_SIZE"
rows=$(($(wc -l < "$list") - 1 - first))
if ! cmp -s <(head -n $((first + 1)) "$list") data/splits/drugs_train.csv; then
  echo "build_drugs_large: $list does not start with data/splits/drugs_train.csv" >&2
  exit 2
fi
built=0
for ((k = 0; k * shard < rows; k++)); do
  name=$(printf 'shard_%03d' "$k")
  [[ -f $dest/$name.manifest.json ]] && continue
  if [[ -n ${MAX_SHARDS:-} && $built -ge $MAX_SHARDS ]]; then break; fi
  work=data/work/drugs_train_large/$name
  pack=$dest/partial/$name.tar.gz
  if [[ -f $pack && ! -d $work/molecules ]]; then
    mkdir -p "$work" && tar -xzf "$pack" -C "$work"
    echo "build_drugs_large: $name resumes from $pack ($(ls "$work"/molecules/*.status | wc -l) molecules done)"
  fi
  # Header, then the shard's rows (one sed: a head in a pipe would SIGPIPE its writer under pipefail).
  sed -n "1p;$((2 + first + k * shard)),$((1 + first + (k + 1) * shard))p" "$list" > "$work.csv"
  rc=0
  nice -n 19 "$app" build-dataset --input "$work.csv" --out "$work" --tier "$tier" --jobs "${JOBS:-2}" --quiet || rc=$?
  # 1 = finished with some molecules failed (listed in status.tsv); anything else is an error.
  if [[ $rc -ne 0 && $rc -ne 1 ]]; then echo "build_drugs_large: $name stopped with status $rc" >&2; exit "$rc"; fi
  cp "$work/ensembles.sdf.gz" "$dest/$name.sdf.gz.partial" && mv "$dest/$name.sdf.gz.partial" "$dest/$name.sdf.gz"
  cp "$work/status.tsv" "$dest/$name.status.tsv.partial" && mv "$dest/$name.status.tsv.partial" "$dest/$name.status.tsv"
  cp "$work/manifest.json" "$dest/$name.manifest.json.partial" && mv "$dest/$name.manifest.json.partial" "$dest/$name.manifest.json"
  # The finished shard replaces its partial pack (git rm it if it was committed).
  rm -f "$pack"
  built=$((built + 1))
  echo "build_drugs_large: $name done ($(grep -c $'\tok\t' "$dest/$name.status.tsv") ok) -> $dest/$name.sdf.gz"
done
done_shards=$(ls "$dest"/shard_*.manifest.json 2> /dev/null | wc -l)
echo "build_drugs_large: $done_shards of $(((rows + shard - 1) / shard)) shards finished"
