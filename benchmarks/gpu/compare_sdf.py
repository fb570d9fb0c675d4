#!/usr/bin/env python3
"""Conformer-by-conformer comparison of two SDF files of the same run (CPU and GPU backend): records are matched
by title (molecule id and conformer index), and each pair's largest coordinate difference is reported.

    compare_sdf.py CPU.sdf GPU.sdf [--subset OUT.sdf]

--subset writes the CPU records of the molecules the GPU file holds (to evaluate both on the same molecules).
Plain text parsing (V2000 and V3000 atom blocks): no RDKit needed.
"""
import argparse
import statistics
import sys


def records(path):
    with open(path) as f:
        text = f.read()
    for block in text.split("$$$$\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        title = lines[0].strip()
        coords = []
        if "V3000" in lines[3]:
            inside = False
            for line in lines:
                if "BEGIN ATOM" in line:
                    inside = True
                elif "END ATOM" in line:
                    break
                elif inside:
                    parts = line.split()
                    coords.append(tuple(float(v) for v in parts[4:7]))
        else:
            n = int(lines[3][:3])
            for line in lines[4:4 + n]:
                coords.append((float(line[0:10]), float(line[10:20]), float(line[20:30])))
        yield title, coords, block + "$$$$\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cpu")
    ap.add_argument("gpu")
    ap.add_argument("--subset")
    a = ap.parse_args()
    cpu = {t: (c, b) for t, c, b in records(a.cpu)}
    gpu = {t: c for t, c, _ in records(a.gpu)}
    diffs, shape = [], 0
    for t, c in gpu.items():
        if t not in cpu:
            continue
        ref = cpu[t][0]
        if len(ref) != len(c):
            shape += 1
            continue
        diffs.append(max(abs(x - y) for p, q in zip(ref, c) for x, y in zip(p, q)))
    gpu_mols = {t.rsplit("_conf", 1)[0] for t in gpu}
    cpu_same = [t for t in cpu if t.rsplit("_conf", 1)[0] in gpu_mols]
    only_cpu = len([t for t in cpu_same if t not in gpu])
    only_gpu = len([t for t in gpu if t not in cpu])
    print(f"{a.gpu} against {a.cpu}: {len(gpu_mols)} molecules, {len(diffs)} conformers in both, "
          f"{only_gpu} only on the GPU, {only_cpu} only on the CPU, {shape} with different atom counts")
    if diffs:
        diffs.sort()
        over = sum(d > 1e-3 for d in diffs)
        print(f"  largest coordinate difference per conformer (A): median {statistics.median(diffs):.2e}, "
              f"90th percentile {diffs[int(0.9 * (len(diffs) - 1))]:.2e}, max {diffs[-1]:.2e}; "
              f"{over} of {len(diffs)} above 1e-3 A (SDF coordinates have 1e-4 A resolution)")
    if a.subset:
        with open(a.subset, "w") as f:
            for t in cpu_same:
                f.write(cpu[t][1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
