#!/usr/bin/env python3
"""Independent COV/MAT conformer-ensemble evaluator built on RDKit.

Usage:

    nice -n 10 /usr/bin/python3 benchmarks/python/covmat_rdkit.py \
        --ref REF.sdf --gen GEN.sdf [--threshold 1.25] [--op lt|le] \
        [--group-by mol_id] [--json OUT.json] [--threads 1]

Both SDF files are read with hydrogens kept; records are grouped into molecules
by the SD property named by ``--group-by`` (default ``mol_id``).  Records that
fail to parse or lack the property are skipped with a warning.

Reference filtering: a reference record is dropped when its property
``graph_matches_conf0`` is ``'0'``; if the record has no such property it is
dropped when the canonical non-isomeric SMILES of ``RemoveHs(record)`` differs
from that of the molecule's first reference record.  Generated records are
not filtered.

For every molecule present in the reference (after filtering), with reference
conformers i and generated conformers j:

    R[i][j] = rdMolAlign.GetBestRMS(RemoveHs(gen_j), RemoveHs(ref_i))   (defaults)

    COV-R = mean_i [ min_j R[i][j]  op  d ]      MAT-R = mean_i min_j R[i][j]
    COV-P = mean_j [ min_i R[i][j]  op  d ]      MAT-P = mean_j min_i R[i][j]

where ``op`` is ``<`` (``--op lt``, default) or ``<=`` (``--op le``) and ``d``
is ``--threshold`` in Angstrom.  A pair for which GetBestRMS raises (e.g. no
substructure match because the generated graph differs) gets R = +inf: it never
covers and only enters MAT when a whole row/column is unmatched (MAT = inf).

Molecules of the reference with no generated conformer count as
COV-R = COV-P = 0 and MAT-R = MAT-P = nan (they are excluded from the MAT
aggregates; ``n_missing`` counts them).  Generated molecules absent from the
reference are ignored (a warning is printed).

Aggregates are the mean and median over molecules of each metric (nan values,
i.e. missing molecules, are skipped for MAT).  COV values are fractions in
[0, 1] in the JSON and are printed as percentages in the table.

JSON layout (nan is written as ``null``; an infinite MAT, possible only when
unmatched pairs occur, is written as ``Infinity`` as Python's json does):

    {"threshold": d, "op": "lt"|"le", "n_molecules": M, "n_missing": k,
     "molecules": {mol_id: {"n_ref", "n_gen", "cov_r", "mat_r", "cov_p", "mat_p"}},
     "aggregate": {"cov_r_mean", "cov_r_median", "mat_r_mean", "mat_r_median",
                   "cov_p_mean", "cov_p_median", "mat_p_mean", "mat_p_median"}}

``--threads N`` (N > 1) evaluates molecules in parallel with multiprocessing;
results do not depend on N.  Only RDKit and the Python standard library are used.
"""

import argparse
import json
import math
import statistics
import sys
import time
from collections import OrderedDict

from rdkit import Chem, RDLogger
from rdkit.Chem import rdMolAlign

NAN = float("nan")
INF = float("inf")


def warn(msg):
    print("warning: " + msg, file=sys.stderr)


def read_groups(path, group_by):
    """Return OrderedDict key -> list of Mol (hydrogens kept), in file order."""
    groups = OrderedDict()
    supplier = Chem.SDMolSupplier(path, removeHs=False)
    for idx, mol in enumerate(supplier):
        if mol is None:
            warn("%s: record %d could not be parsed, skipped" % (path, idx))
            continue
        if not mol.HasProp(group_by):
            warn("%s: record %d has no property %r, skipped" % (path, idx, group_by))
            continue
        groups.setdefault(mol.GetProp(group_by).strip(), []).append(mol)
    return groups


def graph_smiles(mol):
    return Chem.MolToSmiles(Chem.RemoveHs(mol), isomericSmiles=False)


def filter_reference(mols):
    """Drop reference records whose bond graph differs from the first record's."""
    kept = []
    first_smi = None
    for mol in mols:
        if mol.HasProp("graph_matches_conf0"):
            if mol.GetProp("graph_matches_conf0").strip() == "0":
                continue
        else:
            if first_smi is None:
                first_smi = graph_smiles(mols[0])
            if graph_smiles(mol) != first_smi:
                continue
        kept.append(mol)
    return kept


def best_rms(gen, ref):
    try:
        # GetBestRMS moves the probe: always pass a copy.
        return rdMolAlign.GetBestRMS(Chem.Mol(gen), ref)
    except (RuntimeError, ValueError):
        return INF


def covered(x, threshold, op):
    return x < threshold if op == "lt" else x <= threshold


def evaluate_molecule(job):
    """job = (mol_id, ref_mols, gen_mols, threshold, op) -> (mol_id, dict, n_fail)."""
    mol_id, refs, gens, threshold, op = job
    RDLogger.DisableLog("rdApp.*")
    n_ref, n_gen = len(refs), len(gens)
    if n_gen == 0:
        return mol_id, OrderedDict([("n_ref", n_ref), ("n_gen", 0), ("cov_r", 0.0), ("mat_r", NAN),
                                    ("cov_p", 0.0), ("mat_p", NAN)]), 0
    refs = [Chem.RemoveHs(m) for m in refs]
    gens = [Chem.RemoveHs(m) for m in gens]
    n_fail = 0
    R = []
    for ref in refs:
        row = []
        for gen in gens:
            x = best_rms(gen, ref)
            if math.isinf(x):
                n_fail += 1
            row.append(x)
        R.append(row)
    min_r = [min(row) for row in R]                                  # over generated j
    min_p = [min(R[i][j] for i in range(n_ref)) for j in range(n_gen)]  # over reference i
    res = OrderedDict([
        ("n_ref", n_ref),
        ("n_gen", n_gen),
        ("cov_r", sum(covered(x, threshold, op) for x in min_r) / n_ref),
        ("mat_r", sum(min_r) / n_ref),
        ("cov_p", sum(covered(x, threshold, op) for x in min_p) / n_gen),
        ("mat_p", sum(min_p) / n_gen),
    ])
    return mol_id, res, n_fail


def aggregate(molecules):
    agg = OrderedDict()
    for key in ("cov_r", "mat_r", "cov_p", "mat_p"):
        vals = [m[key] for m in molecules.values() if not math.isnan(m[key])]
        agg[key + "_mean"] = sum(vals) / len(vals) if vals else NAN
        agg[key + "_median"] = statistics.median(vals) if vals else NAN
    return agg


def nan_to_none(obj):
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return OrderedDict((k, nan_to_none(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [nan_to_none(v) for v in obj]
    return obj


def print_table(result):
    hdr = "%-24s %6s %6s %8s %8s %8s %8s" % ("mol_id", "n_ref", "n_gen", "COV-R%", "MAT-R", "COV-P%", "MAT-P")
    print(hdr)
    print("-" * len(hdr))
    for mol_id, m in result["molecules"].items():
        print("%-24s %6d %6d %8.2f %8.4f %8.2f %8.4f" % (mol_id, m["n_ref"], m["n_gen"], 100 * m["cov_r"],
                                                         m["mat_r"], 100 * m["cov_p"], m["mat_p"]))
    print("-" * len(hdr))
    a = result["aggregate"]
    for stat in ("mean", "median"):
        print("%-24s %6s %6s %8.2f %8.4f %8.2f %8.4f" % (
            stat, "", "", 100 * a["cov_r_" + stat], a["mat_r_" + stat],
            100 * a["cov_p_" + stat], a["mat_p_" + stat]))
    print("threshold %.4f A (op %s), molecules %d, missing %d" % (
        result["threshold"], result["op"], result["n_molecules"], result["n_missing"]))


def main(argv=None):
    ap = argparse.ArgumentParser(description="COV/MAT evaluation with RDKit GetBestRMS.")
    ap.add_argument("--ref", required=True, help="reference conformers (SDF)")
    ap.add_argument("--gen", required=True, help="generated conformers (SDF)")
    ap.add_argument("--threshold", type=float, default=1.25, help="coverage threshold in Angstrom (default 1.25)")
    ap.add_argument("--op", choices=("lt", "le"), default="lt", help="coverage comparison: < (lt) or <= (le)")
    ap.add_argument("--group-by", default="mol_id", help="SD property identifying the molecule (default mol_id)")
    ap.add_argument("--json", help="write the results to this JSON file")
    ap.add_argument("--threads", type=int, default=1, help="worker processes (default 1)")
    args = ap.parse_args(argv)

    RDLogger.DisableLog("rdApp.*")
    t0 = time.time()
    ref_groups = read_groups(args.ref, args.group_by)
    gen_groups = read_groups(args.gen, args.group_by)
    extra = [k for k in gen_groups if k not in ref_groups]
    if extra:
        warn("%d generated molecule(s) not in the reference are ignored: %s" % (len(extra), ", ".join(extra[:10])))

    jobs = []
    for mol_id, mols in ref_groups.items():
        refs = filter_reference(mols)
        if len(refs) < len(mols):
            warn("%s: %d reference record(s) with a different graph dropped" % (mol_id, len(mols) - len(refs)))
        jobs.append((mol_id, refs, gen_groups.get(mol_id, []), args.threshold, args.op))
    t_read = time.time() - t0

    if args.threads > 1:
        import multiprocessing
        # RDKit pickles coordinates as float32 by default; keep full precision
        # so that the result does not depend on --threads.
        Chem.SetDefaultPickleProperties(Chem.PropertyPickleOptions.CoordsAsDouble)
        with multiprocessing.Pool(args.threads) as pool:
            outs = pool.map(evaluate_molecule, jobs, chunksize=1)
    else:
        outs = [evaluate_molecule(j) for j in jobs]

    molecules = OrderedDict()
    n_fail = 0
    for mol_id, res, nf in outs:
        molecules[mol_id] = res
        n_fail += nf
    if n_fail:
        warn("%d reference/generated pair(s) could not be matched (R = inf)" % n_fail)

    result = OrderedDict([
        ("threshold", args.threshold),
        ("op", args.op),
        ("n_molecules", len(molecules)),
        ("n_missing", sum(1 for m in molecules.values() if m["n_gen"] == 0)),
        ("molecules", molecules),
        ("aggregate", aggregate(molecules)),
    ])
    elapsed = time.time() - t0
    print_table(result)
    print("time: %.1f s (reading %.1f s), pairs: %d" % (
        elapsed, t_read, sum(m["n_ref"] * m["n_gen"] for m in molecules.values())))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(nan_to_none(result), f, indent=2, allow_nan=True)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
