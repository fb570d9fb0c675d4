#!/usr/bin/env bash
# Stages the resumable state of the experiments under results/ for a commit, so that a run cut off by the end of a
# session goes on from the same point in a fresh checkout (results/ is ignored: the conformer files are large, and
# the rest is rebuilt by the run). Staged, per run folder (results/<space>_<family>):
#   models: every model file with its .done marker, training log and provenance (.where); the checkpoint only of
#     a model still training (a finished model never resumes);
#   eval/ and bias/ (small: JSON, tables, CSV; every sample's errors gzipped), lambda.txt and lambda_grid.md, the tables and plots;
#   data/: the matched training and validation sets of the torsion space, gzipped (matching takes minutes and
#     paper_experiment.sh restores them), with their .source records.
#   gen/: only a sampling cut off mid-run: its journal (generate --resume) and its partial output gzipped, so the
#     next session resumes at the next molecule (paper_experiment.sh unpacks it); both leave git once it finished.
# A published run (publish.sh left a `published` marker; its tables, JSON and plots are in docs/results/) keeps its
# models, evaluations and bias tables in git, but not its JSON, plots, matched sets and matching reports, which
# leave the index: a GPU machine takes the working tree only up to 64 MiB (a later rerun of the run matches again).
# Pipeline comparisons (results/relax_*): each finished pipeline's evaluation, wall time and generate log.
# Not staged: generated conformers (gen/: once evaluated they are not read again; a missing one of an unevaluated
# model is sampled again with the same seed) and logs of finished steps.
#
#   bash examples/experiments/keep_state.sh && git commit -m "results: experiment state"
set -euo pipefail
cd "$(dirname "$0")/../.."
root=${RESULTS_ROOT:-results}
[[ -d $root ]] || { echo "keep_state: no $root/ here" >&2; exit 0; }
files=()
for run in "$root"/*/; do
  run=${run%/}
  [[ -d $run/models ]] || continue
  for m in "$run"/models/*.bin; do
    [[ -e $m ]] || continue
    files+=("$m")
    for extra in "$m.done" "$m.log.csv" "$m.where" "$m.train.log"; do [[ -f $extra ]] && files+=("$extra"); done
    [[ ! -f $m.done && -f $m.ckpt ]] && files+=("$m.ckpt")
    # A checkpoint staged while its model was training is dropped from git once the model is finished.
    if [[ -f $m.done ]] && git ls-files --error-unmatch "$m.ckpt" > /dev/null 2>&1; then
      git rm -q --cached -- "$m.ckpt"
    fi
  done
  bulky=("$run"/*.png "$run"/*.json "$run"/data/*.matching.tsv "$run"/data/*.matched.sdf.gz)
  if [[ -f $run/published ]]; then
    files+=("$run/published")
    for f in "${bulky[@]}"; do
      if git ls-files --error-unmatch "$f" > /dev/null 2>&1; then git rm -q --cached -- "$f"; fi
    done
    bulky=()
  fi
  for f in "$run"/eval/*.json "$run"/eval/*.txt "$run"/bias/*[0-9].csv "$run"/bias/*.md "$run"/lambda.txt \
    "$run"/lambda_grid.md "$run"/results.md "$run"/*.csv "$run"/data/*.source "${bulky[@]}"; do
    [[ -f $f ]] && files+=("$f")
  done
  # Every sample's bias error (the Fig. 1c histogram), gzipped: summarize.py reads either form.
  for errors in "$run"/bias/*.errors.csv; do
    [[ -f $errors ]] || continue
    if [[ ! -f $errors.gz || $errors -nt $errors.gz ]]; then gzip -9 -n -c "$errors" > "$errors.gz"; fi
    files+=("$errors.gz")
    if git ls-files --error-unmatch "$errors" > /dev/null 2>&1; then git rm -q --cached -- "$errors"; fi
  done
  # The journal is copied before the partial output: while a sampling runs, the partial file only grows past what
  # its journal vouches for (a resumed run first cuts it back to its journal's last offset, never below), so the
  # copy holds every byte the copied journal lists; the size is checked anyway. Either file may vanish meanwhile
  # (the sampling finished): then nothing is staged for it. The journal's copy goes into the index as a blob.
  for journal in "$run"/gen/*.journal; do
    [[ -f $journal ]] || continue
    partial=${journal%.journal}.partial
    snap=$(mktemp -d)
    if cp "$journal" "$snap/journal" 2> /dev/null && cp "$partial" "$snap/partial" 2> /dev/null; then
      vouched=$(awk -F'\t' '$1 == "molecule" && NF == 8 { end = $3 } END { print end + 0 }' "$snap/journal")
      if (($(stat -c %s "$snap/partial") >= vouched)); then
        gzip -9 -n -c "$snap/partial" > "$partial.gz.tmp" && mv "$partial.gz.tmp" "$partial.gz"
        blob=$(git hash-object -w -- "$snap/journal")
        git update-index --add --cacheinfo "100644,$blob,$journal"
        files+=("$partial.gz")
      fi
    fi
    rm -rf "$snap"
  done
  while IFS= read -r tracked; do   # samplings that finished since they were staged
    [[ -f $tracked ]] || git rm -q --cached -- "$tracked"
  done < <(git ls-files -- "$run/gen/")
  for matched in "$run"/data/*.matched.sdf; do
    [[ -f $matched && ! -f $run/published ]] || continue
    # Gzipped beside the file the run reads; paper_experiment.sh unpacks it when the plain file is missing.
    if [[ ! -f $matched.gz || $matched -nt $matched.gz ]]; then gzip -9 -n -c "$matched" > "$matched.gz"; fi
    files+=("$matched.gz")
  done
done
# Pipeline comparisons (relax_pipelines.sh, relax_comparison.sh: results/relax_*/ and their seedN/ folders): a
# finished pipeline is its evaluation, wall time and generate log, which the summaries read; its conformers are
# not kept (a rerun skips a pipeline whose <name>.json exists).
for folder in "$root"/relax_*/ "$root"/relax_*/seed*/; do
  [[ -d $folder ]] || continue
  for f in "$folder"*.json "$folder"*.ms "$folder"*.gen.log "$folder"*.txt "$folder"*.md "$folder"*.png; do
    [[ -f $f ]] || continue
    name=$(basename "$f"); name=${name%%@*}; name=${name%.json}; name=${name%.ms}; name=${name%.gen.log}; name=${name%.txt}
    # A pipeline still running has a log but no evaluation yet: its files wait for the next call.
    [[ $f == *.md || $f == *.png || -f $folder$name.json ]] && files+=("$f")
  done
done
((${#files[@]})) || { echo "keep_state: nothing to stage"; exit 0; }
git add -f -- "${files[@]}"
du -ch "${files[@]}" | tail -1 | sed 's/^/keep_state: staged /'
