#!/usr/bin/env python3
"""Mean and sample standard deviation over seeds of relax_pipelines.sh runs (one folder per seed), and the plot of
MAT-R against the wall time per conformer, one point per pipeline (issue 23's comparison).

    python3 examples/experiments/relax_summary.py --out DIR --names "p1 p2 ..." [--threshold T] FOLDER_SEED1 ...

Reads FOLDER/<name>.json (evaluate --json; with --threshold T, the evaluation at that threshold,
FOLDER/<name>@T.json, and writes summary@T.md and mat_r_vs_time@T.png), <name>.ms (the run's wall time) and <name>.gen.log (generate's last
line: conformers written, molecules failed; its "time by stage" line: the shares of generation, refinement and
selection) and writes DIR/summary.md (also printed) and DIR/mat_r_vs_time.png. A pipeline missing in some
folder is left out with a note, never averaged over fewer seeds silently.
"""
import argparse
import json
import os
import re
import statistics


def mean_sd(values, scale=1.0, digits=2):
    m = statistics.mean(values) * scale
    s = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def read_run(folder, name, tag):
    a = json.load(open(f"{folder}/{name}{tag}.json"))["aggregate"]
    ms = int(open(f"{folder}/{name}.ms").read())
    log = open(f"{folder}/{name}.gen.log").read().strip().splitlines()
    written = int(re.search(r"wrote (\d+) conformers", log[-1]).group(1))
    failed = int(re.search(r"(\d+) molecules failed", log[-1]).group(1))
    found = [re.search(r"generation ([0-9.]+), refinement ([0-9.]+), selection ([0-9.]+)", line) for line in log]
    stages = [float(x) for x in next((m.groups() for m in found if m), (0, 0, 0))]
    per_conformer = ms / max(written, 1)
    shares = [per_conformer * t / sum(stages) for t in stages] if sum(stages) > 0 else None
    return {**a, "ms": per_conformer, "stages": shares, "failed": failed, "written": written}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--names", required=True)
    p.add_argument("--threshold", default="", help="read <name>@T.json (a second threshold's evaluation)")
    p.add_argument("--cost", default="", help="cost.md of relax_cost.sh: its CPU ms per conformer in the table, and "
                   "as the plot's x for the pipelines it has (wall times under background load mislead)")
    p.add_argument("folders", nargs="+")
    args = p.parse_args()
    names = args.names.split()
    tag = f"@{args.threshold}" if args.threshold else ""
    runs, missing = {}, []
    for n in names:
        have = [f for f in args.folders if os.path.exists(f"{f}/{n}{tag}.json")]
        if len(have) < len(args.folders):
            missing.append(f"{n} ({len(have)} of {len(args.folders)} seeds)")
            continue
        runs[n] = [read_run(f, n, tag) for f in args.folders]
    cpu = {}
    if args.cost:
        for line in open(args.cost):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 4 and cells[1].isdigit():
                cpu[cells[0]] = float(cells[3])
    keys = [("cov_r_mean", 100, 2), ("mat_r_mean", 1, 4), ("cov_r_median", 100, 2), ("mat_r_median", 1, 4),
            ("cov_p_mean", 100, 2), ("mat_p_mean", 1, 4)]
    at = f", threshold {args.threshold} Å" if args.threshold else ""
    lines = [f"{len(args.folders)} seeds ({', '.join(args.folders)}){at}; mean ± sd over seeds "
             "(`bash examples/experiments/relax_comparison.sh`)\n",
             "| pipeline | COV-R mean (%) | MAT-R mean (Å) | COV-R median (%) | MAT-R median (Å) | COV-P mean (%) | "
             "MAT-P mean (Å) | molecules failed | ms per conformer | of which generation / refinement / selection |"
             + (" CPU ms per conformer (relax_cost.sh) |" if cpu else ""),
             "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if cpu else "")]
    for n, r in runs.items():
        cells = [mean_sd([x[k] for x in r], sc, d) for k, sc, d in keys]
        failed = "/".join(str(x["failed"]) for x in r)
        ms = mean_sd([x["ms"] for x in r], 1, 1)
        if all(x["stages"] for x in r):
            split = " / ".join(f"{statistics.mean(x['stages'][i] for x in r):.1f}" for i in range(3))
        else:
            split = "-"
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {failed} | {ms} | {split} |" +
                     (f" {cpu[n]:.1f} |" if n in cpu else " - |" if cpu else ""))
    if missing:
        lines.append("\nLeft out (not finished for every seed): " + ", ".join(missing))
    text = "\n".join(lines) + "\n"
    os.makedirs(args.out, exist_ok=True)
    with open(f"{args.out}/summary{tag}.md.partial", "w") as f:
        f.write(text)
    os.replace(f"{args.out}/summary{tag}.md.partial", f"{args.out}/summary{tag}.md")
    print(text, end="")
    if not runs:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for n, r in runs.items():
        if cpu and n not in cpu:
            continue
        x = cpu[n] if cpu else statistics.mean(v["ms"] for v in r)
        y = statistics.mean(v["mat_r_mean"] for v in r)
        yerr = statistics.stdev(v["mat_r_mean"] for v in r) if len(r) > 1 else 0.0
        generator = n.split("+")[0].split("-os")[0]
        style = {"etkdg": ("o", "tab:blue"), "torsional": ("s", "tab:orange"), "confgf": ("^", "tab:green"),
                 "torsional-baseline": ("D", "tab:red")}.get(generator, ("v", "tab:gray"))
        ax.errorbar(x, y, yerr=yerr, fmt=style[0], color=style[1], capsize=2)
        ax.annotate(n, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("CPU time per written conformer (ms, relax_cost.sh, log scale)" if cpu else
                  "wall time per written conformer (ms, 2 cores, log scale)")
    ax.set_ylabel("MAT-R mean (Å)")
    ax.set_title(f"MAT-R against cost per conformer, mean ± sd over seeds{at}")
    fig.tight_layout()
    fig.savefig(f"{args.out}/mat_r_vs_time{tag}.png.partial.png", dpi=120)
    os.replace(f"{args.out}/mat_r_vs_time{tag}.png.partial.png", f"{args.out}/mat_r_vs_time{tag}.png")


if __name__ == "__main__":
    main()
