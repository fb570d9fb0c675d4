#!/usr/bin/env python3
"""Compare two COV/MAT result JSON files (covmat_rdkit.py layout).

Usage:

    python3 tests/scripts/compare_covmat_json.py A.json B.json [--tol 1e-3]

Exit status 0 when the two files agree, 1 (after printing every difference)
when they do not, 2 on a usage or read error.

Checked:

* ``n_molecules`` and ``n_missing``: exactly equal;
* the set of molecule ids under ``molecules``: identical;
* per molecule ``cov_r``, ``mat_r``, ``cov_p``, ``mat_p``: |a - b| <= tol;
  ``n_ref`` and ``n_gen``: exactly equal when present in both files;
* every key under ``aggregate`` present in either file: |a - b| <= tol;
* ``threshold`` (|a - b| <= 1e-12) and ``op`` (equal) when present in both.

Numbers may be JSON numbers, ``NaN``/``Infinity`` tokens or ``null`` (read as
nan).  nan equals nan, +inf equals +inf; a nan or inf never equals a finite
number.  The tolerance is absolute.  Only the Python standard library is used.
"""

import argparse
import json
import math
import sys

METRICS = ("cov_r", "mat_r", "cov_p", "mat_p")


def as_float(v):
    if v is None:
        return float("nan")
    if isinstance(v, bool):
        raise ValueError("boolean where a number was expected")
    if isinstance(v, str):  # tolerate "nan"/"inf" written as strings
        return float(v)
    return float(v)


def close(a, b, tol):
    a, b = as_float(a), as_float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol


def fmt(v):
    return "missing" if v is _MISSING else repr(v)


_MISSING = object()


def compare(a, b, tol):
    diffs = []

    def num(path, va, vb, t):
        if va is _MISSING or vb is _MISSING:
            diffs.append("%s: %s vs %s" % (path, fmt(va), fmt(vb)))
            return
        try:
            ok = close(va, vb, t)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            try:
                d = " (diff %.3g)" % abs(as_float(va) - as_float(vb))
            except (TypeError, ValueError):
                d = ""
            diffs.append("%s: %r vs %r%s" % (path, va, vb, d))

    def exact(path, va, vb):
        if va != vb:
            diffs.append("%s: %s vs %s" % (path, fmt(va), fmt(vb)))

    for key in ("n_molecules", "n_missing"):
        exact(key, a.get(key, _MISSING), b.get(key, _MISSING))
    if "threshold" in a and "threshold" in b:
        num("threshold", a["threshold"], b["threshold"], 1e-12)
    if "op" in a and "op" in b:
        exact("op", a["op"], b["op"])

    ma, mb = a.get("molecules"), b.get("molecules")
    if not isinstance(ma, dict) or not isinstance(mb, dict):
        diffs.append("molecules: missing or not an object in %s" % ("A" if not isinstance(ma, dict) else "B"))
    else:
        only_a = sorted(set(ma) - set(mb))
        only_b = sorted(set(mb) - set(ma))
        if only_a:
            diffs.append("molecules only in A: %s" % ", ".join(only_a))
        if only_b:
            diffs.append("molecules only in B: %s" % ", ".join(only_b))
        for mol_id in sorted(set(ma) & set(mb)):
            ra, rb = ma[mol_id], mb[mol_id]
            for key in ("n_ref", "n_gen"):
                if key in ra and key in rb:
                    exact("molecules.%s.%s" % (mol_id, key), ra[key], rb[key])
            for key in METRICS:
                num("molecules.%s.%s" % (mol_id, key), ra.get(key, _MISSING), rb.get(key, _MISSING), tol)

    ga, gb = a.get("aggregate"), b.get("aggregate")
    if not isinstance(ga, dict) or not isinstance(gb, dict):
        diffs.append("aggregate: missing or not an object in %s" % ("A" if not isinstance(ga, dict) else "B"))
    else:
        for key in sorted(set(ga) | set(gb)):
            num("aggregate.%s" % key, ga.get(key, _MISSING), gb.get(key, _MISSING), tol)
    return diffs


def main(argv=None):
    ap = argparse.ArgumentParser(description="Compare two COV/MAT JSON result files.")
    ap.add_argument("a", help="first JSON file")
    ap.add_argument("b", help="second JSON file")
    ap.add_argument("--tol", type=float, default=1e-3, help="absolute tolerance (default 1e-3)")
    args = ap.parse_args(argv)
    try:
        with open(args.a) as f:
            a = json.load(f)
        with open(args.b) as f:
            b = json.load(f)
    except (OSError, ValueError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    diffs = compare(a, b, args.tol)
    if diffs:
        print("%d difference(s) (tol %g):" % (len(diffs), args.tol))
        for d in diffs:
            print("  " + d)
        return 1
    print("OK: %s and %s agree (tol %g)" % (args.a, args.b, args.tol))
    return 0


if __name__ == "__main__":
    sys.exit(main())
