#!/usr/bin/python3
"""Summary table of the builder tiers' fidelity (docs/data.md, "Builder tiers").

Reads data/fidelity/cov_mat_*.json and status.tsv (full protocol against GEOM, run_fidelity.sh),
data/drugs/val.status.tsv (full protocol on the validation set) and data/fidelity/tiers/<tier>/
(run_tier_fidelity.sh). Prints markdown: per tier, COV/MAT against real GEOM and against the
full protocol, conformers per molecule and the cost per molecule (one xtb thread, status.tsv seconds).
"""
import csv, json, os, statistics

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)


def agg(path):
    if not os.path.exists(path):
        return None
    return json.load(open(path))["aggregate"]


def status(path):
    if not os.path.exists(path):
        return None
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    ok = [r for r in rows if r["status"] == "ok"]
    return {"listed": len(rows), "ok": len(ok),
            "seconds": statistics.fmean(float(r["seconds"]) for r in rows if r["seconds"]),
            "conformers": statistics.fmean(int(r["conformers"]) for r in ok) if ok else 0}


def row(name, st, a75, a125):
    if st is None or a75 is None or a125 is None:
        return f"| {name} | not run | | | | | | | |"
    f = lambda a, k, pct: f"{100 * a[k]:.2f}" if pct else f"{a[k]:.4f}"
    return (f"| {name} | {st['ok']}/{st['listed']} | {st['conformers']:.1f} | {st['seconds']:.1f} | "
            f"{f(a75, 'cov_r_mean', 1)} | {f(a75, 'cov_p_mean', 1)} | {f(a125, 'cov_r_mean', 1)} | "
            f"{f(a125, 'cov_p_mean', 1)} | {f(a75, 'mat_r_mean', 0)} / {f(a75, 'mat_p_mean', 0)} |")


HEAD = ("| builder | molecules ok | conformers per molecule | s per molecule | COV-R % 0.75 Å | COV-P % 0.75 Å | "
        "COV-R % 1.25 Å | COV-P % 1.25 Å | MAT-R / MAT-P Å |\n|---|---|---|---|---|---|---|---|---|")
tiers = sorted(d for d in os.listdir(os.path.join(HERE, "tiers")) if os.path.isdir(os.path.join(HERE, "tiers", d)))
print("## Against real GEOM (10 GEOM-Drugs molecules, ref = GEOM, gen = rebuilt)\n")
print(HEAD)
print(row("full protocol", status(os.path.join(HERE, "status.tsv")), agg(os.path.join(HERE, "cov_mat_0.75.json")),
          agg(os.path.join(HERE, "cov_mat_1.25.json"))))
for t in tiers:
    d = os.path.join(HERE, "tiers", t)
    print(row(t, status(f"{d}/geom10_status.tsv"), agg(f"{d}/geom10_cov_mat_0.75.json"),
              agg(f"{d}/geom10_cov_mat_1.25.json")))
print("\n## Against the full protocol (55 Drugs validation molecules, ref = data/drugs/val.sdf.gz)\n")
print(HEAD)
full_val = status(os.path.join(DATA, "drugs", "val.status.tsv"))
print(f"| full protocol (the reference) | {full_val['ok']}/{full_val['listed']} | {full_val['conformers']:.1f} | "
      f"{full_val['seconds']:.1f} | | | | | |")
for t in tiers:
    d = os.path.join(HERE, "tiers", t)
    print(row(t, status(f"{d}/val_status.tsv"), agg(f"{d}/val_cov_mat_0.75.json"), agg(f"{d}/val_cov_mat_1.25.json")))
print("\ns per molecule: mean wall time of one molecule on one xtb thread (status.tsv `seconds`), measured with "
      "2 molecules in parallel on this 2-core machine; the full-protocol rows come from the builds that made the "
      "shipped files (other sessions, other load).")
