#!/usr/bin/env python3
"""The conformance table (README section 7).

    python3 conformance/report.py --run [--only c,python]   run every runner, then report
    python3 conformance/report.py results1.json ...         report on existing results

--run executes conformance/runners/<rt>/run.sh and conformance/matrix/run.sh
(those that exist) as `run.sh <vectors-dir> <results.json>`, results under
build/conformance/results/. Prints rows = vector groups, columns = runtimes
and boundary pairs, cells = passed/expected-fail/failed; exits 1 on any
failed count, missing or malformed results, or a runner's non-zero exit."""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VECTORS = os.path.join(HERE, "vectors")
RESULTS = os.path.join(ROOT, "build", "conformance", "results")
RUNTIME_ORDER = ["c", "python", "go", "rust", "wasm", "wasm-py", "wasm-go", "wasm-rust"]
FORMAT = "ptel-conformance-results/1"


def runners():
    found = []
    base = os.path.join(HERE, "runners")
    names = sorted(os.listdir(base)) if os.path.isdir(base) else []
    names.sort(key=lambda n: (RUNTIME_ORDER.index(n) if n in RUNTIME_ORDER else 99, n))
    for n in names:
        script = os.path.join(base, n, "run.sh")
        if os.path.isfile(script):
            found.append((n, script))
    matrix = os.path.join(HERE, "matrix", "run.sh")
    if os.path.isfile(matrix):
        found.append(("matrix", matrix))
    return found


def run_all(only):
    os.makedirs(RESULTS, exist_ok=True)
    files, problems = [], []
    for name, script in runners():
        if only and name not in only:
            continue
        out = os.path.join(RESULTS, name + ".json")
        if os.path.exists(out):
            os.remove(out)
        t0 = time.monotonic()
        rc = subprocess.run(["bash", script, VECTORS, out], cwd=ROOT).returncode
        print(f"runner {name}: exit {rc} in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        if rc != 0:
            problems.append(f"runner {name} exited with status {rc}")
        files.append((name, out))
    return files, problems


def load(name, path, problems):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        problems.append(f"{name}: no readable results ({e})")
        return {}, []
    if doc.get("format") != FORMAT or not isinstance(doc.get("columns"), dict):
        problems.append(f"{name}: results are not {FORMAT}")
        return {}, []
    cols = {}
    for col, groups in doc["columns"].items():
        cols[col] = {}
        for g, cnt in groups.items():
            try:
                cols[col][g] = tuple(int(cnt[k]) for k in ("passed", "expected_fail", "failed"))
            except (KeyError, TypeError, ValueError):
                problems.append(f"{name}: bad counts for {col} {g}")
    return cols, doc.get("failures", [])


def vector_groups():
    groups = []
    for dirpath, _, names in os.walk(VECTORS):
        for n in names:
            if n.endswith(".json"):
                groups.append(os.path.relpath(os.path.join(dirpath, n), VECTORS)[:-5])
    return sorted(groups)


def table(columns, groups):
    names = list(columns)
    rows = [["group"] + names]
    totals = {c: [0, 0, 0] for c in names}
    for g in groups:
        row = [g]
        for c in names:
            cnt = columns[c].get(g)
            if cnt is None:
                row.append("-")
            else:
                row.append("%d/%d/%d" % cnt)
                for k in range(3):
                    totals[c][k] += cnt[k]
        rows.append(row)
    rows.append(["total"] + ["%d/%d/%d" % tuple(totals[c]) for c in names])
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(x.ljust(widths[k]) if k == 0 else x.rjust(widths[k])
                               for k, x in enumerate(r)))
        if n == 0 or n == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("results", nargs="*")
    args = ap.parse_args()
    problems = []
    if args.run:
        files, problems = run_all(set(filter(None, args.only.split(","))))
    else:
        files = [(os.path.basename(p), p) for p in args.results]
    columns, failures = {}, []
    for name, path in files:
        cols, fails = load(name, path, problems)
        for col, groups in cols.items():
            if col in columns:
                problems.append(f"{name}: column {col} reported twice")
            columns[col] = groups
        failures += fails
    if not columns:
        problems.append("no results at all")
    groups = vector_groups()
    extra = sorted({g for c in columns.values() for g in c} - set(groups))
    print("cells: passed/expected-fail/failed; '-' = group not run by that column")
    print(table(columns, groups + extra))
    for c, gs in columns.items():
        for g, (p, x, f) in gs.items():
            if f:
                problems.append(f"{c}: {g}: {f} failed")
    for f in failures[:50]:
        print(f"FAIL [{f.get('column')}] {f.get('case')}: {f.get('detail')}")
    if len(failures) > 50:
        print(f"... and {len(failures) - 50} more failures")
    for p in problems:
        print("ERROR: " + p)
    if problems:
        print("conformance: FAILED")
        return 1
    print("conformance: all results as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
