#!/usr/bin/env bash
# Publishes one finished paper_experiment.sh run into the repository:
#   docs/results/<space>_<family>/   results.md, results.json, lambda_grid.md and the plots (tracked; docs/results.md
#                                    links them)
#   models/<family>-<space>.bin, models/<family>-<space>-ip.bin
#                                    the first seed's baseline and IP models, loaded by `generate --model NAME`;
#                                    models/MANIFEST.tsv records each file's SHA-256, lambda, seed, source run and date
#   docs/results/<family>_spaces.md  both state spaces beside ETKDG, once both are published (compare_spaces.py)
#
#   SPACE=distance FAMILY=qm9 bash examples/experiments/publish.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
space=${SPACE:-torsion}
family=${FAMILY:-qm9}
run=${OUT:-results/${space}_${family}}
[[ -f $run/results.md && -f $run/lambda.txt ]] || { echo "publish: $run has no finished experiment (results.md)" >&2; exit 3; }
lambda=$(cat "$run/lambda.txt")
seed=${SEED:-$(sed -n 's/^Seeds: \([0-9]*\).*/\1/p' "$run/results.md")}
dst=docs/results/${space}_${family}
mkdir -p "$dst" models
for f in results.md results.json lambda_grid.md bias_vs_sigma.png error_histogram.png loss_curves.png; do
  [[ -f $run/$f ]] && cp "$run/$f" "$dst/$f"
done
manifest=models/MANIFEST.tsv
[[ -f $manifest ]] || printf 'model\tsha256\tspace\tfamily\tperturbation\tlambda\tseed\tsource\tpublished\n' > "$manifest"
publish_model() {
  local src=$1 name=$2 pert=$3 lam=$4
  [[ -f $src ]] || { echo "publish: missing $src" >&2; exit 3; }
  cp "$src" "models/$name.bin.partial" && mv "models/$name.bin.partial" "models/$name.bin"   # never a half-written model
  local sum
  sum=$(sha256sum "models/$name.bin" | cut -d' ' -f1)
  grep -v "^$name	" "$manifest" > "$manifest.partial" || true
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$sum" "$space" "$family" "$pert" "$lam" "$seed" "$src" \
    "$(date -u +%F)" >> "$manifest.partial"
  mv "$manifest.partial" "$manifest"
  echo "publish: models/$name.bin ($(du -h "models/$name.bin" | cut -f1), sha256 ${sum:0:12}...)"
}
publish_model "$run/models/baseline_s$seed.bin" "$family-$space" none -
publish_model "$run/models/ip_l${lambda}_s$seed.bin" "$family-$space-ip" ip "$lambda"
echo "publish: $dst"
# keep_state.sh then keeps only the run's models, evaluations and bias tables in git (the rest is in $dst).
echo "published to $dst on $(date -u +%Y-%m-%dT%H:%MZ)" > "$run/published"
# Both spaces of the family published: one table with both beside ETKDG (docs/results/<family>_spaces.md).
if [[ -f docs/results/distance_$family/results.json && -f docs/results/torsion_$family/results.json ]]; then
  /usr/bin/python3 examples/experiments/compare_spaces.py "$family"
fi
