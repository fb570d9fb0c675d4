#!/usr/bin/python3
"""Draws the project's QM9/Drugs train/val/test molecule lists (data/splits/*.csv).

Run with Debian's RDKit: /usr/bin/python3 data/make_splits.py. Deterministic:
random.Random(SEED) shuffles, nothing else is random. Rules (docs/data.md):
- QM9 train 11,800 and val 240 (>= 10,000 and >= 200 built): seeded shuffle of shared/data/smiles/qm9_train_pool.smi.
- QM9 test 200: seeded draw from the GEOM QM9 test list (corrected SMILES, GEOM n_ref).
- Drugs train 660 and val 55 (>= 600 and >= 50 built): seeded shuffle of drugs_train_pool.smi restricted to
  molecules with <= 30 heavy atoms (compute: GFN2-xTB cost grows with size).
- Drugs test 100: seeded draw from the GEOM Drugs test list restricted to <= 40 heavy atoms.
- Drugs train_large 8,400 (>= 8,000 built; issue 25): the 660 Drugs train molecules first, in their order,
  then the same seeded shuffle of the pool continued past the molecules already drawn (train and val), now
  restricted to <= 40 heavy atoms like the test set. Any prefix of it is a nested training set (learning
  curves). Built in shards of SHARD_SIZE rows by data/build_drugs_large.sh.
Pool molecules whose canonical SMILES (with or without stereo) equals a test molecule's
are refused here too (the pools were already cleaned of every test-list molecule).
"""
import csv, os, random, sys
from rdkit import Chem, RDLogger

RDLogger.DisableLog("rdApp.*")
SEED = 20261125
HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("CONFSGM_SHARED_DATA", os.path.join(HERE, "..", "..", "shared", "data"))


def keys(smiles):
    m = Chem.MolFromSmiles(smiles)
    if m is None:
        return None
    iso = Chem.MolToSmiles(m)
    Chem.RemoveStereochemistry(m)
    return iso, Chem.MolToSmiles(Chem.RemoveHs(m))


def heavy_atoms(smiles):
    return Chem.MolFromSmiles(smiles).GetNumHeavyAtoms()


def read_pool(name):
    with open(os.path.join(SHARED, "smiles", name)) as f:
        return [(i + 1, line.split()[0]) for i, line in enumerate(f) if line.strip()]


def read_test(name):
    with open(os.path.join(SHARED, "geom_test_smiles", name)) as f:
        return list(csv.DictReader(f))


def write(path, rows, header):
    tmp = path + ".partial"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)


def draw(prefix, pool_file, test_file, n_train, n_val, n_test, max_heavy_pool, max_heavy_test):
    rng = random.Random(SEED)
    tests = [r for r in read_test(test_file) if max_heavy_test is None or int(r["n_heavy_atoms"]) <= max_heavy_test]
    tests = sorted(rng.sample(tests, n_test), key=lambda r: r["mol_id"])
    test_keys = set()
    for r in tests:
        test_keys.update(keys(r["corrected_smiles"]))
    pool = read_pool(pool_file)
    rng.shuffle(pool)
    chosen = []
    for line, smi in pool:
        if len(chosen) == n_train + n_val:
            break
        if max_heavy_pool is not None and heavy_atoms(smi) > max_heavy_pool:
            continue
        k = keys(smi)
        if k is None or k[0] in test_keys or k[1] in test_keys:
            continue
        chosen.append((f"{prefix}_pool{line:06d}", smi, line))
    out = os.path.join(HERE, "splits")
    write(os.path.join(out, f"{prefix}_train.csv"), chosen[:n_train], ["mol_id", "smiles", "pool_line"])
    write(os.path.join(out, f"{prefix}_val.csv"), chosen[n_train:], ["mol_id", "smiles", "pool_line"])
    write(os.path.join(out, f"{prefix}_test.csv"),
          [(r["mol_id"], r["corrected_smiles"], r["n_ref_conformers"]) for r in tests],
          ["mol_id", "smiles", "n_conformers"])
    print(f"{prefix}: train {n_train}, val {len(chosen) - n_train}, test {len(tests)}", file=sys.stderr)


LARGE_SIZE = 8400


def draw_large(n_total, max_heavy):
    """data/splits/drugs_train_large.csv: drugs_train.csv, then the continued shuffle (see the docstring)."""
    rng = random.Random(SEED)
    tests = [r for r in read_test("DRUGS_test_index.csv") if int(r["n_heavy_atoms"]) <= 40]
    rng.sample(tests, 100)  # the draw of draw("drugs", ...) above, so the pool shuffle below is the same one
    out = os.path.join(HERE, "splits")
    with open(os.path.join(out, "drugs_train.csv")) as f:
        train = [(r["mol_id"], r["smiles"], int(r["pool_line"])) for r in csv.DictReader(f)]
    with open(os.path.join(out, "drugs_val.csv")) as f:
        val = [(r["mol_id"], r["smiles"], int(r["pool_line"])) for r in csv.DictReader(f)]
    held_out = set()  # every test molecule of the whole GEOM list and every val molecule, with and without stereo
    for r in read_test("DRUGS_test_index.csv"):
        held_out.update(keys(r["corrected_smiles"]) or ())
    for _, smi, _ in val:
        held_out.update(keys(smi))
    used_lines = {line for _, _, line in train + val}
    seen = set(keys(smi)[0] for _, smi, _ in train)
    pool = read_pool("drugs_train_pool.smi")
    rng.shuffle(pool)
    chosen = list(train)
    for line, smi in pool:
        if len(chosen) == n_total:
            break
        if line in used_lines or heavy_atoms(smi) > max_heavy:
            continue
        k = keys(smi)
        if k is None or k[0] in held_out or k[1] in held_out or k[0] in seen:
            continue
        seen.add(k[0])
        chosen.append((f"drugs_pool{line:06d}", smi, line))
    write(os.path.join(out, "drugs_train_large.csv"), chosen, ["mol_id", "smiles", "pool_line"])
    print(f"drugs_train_large: {len(chosen)} ({len(train)} from drugs_train)", file=sys.stderr)


if __name__ == "__main__":
    # About 15 % of pool molecules (strained cages) yield no ensemble; draw enough for >= 10,000 and >= 200.
    draw("qm9", "qm9_train_pool.smi", "QM9_test_index.csv", 11800, 240, 200, None, None)
    draw("drugs", "drugs_train_pool.smi", "DRUGS_test_index.csv", 660, 55, 100, 30, 40)
    draw_large(LARGE_SIZE, 40)
