#!/usr/bin/env python3
"""Plots of a compensation.sh run folder (issue 24): the exposure bias per level against sigma for each setting
(relative to the first setting, so that small differences show), and COV-P against COV-R, one point per setting.

    python3 examples/experiments/compensation_plots.py FOLDER MODEL STEPS SETTING[,SETTING...] OUT_PREFIX

writes OUT_PREFIX_bias_vs_sigma.png and OUT_PREFIX_precision_recall.png (matplotlib, Agg backend).
"""
import csv
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    folder, model, steps, settings, prefix = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(","), sys.argv[5]
    bias, cov = {}, {}
    for s in settings:
        name = f"{folder}/{model}_s{steps}_{s}"
        rows = list(csv.DictReader(open(f"{name}.bias.csv")))
        metric = "torsion_error_per_bond_mean" if "torsion_error_per_bond_mean" in rows[0] else "coordinate_l1_per_atom_mean"
        bias[s] = ([float(r["sigma"]) for r in rows], [float(r[metric]) for r in rows], metric)
        a = json.load(open(f"{name}.json"))["aggregate"]
        cov[s] = (100 * a["cov_r_mean"], 100 * a["cov_p_mean"])

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6.4), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    base_sigma, base, metric = bias[settings[0]]
    for s in settings:
        sig, err, _ = bias[s]
        top.plot(sig, err, marker="o", ms=3, label=s)
        bottom.plot(sig, [e - b for e, b in zip(err, base)], marker="o", ms=3, label=s)
    top.set_xscale("log")
    top.set_ylabel(metric.replace("_mean", "").replace("_", " "))
    top.set_title(f"{model}: exposure bias per level (Algorithm 2, paired starts)")
    top.legend(fontsize=7)
    bottom.axhline(0, color="grey", lw=0.5)
    bottom.set_xlabel("sigma of the level")
    bottom.set_ylabel(f"minus '{settings[0]}'")
    fig.tight_layout()
    fig.savefig(f"{prefix}_bias_vs_sigma.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    for s in settings:
        r, p = cov[s]
        ax.scatter([r], [p])
        ax.annotate(s, (r, p), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("COV-R mean (%)")
    ax.set_ylabel("COV-P mean (%)")
    ax.set_title(f"{model}: precision against recall per setting")
    fig.tight_layout()
    fig.savefig(f"{prefix}_precision_recall.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
