#!/usr/bin/env bash
# Packs the finished molecules of every unfinished shard of the large Drugs set (data/build_drugs_large.sh)
# into data/drugs/train_large/partial/shard_NNN.tar.gz and stages the packs, so that a session's work on a
# shard survives the machine (data/work/ is ignored by git). A molecule is packed only with its .status
# file (build-dataset writes it last: the molecule is done); the pack is written atomically. Packs of
# finished shards leave the index.
#   bash data/keep_large_partial.sh && git commit -m "data: large Drugs set, partial shard"
set -euo pipefail
cd "$(dirname "$0")/.."
dest=data/drugs/train_large
work_root=data/work/drugs_train_large
mkdir -p "$dest/partial"
for work in "$work_root"/shard_*/; do
  [[ -d ${work}molecules ]] || continue
  name=$(basename "$work")
  pack=$dest/partial/$name.tar.gz
  [[ -f $dest/$name.manifest.json ]] && continue
  mapfile -t done_ids < <(cd "${work}molecules" && ls -- *.status 2> /dev/null | sed 's/\.status$//')
  [[ ${#done_ids[@]} -gt 0 ]] || continue
  members=()
  for id in "${done_ids[@]}"; do
    members+=("molecules/$id.status")
    [[ -f ${work}molecules/$id.sdf ]] && members+=("molecules/$id.sdf")
  done
  tar -czf "$pack.partial" -C "$work" -- "${members[@]}"
  mv "$pack.partial" "$pack"
  git add -- "$pack"
  echo "keep_large_partial: $name: ${#done_ids[@]} molecules -> $pack"
done
for pack in "$dest"/partial/shard_*.tar.gz; do
  [[ -e $pack ]] || continue
  name=$(basename "$pack" .tar.gz)
  if [[ -f $dest/$name.manifest.json ]]; then
    git rm -q --cached --ignore-unmatch -- "$pack"
    rm -f -- "$pack"
  fi
done
