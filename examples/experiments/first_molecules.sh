#!/usr/bin/env bash
# Prints the records of the first N molecules (every conformer of each, grouped by mol_id) of an SD file, plain
# or gzipped; N = 0 prints them all. The experiments' subsets of a set:
#   bash examples/experiments/first_molecules.sh data/qm9/val.sdf.gz 40 > subset.sdf
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: first_molecules.sh FILE.sdf[.gz] N" >&2; exit 2; }
zcat -f "$1" | awk -v n="$2" '
  { rec = rec $0 "\n" }
  /^>  <mol_id>/ { getline id; rec = rec id "\n"; if (!(id in seen)) { seen[id] = 1; count++ } }
  /^\$\$\$\$/ { if (n == 0 || count <= n) printf "%s", rec; rec = "" }'
