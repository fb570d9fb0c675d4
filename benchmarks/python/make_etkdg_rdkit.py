#!/usr/bin/env python3
"""Generate an ETKDGv3 conformer SDF to exercise COV/MAT evaluators.

Usage:

    nice -n 10 /usr/bin/python3 benchmarks/python/make_etkdg_rdkit.py \
        --ref REF.sdf --out GEN.sdf [--seed 42] [--factor 2] [--threads 1]

For every molecule of the reference SDF (records grouped by the SD property
``mol_id``, in order of first appearance) the reference records with a
matching bond graph are counted (``graph_matches_conf0 != '0'``; without that
property, same canonical non-isomeric heavy-atom SMILES as the molecule's first
record).  The first such record is taken with its hydrogens (stereo is
perceived from its 3D coordinates when the SDF is read) and
``factor * n_ref`` conformers (default 2 * n_ref) are embedded with
``rdDistGeom.ETKDGv3()`` and ``randomSeed = --seed``; the input coordinates
are discarded.  No force-field optimisation is done.

Each conformer is written as one SDF record (hydrogens included, title
``<mol_id>_etkdg<NNN>``) with properties ``mol_id``, ``conf_index`` (0-based),
``method`` (= ``etkdg``) and ``seed``.  If fewer conformers than requested are
embedded a warning is printed and the ones obtained are written.

The output is meant as an independent generated set for
``covmat_rdkit.py`` and the C++ evaluator, e.g.

    make_etkdg_rdkit.py --ref geom_drugs_train10.sdf --out /tmp/etkdg_py.sdf
    covmat_rdkit.py --ref geom_drugs_train10.sdf --gen /tmp/etkdg_py.sdf --json out.json
"""

import argparse
import sys
import time
from collections import OrderedDict

from rdkit import Chem, RDLogger
from rdkit.Chem import rdDistGeom


def graph_smiles(mol):
    return Chem.MolToSmiles(Chem.RemoveHs(mol), isomericSmiles=False)


def reference_groups(path, group_by="mol_id"):
    """Return OrderedDict mol_id -> list of graph-matching reference Mols."""
    groups = OrderedDict()
    for idx, mol in enumerate(Chem.SDMolSupplier(path, removeHs=False)):
        if mol is None:
            print("warning: record %d could not be parsed, skipped" % idx, file=sys.stderr)
            continue
        groups.setdefault(mol.GetProp(group_by).strip(), []).append(mol)
    out = OrderedDict()
    for mol_id, mols in groups.items():
        first_smi = None
        kept = []
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
        if kept:
            out[mol_id] = kept
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="Embed factor*n_ref ETKDGv3 conformers per reference molecule.")
    ap.add_argument("--ref", required=True, help="reference SDF")
    ap.add_argument("--out", required=True, help="output SDF")
    ap.add_argument("--seed", type=int, default=42, help="ETKDG randomSeed (default 42)")
    ap.add_argument("--factor", type=int, default=2, help="conformers per reference conformer (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="numThreads for EmbedMultipleConfs (default 1)")
    args = ap.parse_args(argv)

    RDLogger.DisableLog("rdApp.warning")
    t0 = time.time()
    groups = reference_groups(args.ref)
    writer = Chem.SDWriter(args.out)
    total = 0
    for mol_id, refs in groups.items():
        t1 = time.time()
        n_want = args.factor * len(refs)
        mol = Chem.Mol(refs[0])
        params = rdDistGeom.ETKDGv3()
        params.randomSeed = args.seed
        params.numThreads = args.threads
        cids = list(rdDistGeom.EmbedMultipleConfs(mol, numConfs=n_want, params=params))
        if len(cids) < n_want:
            print("warning: %s: embedded %d of %d conformers" % (mol_id, len(cids), n_want), file=sys.stderr)
        for k, cid in enumerate(cids):
            out = Chem.Mol(mol, confId=cid)
            for name in list(out.GetPropNames()):
                out.ClearProp(name)
            out.SetProp("_Name", "%s_etkdg%03d" % (mol_id, k))
            out.SetProp("mol_id", mol_id)
            out.SetProp("conf_index", str(k))
            out.SetProp("method", "etkdg")
            out.SetProp("seed", str(args.seed))
            writer.write(out)
        total += len(cids)
        print("%s: n_ref=%d embedded=%d (%.1f s)" % (mol_id, len(refs), len(cids), time.time() - t1))
    writer.close()
    print("wrote %d conformers for %d molecules to %s in %.1f s" % (total, len(groups), args.out, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
