#!/usr/bin/env python3
"""Generate golden symmetry-aware heavy-atom RMSD values with RDKit.

Usage (from the repository root; use Debian's RDKit interpreter):

    nice -n 10 /usr/bin/python3 tests/golden/make_best_rms_golden.py \
        [--sdf tests/data/geom_drugs_train10.sdf] \
        [--out tests/golden/best_rms_geom10.csv] \
        [--meta tests/golden/best_rms_geom10.meta.json] [--k 24]

Input: the GEOM-DRUGS sample SDF (V2000, explicit hydrogens) with the SD
properties ``mol_id``, ``conf_index`` and ``graph_matches_conf0``.

Pair-selection rule (deterministic, no random numbers):

* Records are grouped by ``mol_id``; molecules are taken in order of first
  appearance in the file.
* Records with ``graph_matches_conf0 == 0`` are excluded (in this data set only
  drugs_train10_0007 conformer 77, whose bond graph differs).
* The remaining conformers of a molecule are sorted by ``conf_index``; the
  first ``K = min(n, --k)`` of them (default ``--k 24``) are taken and *all*
  pairs ``i < j`` among them are emitted as ordered pairs with
  ``ref = conformer i`` and ``prb = conformer j`` (so ``ref_conf_index <
  prb_conf_index``).  That gives ``K*(K-1)/2`` pairs per molecule: 276 for
  every molecule with at least 24 conformers, and all available pairs for the
  three smaller ones (14 -> 91, 9 -> 36, 7 -> 21 conformers); 2,080 pairs in
  total for the GEOM sample.

For each pair the value is

    rdkit.Chem.rdMolAlign.GetBestRMS(RemoveHs(prb), RemoveHs(ref))

with all defaults (symmetry enumeration via substructure matching,
maxMatches=1000000, symmetrizeConjugatedTerminalGroups=True, no weights).
GetBestRMS moves the probe coordinates, so a fresh copy of the probe is
passed for every pair.

Outputs:

* CSV ``mol_id,ref_conf_index,prb_conf_index,best_rms`` (RMSD in Angstrom,
  printed with ``%.10f``), no comment lines.
* A companion JSON file with the RDKit version, the sha256 of the input SDF,
  the pair count, the selection rule and the command used.

The script prints the number of pairs and the min/max RMSD as a sanity check.
"""

import argparse
import hashlib
import json
import os
import platform
import shlex
import sys
import time
from collections import OrderedDict

import rdkit
from rdkit import Chem, RDLogger
from rdkit.Chem import rdMolAlign

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SDF = os.path.join(HERE, "..", "data", "geom_drugs_train10.sdf")  # copy of shared/data/geom_drugs_train10


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_groups(sdf_path):
    """Return OrderedDict mol_id -> list of (conf_index, heavy-atom Mol), sorted."""
    groups = OrderedDict()
    n_records = n_excluded = 0
    supplier = Chem.SDMolSupplier(sdf_path, removeHs=False)
    for idx, mol in enumerate(supplier):
        if mol is None:
            raise RuntimeError("record %d of %s could not be parsed" % (idx, sdf_path))
        n_records += 1
        if mol.HasProp("graph_matches_conf0") and mol.GetProp("graph_matches_conf0").strip() == "0":
            n_excluded += 1
            continue
        mol_id = mol.GetProp("mol_id")
        conf_index = int(mol.GetProp("conf_index"))
        groups.setdefault(mol_id, []).append((conf_index, Chem.RemoveHs(mol)))
    for confs in groups.values():
        confs.sort(key=lambda t: t[0])
    return groups, n_records, n_excluded


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sdf", default=DEFAULT_SDF, help="input SDF (default: %(default)s)")
    ap.add_argument("--out", default=os.path.join(HERE, "best_rms_geom10.csv"))
    ap.add_argument("--meta", default=os.path.join(HERE, "best_rms_geom10.meta.json"))
    ap.add_argument("--k", type=int, default=24,
                    help="use all i<j pairs among the first K conformers (default: %(default)s)")
    args = ap.parse_args(argv)

    RDLogger.DisableLog("rdApp.warning")
    t0 = time.time()
    groups, n_records, n_excluded = load_groups(args.sdf)

    rows = []
    per_mol = OrderedDict()
    for mol_id, confs in groups.items():
        sel = confs[: min(len(confs), args.k)]
        n_pairs = 0
        for i in range(len(sel)):
            ref_idx, ref = sel[i]
            for j in range(i + 1, len(sel)):
                prb_idx, prb = sel[j]
                rms = rdMolAlign.GetBestRMS(Chem.Mol(prb), Chem.Mol(ref))
                rows.append((mol_id, ref_idx, prb_idx, rms))
                n_pairs += 1
        per_mol[mol_id] = {"n_conformers_used": len(confs), "k": len(sel), "n_pairs": n_pairs}
    elapsed = time.time() - t0

    with open(args.out, "w", newline="\n") as f:
        f.write("mol_id,ref_conf_index,prb_conf_index,best_rms\n")
        for mol_id, r, p, rms in rows:
            f.write("%s,%d,%d,%.10f\n" % (mol_id, r, p, rms))

    rms_values = [r[3] for r in rows]
    cmd = " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    meta = OrderedDict([
        ("description", "RDKit GetBestRMS(RemoveHs(prb), RemoveHs(ref)) golden values, default options"),
        ("rdkit_version", rdkit.__version__),
        ("python_version", platform.python_version()),
        ("data_file", os.path.abspath(args.sdf)),
        ("data_sha256", sha256_of(args.sdf)),
        ("n_records", n_records),
        ("n_records_excluded_graph_mismatch", n_excluded),
        ("pair_count", len(rows)),
        ("pair_selection", "per mol_id, graph_matches_conf0 != 0, sorted by conf_index; all pairs i<j "
                           "among the first K=min(n,%d) conformers; ref=i, prb=j" % args.k),
        ("k", args.k),
        ("per_molecule", per_mol),
        ("csv_file", os.path.basename(args.out)),
        ("csv_columns", ["mol_id", "ref_conf_index", "prb_conf_index", "best_rms"]),
        ("best_rms_format", "%.10f"),
        ("best_rms_min", min(rms_values)),
        ("best_rms_max", max(rms_values)),
        ("command", cmd),
    ])
    with open(args.meta, "w", newline="\n") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")

    print("molecules: %d, records: %d (excluded %d)" % (len(groups), n_records, n_excluded))
    for mol_id, d in per_mol.items():
        print("  %s: n=%d K=%d pairs=%d" % (mol_id, d["n_conformers_used"], d["k"], d["n_pairs"]))
    print("pairs: %d" % len(rows))
    print("best_rms min: %.10f  max: %.10f" % (min(rms_values), max(rms_values)))
    print("time: %.1f s" % elapsed)
    print("wrote %s and %s" % (args.out, args.meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
