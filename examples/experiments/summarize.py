#!/usr/bin/env python3
"""Tables and plots of one paper_experiment.sh run, mean +- sd over seeds.

usage: summarize.py OUT SPACE FAMILY THRESHOLD LAMBDA SEED...
Reads OUT/eval/*.json (confsgm evaluate), OUT/bias/*.csv and *.errors.csv
(confsgm bias); writes OUT/results.md, OUT/results.json, OUT/bias_vs_sigma.png,
OUT/error_histogram.png.
"""
import csv
import gzip
import json
import re
import statistics
import struct
import sys
from pathlib import Path


def training_seconds(curve):
    """Training time of a run from its per-epoch log: a resumed run's clock starts again at 0, so the pieces'
    last times are summed."""
    total, last = 0.0, 0.0
    for e in curve:
        if e["seconds"] < last:
            total += last
        last = e["seconds"]
    return total + last


def mean_sd(values):
    values = [v for v in values if v == v]  # drop NaN (a diverged sample)
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def generation_counts(log):
    """Counts from the last line of a `confsgm generate` log ('wrote N conformers of M molecules ... (a molecules
    failed, b input records rejected, c conformers with a stereo mismatch, d conformers diverged ...)')."""
    if not log.exists():
        return None
    line = [l for l in open(log) if l.startswith("wrote ")]
    if not line:
        return None
    m = re.search(r"wrote (\d+) conformers of (\d+) molecules .*\((\d+) molecules failed, (\d+) input records "
                  r"rejected, (\d+) conformers with a stereo mismatch, (\d+) conformers diverged(?: and not written, (\d+) mirror "
                  r"images reflected)?", line[-1])
    if not m:
        return None
    keys = ["conformers", "molecules", "failed_molecules", "rejected", "stereo_mismatch", "diverged", "reflected"]
    return dict(zip(keys, (int(g) if g is not None else 0 for g in m.groups())))


def quantiles(values):
    v = sorted(values)
    if not v:
        return {}
    q = lambda p: v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]
    return {"n": len(v), "mean": statistics.fmean(v), "median": q(0.5), "p10": q(0.1), "p90": q(0.9), "max": v[-1]}


def training_domain(model_file):
    """The largest molecule, in heavy atoms, a model was trained on: its file header's training_heavy_atoms_max
    (None when the file or the entry is missing)."""
    try:
        blob = open(model_file, "rb").read()
    except OSError:
        return None
    if blob[:8] != b"CONFSGM\x01":
        return None
    _, header_length = struct.unpack("<II", blob[8:16])
    for line in blob[16:16 + header_length].decode(errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key == "training_heavy_atoms_max":
            return int(value)
    return None


def heavy_atoms(sdf):
    """Heavy-atom count of each molecule (its first record) of a V2000 SDF; None if a record is not V2000."""
    counts = {}
    for record in open(sdf).read().split("$$$$\n"):
        lines = record.split("\n")
        if len(lines) < 4 or not lines[3].strip():
            continue
        if "V2000" not in lines[3]:
            return None
        mol_id = lines[lines.index(">  <mol_id>") + 1] if ">  <mol_id>" in lines else lines[0]
        if mol_id not in counts:
            n = int(lines[3][:3])
            counts[mol_id] = sum(1 for a in lines[4:4 + n] if a[31:34].strip() not in ("H", "D"))
    return counts


def write_rows(f, methods, names, cells):
    """One markdown table row per method: its name, then the formatted cells(method)."""
    for method in methods:
        f.write("| " + " | ".join([names[method], *cells(method)]) + " |\n")


def fmt(m, s, scale=1.0, digits=4):
    return f"{m * scale:.{digits}f} ± {s * scale:.{digits}f}"


def main():
    out, space, family, threshold, lam = sys.argv[1:6]
    seeds = sys.argv[6:]
    out = Path(out)
    summary = {"space": space, "family": family, "threshold": float(threshold), "lambda": float(lam),
               "seeds": seeds, "coverage": {}, "bias": {}}

    # COV/MAT (Tables II-IV analogue).
    keys = ["cov_r_mean", "cov_r_median", "mat_r_mean", "mat_r_median",
            "cov_p_mean", "cov_p_median", "mat_p_mean", "mat_p_median"]
    # File stems: IP outputs carry lambda (paper_experiment.sh), so a grid extended later never mixes models.
    stem = {"etkdg": "etkdg", "baseline": "baseline", "ip": f"ip_l{lam}"}
    rows = {}

    def add_row(method, eval_files):  # mean +- sd over the seeds' `confsgm evaluate` JSON files
        per_seed = [json.load(open(p))["aggregate"] for p in eval_files]
        rows[method] = {k: mean_sd([a[k] for a in per_seed]) for k in keys}
        summary["coverage"][method] = {k: {"mean": v[0], "sd": v[1]} for k, v in rows[method].items()}

    for method in ["etkdg", "baseline", "ip"]:
        add_row(method, [out / "eval" / f"{stem[method]}_s{s}.json" for s in seeds])
    names = {"etkdg": "RDKit ETKDG", "baseline": f"{space} SGM", "ip": f"{space} SGM-IP (λ = {lam})"}
    # Distance space: the same samples written without reflecting mirror images (generate --mirror-images keep,
    # ConfGF as published), where the run kept them as eval/<stem>_s<seed>.keep.json.
    table_methods = ["etkdg", "baseline", "ip"]
    for method in ["baseline", "ip"]:
        kept = [out / "eval" / f"{stem[method]}_s{s}.keep.json" for s in seeds]
        if all(p.exists() for p in kept):
            add_row(method + "_keep", kept)
            names[method + "_keep"] = names[method] + ", mirror images kept"
            table_methods.append(method + "_keep")

    # COV-R / MAT-R within and beyond the training domain (test molecules larger than any training molecule: the
    # Drugs test set has some), when the model files record it.
    domain = training_domain(out / "models" / f"baseline_s{seeds[0]}.bin")
    sizes = heavy_atoms(out / "data" / "test.sdf") if (out / "data" / "test.sdf").exists() else None
    by_domain = {}
    if domain is not None and sizes and any(n > domain for n in sizes.values()):
        for method in table_methods:
            files = [out / "eval" / f"{stem[method.removesuffix('_keep')]}_s{s}"
                                    f"{'.keep' if method.endswith('_keep') else ''}.json" for s in seeds]
            per_seed = [json.load(open(p))["molecules"] for p in files]
            by_domain[method] = {}
            for part, inside in [("inside", True), ("beyond", False)]:
                groups = [{m: v for m, v in mols.items() if (sizes.get(m, 0) <= domain) == inside} for mols in per_seed]
                by_domain[method][part] = {
                    "molecules": len(groups[0]),
                    "cov_r_mean": mean_sd([statistics.fmean(v["cov_r"] for v in g.values()) for g in groups if g]),
                    "mat_r_mean": mean_sd([statistics.fmean(v["mat_r"] for v in g.values() if v["mat_r"] == v["mat_r"])
                                           for g in groups if any(v["mat_r"] == v["mat_r"] for v in g.values())]),
                }
        summary["by_training_domain"] = {"heavy_atoms_max": domain, "methods": {
            m: {part: {"molecules": d["molecules"], **{k: {"mean": d[k][0], "sd": d[k][1]}
                                                       for k in ["cov_r_mean", "mat_r_mean"]}}
                for part, d in parts.items()} for m, parts in by_domain.items()}}

    # Exposure bias per level (Table I analogue).
    bias = {}
    for kind in ["baseline", "ip"]:
        per_seed = [list(csv.DictReader(open(out / "bias" / f"{stem[kind]}_s{s}.csv"))) for s in seeds]
        metrics = [k[: -len("_mean")] for k in per_seed[0][0] if k.endswith("_mean")]
        levels = []
        for t in range(len(per_seed[0])):
            lv = {"level": t, "sigma": float(per_seed[0][t]["sigma"])}
            for m in metrics:
                lv[m] = mean_sd([float(rs[t][m + "_mean"]) for rs in per_seed])
            levels.append(lv)
        bias[kind] = {"metrics": metrics, "levels": levels}
        summary["bias"][kind] = [{**{"level": lv["level"], "sigma": lv["sigma"]},
                                  **{m: {"mean": lv[m][0], "sd": lv[m][1]} for m in metrics}} for lv in levels]
    metrics = bias["baseline"]["metrics"]
    # The paper's measure, ||C0 - C^0||_1 / N in coordinates, for both spaces; the torsion space also reports
    # its wrapped torsion error per bond.
    main_metric = "coordinate_l1_per_atom"
    extra = [m for m in metrics if m != main_metric]

    # Loss curves from the training logs (MODEL.log.csv, rows of kind "epoch").
    curves = {}
    for kind in ["baseline", "ip"]:
        curves[kind] = {}
        for s in seeds:
            log = out / "models" / f"{stem[kind]}_s{s}.bin.log.csv"
            rows_ = list(csv.DictReader(open(log))) if log.exists() else []
            curves[kind][s] = [{"epoch": int(r["epoch"]), "train_loss": float(r["train_loss"]),
                                "validation_loss": float(r["validation_loss"]), "seconds": float(r["seconds"])}
                               for r in rows_ if r["kind"] == "epoch"]
    summary["training"] = curves

    # What generation wrote: conformers, failures, stereo changes (gen/<stem>_s<seed>.log).
    generation = {method: {s: generation_counts(out / "gen" / f"{stem[method.removesuffix('_keep')]}_s{s}"
                                                f"{'.keep' if method.endswith('_keep') else ''}.log") for s in seeds}
                  for method in table_methods}
    summary["generation"] = generation
    # Torsion space: how well conformer matching put each reference's torsions onto an ETKDG local structure.
    matching = {}
    tsv = out / "data" / "train.matching.tsv"
    if tsv.exists():
        rows_ = list(csv.DictReader(open(tsv), delimiter="\t"))
        matching = {k: quantiles([float(r[k]) for r in rows_]) for k in ["start_rmsd", "rmsd", "heavy_rmsd"]}
        matching["molecules"] = len({r["mol_id"] for r in rows_})
        log = out / "data" / "train.match.log"
        matching["left_out"] = sum(1 for l in open(log) if "left out of torsion training" in l) if log.exists() else None
        summary["matching"] = matching

    with open(out / "results.md", "w") as f:
        f.write(f"# {space} space, {family}: baseline vs Input Perturbation\n\n")
        f.write("Data: the project's GEOM-protocol surrogate sets (docs/data.md), **not GEOM**; "
                "these numbers are not comparable with published GEOM numbers.\n\n")
        grid_rows = sum(1 for l in open(out / "lambda_grid.md") if l.startswith("| ") and "lambda" not in l) \
            if (out / "lambda_grid.md").exists() else 0
        chosen = "the only value tried so far" if grid_rows == 1 else "chosen on the validation set"
        f.write(f"Seeds: {' '.join(seeds)} (mean ± sd over seeds). λ = {lam}, {chosen} "
                f"(lambda_grid.md). COV threshold {threshold} Å.\n\n")
        f.write("## Exposure bias per noise level (Table I analogue)\n\n")
        # The sample design, as `confsgm bias` reported it ("[bias] N reference conformers of M molecules, K samples
        # per level"): with few samples per level a level's mean is uncertain, and the reader must know how much.
        design = None
        bias_log = out / "bias" / f"baseline_s{seeds[0]}.log"
        if bias_log.exists():
            design = next((l.strip()[len("[bias] "):] for l in open(bias_log) if l.startswith("[bias] ")), None)
        if design:
            f.write(f"Design (per seed and model, the same draws for both models of a seed): {design}.\n\n")
        f.write(f"Metric: {main_metric} ({'rad' if 'torsion' in main_metric else 'Å'}); "
                "lower is better.\n\n| level | σ | baseline | IP | IP − baseline |\n|---|---|---|---|---|\n")
        lower = 0
        for b, i in zip(bias["baseline"]["levels"], bias["ip"]["levels"]):
            d = i[main_metric][0] - b[main_metric][0]
            lower += d < 0
            f.write(f"| {b['level']} | {b['sigma']:.4g} | {fmt(*b[main_metric])} | {fmt(*i[main_metric])} | "
                    f"{d:+.4f} |\n")
        f.write(f"\nIP is lower at {lower} of {len(bias['ip']['levels'])} levels.\n\n")
        for m in extra:
            f.write(f"Also measured: {m} (rad).\n\n| level | σ | baseline | IP |\n|---|---|---|---|\n")
            for b, i in zip(bias["baseline"]["levels"], bias["ip"]["levels"]):
                f.write(f"| {b['level']} | {b['sigma']:.4g} | {fmt(*b[m])} | {fmt(*i[m])} |\n")
            f.write("\n")
        for title, part in [("Recall: COV-R and MAT-R (Tables II/III analogue)", "r"),
                            ("Precision: COV-P and MAT-P (Table IV analogue)", "p")]:
            f.write(f"## {title}\n\n| method | COV-{part.upper()} mean (%) | COV-{part.upper()} median (%) | "
                    f"MAT-{part.upper()} mean (Å) | MAT-{part.upper()} median (Å) |\n|---|---|---|---|---|\n")
            write_rows(f, table_methods, names, lambda m: [
                fmt(*rows[m][f"cov_{part}_mean"], 100, 2), fmt(*rows[m][f"cov_{part}_median"], 100, 2),
                fmt(*rows[m][f"mat_{part}_mean"]), fmt(*rows[m][f"mat_{part}_median"])])
            f.write("\n")
        if by_domain:
            first = by_domain[table_methods[0]]
            f.write(f"## Within and beyond the training domain\n\nThe models were trained on molecules of at most "
                    f"{domain} heavy atoms; {first['beyond']['molecules']} of the "
                    f"{first['inside']['molecules'] + first['beyond']['molecules']} test molecules are larger "
                    "(`generate` warns about them). Means over the molecules of each part:\n\n"
                    f"| method | COV-R, ≤ {domain} heavy atoms (%) | MAT-R, ≤ {domain} (Å) | COV-R, larger (%) | "
                    "MAT-R, larger (Å) |\n|---|---|---|---|---|\n")
            write_rows(f, table_methods, names, lambda m: [
                fmt(*by_domain[m][part]["cov_r_mean"], 100, 2) if k == "cov" else fmt(*by_domain[m][part]["mat_r_mean"])
                for part in ["inside", "beyond"] for k in ["cov", "mat"]])
            f.write("\n")
        f.write("## Generation (per seed: conformers written, failures, stereo changes)\n\n"
                "| method | seed | conformers | molecules | failed molecules | stereo mismatches | mirror images reflected | "
                "diverged |\n|---|---|---|---|---|---|---|---|\n")
        for method in table_methods:
            for s in seeds:
                g = generation[method][s]
                if g:
                    f.write(f"| {names[method]} | {s} | {g['conformers']} | {g['molecules']} | {g['failed_molecules']} | "
                            f"{g['stereo_mismatch']} | {g['reflected']} | {g['diverged']} |\n")
        f.write("\nA stereo mismatch is a written conformer whose R/S or E/Z labels differ from the input's. The "
                "distance space cannot tell a conformer from its mirror image: `generate --mirror-images reflect` "
                "(the default) writes a sample's reflection when that has the input's stereo (counted above).\n\n")
        if matching:
            f.write("## Conformer matching of the training set (torsion space)\n\n"
                    f"{matching['rmsd']['n']} reference conformers of {matching['molecules']} molecules matched; "
                    f"{matching['left_out']} molecules left out (no rotatable bond, or no usable ETKDG local structure; "
                    f"{out}/data/train.match.log, run output). RMSD (Å, after superposition) between each reference conformer and its ETKDG "
                    "local structure, first with the reference's own dihedrals, then with the matched ones (the "
                    "objective: all atoms, hydrogens included), and heavy atoms only (what Torsional Diffusion "
                    "reports):\n\n"
                    "| RMSD | mean | median | p10 | p90 | max |\n|---|---|---|---|---|---|\n")
            for k, label in [("start_rmsd", "reference dihedrals, all atoms"),
                             ("rmsd", "matched, all atoms"), ("heavy_rmsd", "matched, heavy atoms")]:
                q = matching[k]
                f.write(f"| {label} | {q['mean']:.3f} | {q['median']:.3f} | {q['p10']:.3f} | {q['p90']:.3f} | "
                        f"{q['max']:.3f} |\n")
            f.write("\n")
        f.write("## Training (per seed: epochs run, best validation loss, wall time)\n\n"
                "Minutes: training time summed over the run's pieces (a resumed run starts its clock again), "
                f"on whichever machine each piece ran ({out}/models/*.where says where a run started elsewhere).\n\n"
                "| model | seed | epochs | best validation loss | at epoch | minutes |\n|---|---|---|---|---|---|\n")
        for kind in ["baseline", "ip"]:
            for s in seeds:
                c = curves[kind][s]
                if not c:
                    # A model restored from a file (say, a shipped one) after its run folder was lost has no log.
                    where = out / "models" / f"{stem[kind]}_s{s}.bin.where"
                    note = open(where).read().strip().replace("\n", " ") if where.exists() else "no record"
                    f.write(f"| {names[kind]} | {s} | training log not kept | | | ({note}) |\n")
                    continue
                best = min(c, key=lambda e: e["validation_loss"])
                f.write(f"| {names[kind]} | {s} | {c[-1]['epoch']} | {best['validation_loss']:.5g} | "
                        f"{best['epoch']} | {training_seconds(c) / 60:.1f} |\n")
        f.write("\nPlots: bias_vs_sigma.png (Fig. 1a/b analogue), error_histogram.png (Fig. 1c analogue), "
                "loss_curves.png (training and validation loss per epoch).\n")
    json.dump(summary, open(out / "results.json", "w"), indent=1)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing (apt-get install python3-matplotlib): plots skipped", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for kind, colour in [("baseline", "tab:blue"), ("ip", "tab:red")]:
        lv = bias[kind]["levels"]
        ax.errorbar([x["sigma"] for x in lv], [x[main_metric][0] for x in lv], yerr=[x[main_metric][1] for x in lv],
                    marker="o", ms=3, capsize=2, color=colour, label=names[kind])
    ax.set_xscale("log")
    ax.set_xlabel("σ at the starting level")
    ax.set_ylabel(main_metric)
    ax.set_title(f"Exposure bias, {space} space, {family} (surrogate data)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "bias_vs_sigma.png", dpi=120)

    fig, ax = plt.subplots(figsize=(6, 4))
    for kind, colour in [("baseline", "tab:blue"), ("ip", "tab:red")]:
        errs = []
        for s in seeds:
            errors = out / "bias" / f"{stem[kind]}_s{s}.errors.csv"
            # A committed state (keep_state.sh) holds the per-sample errors gzipped.
            stream = open(errors) if errors.exists() else gzip.open(f"{errors}.gz", "rt")
            for row in csv.DictReader(stream):
                if row["metric"] == main_metric and row["error"] not in ("nan", "-nan"):
                    errs.append(float(row["error"]))
        ax.hist(errs, bins=40, alpha=0.5, color=colour, label=f"{names[kind]} (n = {len(errs)})")
    ax.set_xlabel(f"{main_metric}, all levels")
    ax.set_ylabel("samples")
    ax.set_title(f"Reconstruction errors (Fig. 1c), {space}, {family} (surrogate data)", fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "error_histogram.png", dpi=120)

    fig, ax = plt.subplots(figsize=(6, 4))
    for kind, colour in [("baseline", "tab:blue"), ("ip", "tab:red")]:
        for i, s in enumerate(seeds):
            c = curves[kind][s]
            label = names[kind] if i == 0 else None
            ax.plot([e["epoch"] for e in c], [e["train_loss"] for e in c], color=colour, alpha=0.4, lw=1)
            ax.plot([e["epoch"] for e in c], [e["validation_loss"] for e in c], color=colour, lw=1.5, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("DSM loss (thin: training, thick: validation)")
    ax.set_title(f"Training, {space} space, {family}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss_curves.png", dpi=120)


if __name__ == "__main__":
    main()
