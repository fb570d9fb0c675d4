#!/usr/bin/python3
"""Statistics of the built GEOM-protocol surrogate sets (docs/data.md, "Statistics").

Run with Debian's RDKit: /usr/bin/python3 data/stats.py [--work]
Reads data/{qm9,drugs}/{train,val,test}.sdf.gz with their .status.tsv and .manifest.json.
--work also reads sets that are not built yet from data/work/<set>/molecules/ (the
molecules finished so far: <id>.status, and <id>.sdf for the ok ones).
Always reads the fidelity rebuild (data/work/fidelity/ensembles.sdf.gz) when it exists.
Writes data/stats.md (tables) and data/stats.json (the same numbers, plus per-set lists of
failed molecules). Molecules are grouped by the mol_id SD property; the per-molecule
numbers (atoms, rotatable bonds, charge) come from the first conformer of each molecule.
status.tsv files written before the stereo_choices column existed are read as well (the
column is then missing and not counted).
"""
import argparse, csv, datetime, glob, gzip, json, os, re, statistics, sys
from rdkit import Chem, RDLogger, rdBase
from rdkit.Chem import rdMolDescriptors

RDLogger.DisableLog("rdApp.*")
HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("CONFSGM_SHARED_DATA", os.path.join(HERE, "..", "..", "shared", "data"))
FAMILIES = ("qm9", "drugs")
SPLITS = ("train", "val", "test")
# Columns of status.tsv (examples/app/build_dataset.cpp, status_header).
STATUS_COLUMNS = ["mol_id", "status", "reason", "input_smiles", "stereo_smiles", "charge", "rotatable_bonds",
                  "starts", "embedded", "embed_stereo_wrong", "xtb_failed", "topology_changed", "stereo_changed",
                  "outside_window", "duplicates", "conformers", "seconds", "first_problem", "stereo_choices", "prefiltered"]
SUM_COLUMNS = ["starts", "embedded", "embed_stereo_wrong", "xtb_failed", "topology_changed", "stereo_changed",
               "outside_window", "duplicates", "conformers"]


def summary(values, keys=("mean", "median", "min", "max")):
    if not values:
        return {k: None for k in keys}
    out = {"mean": statistics.fmean(values), "median": statistics.median(values),
           "min": min(values), "max": max(values)}
    return {k: out[k] for k in keys}


# ---------------------------------------------------------------- SDF side

def read_records(stream):
    """Yields (mol_id, mol) for every record; mol is None when RDKit cannot read it."""
    for mol in Chem.ForwardSDMolSupplier(stream, removeHs=False):
        if mol is None:
            yield None, None
            continue
        yield (mol.GetProp("mol_id") if mol.HasProp("mol_id") else mol.GetProp("_Name")), mol


class EnsembleStats:
    """Accumulates per-molecule numbers; each molecule's descriptors are computed once."""

    def __init__(self):
        self.mols = {}  # mol_id -> dict
        self.unreadable = 0
        self.problems = []  # consistency problems found in the files

    def add(self, mol_id, mol):
        if mol is None:
            self.unreadable += 1
            return
        m = self.mols.get(mol_id)
        rel = float(mol.GetProp("rel_energy_kcal")) if mol.HasProp("rel_energy_kcal") else None
        weight = float(mol.GetProp("boltzmann_weight")) if mol.HasProp("boltzmann_weight") else None
        conf_index = int(mol.GetProp("conf_index")) if mol.HasProp("conf_index") else None
        if m is None:
            charge = Chem.GetFormalCharge(mol)
            if mol.HasProp("charge") and int(mol.GetProp("charge")) != charge:
                self.problems.append(f"{mol_id}: SD charge {mol.GetProp('charge')} != formal charge {charge}")
            m = self.mols[mol_id] = {
                "atoms": mol.GetNumAtoms(),
                "heavy_atoms": mol.GetNumHeavyAtoms(),
                # RDKit default (strict) definition on the heavy-atom graph, as in shared/data READMEs.
                "rotatable_bonds": rdMolDescriptors.CalcNumRotatableBonds(Chem.RemoveHs(mol)),
                "charge": charge,
                "rel": [], "weights": [], "conf_index": [],
            }
        elif mol.GetNumAtoms() != m["atoms"]:
            self.problems.append(f"{mol_id}: conformers with {mol.GetNumAtoms()} and {m['atoms']} atoms")
        m["rel"].append(rel)
        m["weights"].append(weight)
        m["conf_index"].append(conf_index)

    def check(self):
        for mol_id, m in self.mols.items():
            rel = m["rel"]
            if any(r is None for r in rel):
                self.problems.append(f"{mol_id}: a conformer without rel_energy_kcal")
                continue
            if abs(rel[0]) > 1e-3:
                self.problems.append(f"{mol_id}: first conformer has rel_energy_kcal {rel[0]}")
            if any(b < a - 1e-4 for a, b in zip(rel, rel[1:])):
                self.problems.append(f"{mol_id}: conformers not sorted by energy")
            if m["conf_index"] != list(range(len(rel))):
                self.problems.append(f"{mol_id}: conf_index is not 0..{len(rel) - 1} in order")
            if all(w is not None for w in m["weights"]) and abs(sum(m["weights"]) - 1) > 1e-3:
                self.problems.append(f"{mol_id}: Boltzmann weights sum to {sum(m['weights']):.4f}")

    def result(self):
        self.check()
        ms = list(self.mols.values())
        n_conf = [len(m["rel"]) for m in ms]
        spread = [max(r for r in m["rel"] if r is not None) for m in ms if any(r is not None for r in m["rel"])]
        return {
            "molecules": len(ms),
            "conformers": sum(n_conf),
            "atoms": summary([m["atoms"] for m in ms]),
            "heavy_atoms": summary([m["heavy_atoms"] for m in ms]),
            "rotatable_bonds": summary([m["rotatable_bonds"] for m in ms]),
            "conformers_per_molecule": summary(n_conf, ("mean", "median", "max")),
            "energy_spread_kcal": summary(spread, ("mean", "median", "max")),
            "single_conformer_fraction": (sum(1 for n in n_conf if n == 1) / len(ms)) if ms else None,
            "net_charged_molecules": sum(1 for m in ms if m["charge"] != 0),
            "unreadable_records": self.unreadable,
            "problems": self.problems,
        }


def ensemble_stats_gz(path):
    st = EnsembleStats()
    with gzip.open(path, "rb") as f:
        for mol_id, mol in read_records(f):
            st.add(mol_id, mol)
    return st


# ---------------------------------------------------------------- status side

def reason_key(row):
    """A short failure category: the reason without its details."""
    reason = (row.get("reason") or "").strip()
    if row.get("mol_id", "").startswith("line "):
        return "input line could not be read"
    if reason.startswith("no start survived"):
        fp = (row.get("first_problem") or "").split(": ", 1)[-1]
        for key, label in (("bonds changed", "bonds changed in xtb"),
                           ("stereo changed in the xtb", "stereo changed in xtb"),
                           ("ETKDG start has other stereo", "stereo wrong after ETKDG (+MMFF)"),
                           ("stereo mismatch", "stereo wrong after ETKDG+MMFF"),
                           ("did not converge", "xtb did not converge"),
                           ("did not finish within", "xtb timed out"),
                           ("xtb exited", "xtb error"), ("killed by signal", "xtb killed")):
            if key in fp:
                return "no start survived: " + label
        return "no start survived: " + fp[:50]
    if reason.startswith("no stereoisomer could be embedded"):
        detail = reason.split(": ", 1)[-1].split(" (")[0]
        return "no stereoisomer: " + detail
    return re.sub(r"\b\d+\b", "N", reason.split(" (")[0])[:70]  # counts only: "GFN2-xTB" keeps its 2


def status_stats(rows):
    ok = [r for r in rows if r.get("status") == "ok"]
    failed = [r for r in rows if r.get("status") != "ok"]
    reasons = {}
    for r in failed:
        k = reason_key(r)
        reasons[k] = reasons.get(k, 0) + 1
    sums = {c: sum(int(r[c]) for r in rows if (r.get(c) or "").strip().lstrip("-").isdigit()) for c in SUM_COLUMNS}
    seconds = sum(float(r["seconds"]) for r in rows if (r.get("seconds") or "").strip())
    rot = [int(r["rotatable_bonds"]) for r in ok if (r.get("rotatable_bonds") or "").isdigit()]
    # Stereoisomers tried per molecule (> 1 only for unassigned inputs whose first choice gave no conformer).
    choices = {}
    for r in rows:
        c = (r.get("stereo_choices") or "").strip()
        if c.isdigit():
            d = choices.setdefault(c, {"ok": 0, "failed": 0})
            d["ok" if r.get("status") == "ok" else "failed"] += 1
    return {
        "rows": len(rows), "ok": len(ok), "failed": len(failed),
        "failure_reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "failed_molecules": [{"mol_id": r["mol_id"], "reason": r.get("reason", ""),
                              "input_smiles": r.get("input_smiles", "")} for r in failed],
        "sums": sums,
        "seconds": seconds,
        "builder_rotatable_bonds": summary(rot, ("mean", "median", "max")),
        "stereo_choices": dict(sorted(choices.items(), key=lambda kv: int(kv[0]))),
        "rows_without_stereo_choices": sum(1 for r in rows if not (r.get("stereo_choices") or "").strip().isdigit()),
    }


def check_builder_rotors(st, rows, problems):
    """The builder's rotatable_bonds (status.tsv) must equal the strict heavy-atom count of the SDF molecule."""
    for r in rows:
        m = st.mols.get(r.get("mol_id"))
        b = (r.get("rotatable_bonds") or "").strip()
        if r.get("status") == "ok" and m is not None and b.isdigit() and int(b) != m["rotatable_bonds"]:
            problems.append(f"{r['mol_id']}: status.tsv rotatable_bonds {b}, RDKit on the SDF molecule "
                            f"{m['rotatable_bonds']}")


def read_status_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_status_lines(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            for line in f:
                if line.strip():
                    rows.append(dict(zip(STATUS_COLUMNS, line.rstrip("\n").split("\t"))))
    return rows


def listed(set_name):
    path = os.path.join(HERE, "splits", set_name + ".csv")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return sum(1 for _ in f) - 1


# ---------------------------------------------------------------- sets

def built_set(family, split):
    base = os.path.join(HERE, family, split)
    st = ensemble_stats_gz(base + ".sdf.gz")
    res = {"state": "built", "source": os.path.relpath(base + ".sdf.gz", os.path.join(HERE, "..")),
           "listed": listed(f"{family}_{split}")}
    res.update(st.result())
    if os.path.exists(base + ".status.tsv"):
        rows = read_status_tsv(base + ".status.tsv")
        res["status"] = status_stats(rows)
        check_builder_rotors(st, rows, res["problems"])
    if os.path.exists(base + ".manifest.json"):
        with open(base + ".manifest.json") as f:
            man = json.load(f)
        res["manifest"] = {k: man.get(k) for k in ("molecules_listed", "molecules_ok", "molecules_failed",
                                                   "conformers", "versions")}
        if man.get("molecules_ok") != res["molecules"] or man.get("conformers") != res["conformers"]:
            res["problems"].append(f"manifest says {man.get('molecules_ok')} molecules / {man.get('conformers')} "
                                   f"conformers, the SDF holds {res['molecules']} / {res['conformers']}")
    return res


def work_set(set_name):
    mdir = os.path.join(HERE, "work", set_name, "molecules")
    rows = read_status_lines(sorted(glob.glob(os.path.join(mdir, "*.status"))))
    st = EnsembleStats()
    for r in rows:
        if r.get("status") != "ok":
            continue
        path = os.path.join(mdir, r["mol_id"] + ".sdf")
        if not os.path.exists(path):
            st.problems.append(f"{r['mol_id']}: status ok but no SDF")
            continue
        with open(path, "rb") as f:
            for mol_id, mol in read_records(f):
                st.add(mol_id, mol)
    res = {"state": "partial", "source": os.path.relpath(mdir, os.path.join(HERE, "..")),
           "listed": listed(set_name), "done": len(rows)}
    res.update(st.result())
    res["status"] = status_stats(rows)
    check_builder_rotors(st, rows, res["problems"])
    return res


def large_set():
    """The large Drugs training set: data/drugs/train.sdf.gz (the list's first 660, full protocol) plus every
    finished shard of data/drugs/train_large/ (data/build_drugs_large.sh). Built shards only."""
    shard_dir = os.path.join(HERE, "drugs", "train_large")
    manifests = sorted(glob.glob(os.path.join(shard_dir, "shard_*.manifest.json")))
    if not manifests:
        return None
    st = EnsembleStats()
    rows = []
    files = [os.path.join(HERE, "drugs", "train")] + [m[: -len(".manifest.json")] for m in manifests]
    for base in files:
        with gzip.open(base + ".sdf.gz", "rb") as f:
            for mol_id, mol in read_records(f):
                st.add(mol_id, mol)
        rows += read_status_tsv(base + ".status.tsv")
    listed_rows = 660 + sum(json.load(open(m))["molecules_listed"] for m in manifests)
    res = {"state": "partial" if listed_rows < (listed("drugs_train_large") or 0) else "built",
           "source": "data/drugs/train.sdf.gz + " + os.path.relpath(shard_dir, os.path.join(HERE, "..")) +
                     f"/shard_*.sdf.gz ({len(manifests)} shards)",
           "listed": listed("drugs_train_large"), "done": listed_rows}
    res.update(st.result())
    res["status"] = status_stats(rows)
    check_builder_rotors(st, rows, res["problems"])
    return res


def fidelity():
    path = os.path.join(HERE, "work", "fidelity", "ensembles.sdf.gz")
    if not os.path.exists(path):
        return None
    st = ensemble_stats_gz(path)
    res = {"source": os.path.relpath(path, os.path.join(HERE, "..")), **st.result()}
    per = {}
    for mol_id, m in st.mols.items():
        per[mol_id] = {"n_gen": len(m["rel"]), "energy_spread_kcal": max(m["rel"]), "heavy_atoms": m["heavy_atoms"],
                       "rotatable_bonds": m["rotatable_bonds"]}
    ref_path = os.path.join(SHARED, "geom_drugs_train10", "geom_drugs_train10.sdf")
    ref_props = set()
    if os.path.exists(ref_path):
        with open(ref_path, "rb") as f:
            for mol_id, mol in read_records(f):
                if mol is None:
                    continue
                ref_props.update(mol.GetPropNames())
                if mol_id in per:
                    per[mol_id]["n_ref_records"] = per[mol_id].get("n_ref_records", 0) + 1
    energy_like = sorted(p for p in ref_props if "energy" in p.lower() or p.lower() in ("e", "etot"))
    res["reference"] = {"path": ref_path, "properties": sorted(ref_props), "energy_properties": energy_like,
                        "note": "the GEOM reference SDF carries no energies, so its energy spread cannot be computed"
                        if not energy_like else "reference has energy properties: " + ", ".join(energy_like)}
    res["per_molecule"] = dict(sorted(per.items()))
    return res


# ---------------------------------------------------------------- output

def fmt(v, digits=2):
    if v is None:
        return "–"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float) and v.is_integer() and digits <= 1:
        return f"{int(v):,}"
    return f"{v:,.{digits}f}"


def mmmm(s, digits=1):
    return " / ".join(fmt(s.get(k), digits if k in ("mean", "median") else 0) for k in ("mean", "median", "min", "max")
                      if k in s)


def markdown(data):
    L = []
    L.append("# Statistics of the GEOM-protocol surrogate sets")
    L.append("")
    L.append(f"Written by `/usr/bin/python3 data/stats.py{' --work' if data['work'] else ''}` on {data['date']} "
             f"(RDKit {data['rdkit']}). These are GEOM-protocol surrogates built here, not GEOM (docs/data.md).")
    L.append("")
    sets = data["sets"]
    if not sets:
        L.append("No set is built yet.")
    else:
        built = [k for k, v in sets.items() if v["state"] == "built"]
        partial = [f"{k} ({v['done']} of {fmt(v['listed'], 0)} molecules done)" for k, v in sets.items()
                   if v["state"] == "partial"]
        L.append("Complete sets: " + (", ".join(built) if built else "none") + ".")
        if partial:
            L.append("Partial sets (molecules finished so far, from data/work/): " + ", ".join(partial) + ".")
        L.append("")
        L.append("## Molecules and conformers")
        L.append("")
        L.append("| set | state | listed | ok | failed | conformers | conformers/molecule mean / median / max "
                 "| 1 conformer (%) | energy spread kcal/mol mean / median / max | net-charged |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for k, v in sets.items():
            s = v.get("status", {})
            c = v["conformers_per_molecule"]
            e = v["energy_spread_kcal"]
            frac = v["single_conformer_fraction"]
            L.append(f"| {k} | {v['state']} | {fmt(v['listed'], 0)} | {fmt(v['molecules'], 0)} | "
                     f"{fmt(s.get('failed'), 0)} | {fmt(v['conformers'], 0)} | "
                     f"{fmt(c['mean'])} / {fmt(c['median'], 1)} / {fmt(c['max'], 0)} | "
                     f"{fmt(None if frac is None else 100 * frac, 1)} | "
                     f"{fmt(e['mean'])} / {fmt(e['median'])} / {fmt(e['max'])} | {v['net_charged_molecules']} |")
        L.append("")
        L.append("Energy spread: the largest `rel_energy_kcal` of a molecule's ensemble (0 for one conformer; "
                 "at most the 6 kcal/mol window).")
        L.append("")
        L.append("## Size of the molecules (ok molecules)")
        L.append("")
        L.append("| set | atoms mean / median / min / max | heavy atoms mean / median / min / max "
                 "| rotatable bonds mean / median / min / max | builder's rotatable bonds mean / max |")
        L.append("|---|---|---|---|---|")
        for k, v in sets.items():
            b = v.get("status", {}).get("builder_rotatable_bonds", {})
            L.append(f"| {k} | {mmmm(v['atoms'])} | {mmmm(v['heavy_atoms'])} | {mmmm(v['rotatable_bonds'])} | "
                     f"{fmt(b.get('mean'), 1)} / {fmt(b.get('max'), 0)} |")
        L.append("")
        L.append("Rotatable bonds: `rdMolDescriptors.CalcNumRotatableBonds` (default, strict) on the heavy-atom "
                 "graph (`Chem.RemoveHs`), as in shared/data. The builder's count (status.tsv `rotatable_bonds`, "
                 "which sets the number of starts) is the same strict count on the heavy-atom graph (RDKit "
                 "`removeHs`), so bonds to CH3, NH2 and OH groups do not count; the consistency checks below "
                 "compare the two per molecule.")
        L.append("")
        L.append("## What happened to the starts (sums of the status.tsv columns)")
        L.append("")
        L.append("| set | " + " | ".join(SUM_COLUMNS) + " | hours |")
        L.append("|---|" + "---|" * (len(SUM_COLUMNS) + 1))
        for k, v in sets.items():
            s = v.get("status")
            if not s:
                continue
            L.append(f"| {k} | " + " | ".join(fmt(s["sums"][c], 0) for c in SUM_COLUMNS) +
                     f" | {s['seconds'] / 3600:.2f} |")
        L.append("")
        L.append("`embed_stereo_wrong`: ETKDG starts whose stereo was wrong after ETKDG and the MMFF94 "
                 "pre-optimisation; `xtb_failed`: xtb errors, time-outs and unconverged optimisations; "
                 "`topology_changed` / `stereo_changed`: xtb minima dropped for a changed bond graph or stereo; "
                 "`outside_window`: above 6 kcal/mol; `duplicates`: merged by the |dE| and RMSD rule; "
                 "`conformers`: kept. Hours: the sum of per-molecule wall times (2 molecules run in parallel).")
        L.append("")
        L.append("## Stereoisomer choices")
        L.append("")
        L.append("status.tsv `stereo_choices`: stereoisomers tried for a molecule. It is above 1 only when the "
                 "input leaves stereo unassigned and the first chosen stereoisomer gave no conformer (up to 3).")
        L.append("")
        L.append("| set | 1 choice (ok / failed) | 2 choices (ok / failed) | 3 choices (ok / failed) | rows without the column |")
        L.append("|---|---|---|---|---|")
        for k, v in sets.items():
            s = v.get("status")
            if not s:
                continue
            ch = s["stereo_choices"]
            cells = [f"{ch[c]['ok']} / {ch[c]['failed']}" if c in ch else "0 / 0" for c in ("1", "2", "3")]
            L.append(f"| {k} | " + " | ".join(cells) + f" | {s['rows_without_stereo_choices']} |")
        L.append("")
        L.append("## Failed molecules")
        L.append("")
        any_failed = False
        for k, v in sets.items():
            s = v.get("status")
            if not s or not s["failed"]:
                continue
            any_failed = True
            L.append(f"**{k}**: {s['failed']} of {s['rows']} failed.")
            L.append("")
            L.append("| reason | molecules |")
            L.append("|---|---|")
            for r, n in s["failure_reasons"].items():
                L.append(f"| {r} | {n} |")
            L.append("")
            if len(s["failed_molecules"]) <= 30:
                L.append("| mol_id | input SMILES | reason |")
                L.append("|---|---|---|")
                for f in s["failed_molecules"]:
                    L.append(f"| {f['mol_id']} | `{f['input_smiles']}` | {f['reason'][:160]} |")
                L.append("")
        if not any_failed:
            L.append("None.")
            L.append("")
        problems = [(k, p) for k, v in sets.items() for p in v["problems"]]
        L.append("## Consistency checks")
        L.append("")
        L.append("Per molecule: first conformer at rel_energy_kcal 0, sorted by energy, conf_index 0..n-1, "
                 "Boltzmann weights summing to 1, one atom count, SD charge = formal charge, status.tsv "
                 "rotatable_bonds = RDKit's strict heavy-atom count of the SDF molecule; per set: manifest "
                 "counts = SDF counts.")
        L.append("")
        if problems:
            for k, p in problems[:50]:
                L.append(f"- {k}: {p}")
            if len(problems) > 50:
                L.append(f"- ... {len(problems) - 50} more (data/stats.json)")
        else:
            L.append("All passed.")
        L.append("")
    fid = data.get("fidelity")
    if fid:
        L.append("## Fidelity rebuild (10 real GEOM-Drugs molecules)")
        L.append("")
        L.append(f"Rebuilt ensembles: `{fid['source']}`. {fid['reference']['note'][0].upper()}"
                 f"{fid['reference']['note'][1:]} (its SD properties: {', '.join(fid['reference']['properties'])}); "
                 "`data/fidelity/energies.txt` compares GFN2-xTB single points of both ensembles instead.")
        L.append("")
        L.append("| molecule | heavy atoms | rotatable bonds | GEOM records | n_gen | energy spread (kcal/mol) |")
        L.append("|---|---|---|---|---|---|")
        for mid, m in fid["per_molecule"].items():
            L.append(f"| {mid} | {m['heavy_atoms']} | {m['rotatable_bonds']} | {fmt(m.get('n_ref_records'), 0)} | "
                     f"{m['n_gen']} | {m['energy_spread_kcal']:.2f} |")
        e = fid["energy_spread_kcal"]
        L.append("")
        L.append(f"Energy spread mean / median / max: {fmt(e['mean'])} / {fmt(e['median'])} / {fmt(e['max'])} "
                 f"kcal/mol over {fid['molecules']} molecules, {fid['conformers']} conformers. GEOM records "
                 "include one conformer with a broken bond graph (drugs_train10_0007), which the evaluator drops.")
        L.append("")
    return "\n".join(L)


def write_atomically(path, text):
    tmp = path + ".partial"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", action="store_true", help="also report sets not built yet, from data/work/<set>/")
    ap.add_argument("--md", default=os.path.join(HERE, "stats.md"))
    ap.add_argument("--json", default=os.path.join(HERE, "stats.json"))
    args = ap.parse_args()
    sets = {}
    for family in FAMILIES:
        for split in SPLITS:
            name = f"{family}_{split}"
            if os.path.exists(os.path.join(HERE, family, split + ".sdf.gz")):
                print(f"stats: {name} (built)", file=sys.stderr)
                sets[name] = built_set(family, split)
            elif args.work and os.path.isdir(os.path.join(HERE, "work", name, "molecules")):
                print(f"stats: {name} (partial, data/work)", file=sys.stderr)
                sets[name] = work_set(name)
    large = large_set()
    if large is not None:
        print("stats: drugs_train_large (train + finished shards)", file=sys.stderr)
        sets["drugs_train_large"] = large
    print("stats: fidelity", file=sys.stderr)
    data = {"date": datetime.date.today().isoformat(), "rdkit": rdBase.rdkitVersion, "work": args.work,
            "sets": sets, "fidelity": fidelity()}
    write_atomically(args.json, json.dumps(data, indent=1) + "\n")
    write_atomically(args.md, markdown(data) + "\n")
    print(f"stats: wrote {args.md} and {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
