#!/usr/bin/env python3
"""Regenerate conformance/vectors from the authoring scripts and the C core.

    python3 conformance/gen/generate.py [--check]

Writes the cases' inputs to a scratch tree, runs the C runner in --emit mode
(the C core is the reference implementation), fills `expected` from its
output, validates what README requires (ids, comments, documented reasons)
and writes conformance/vectors/. With --check, fails instead of writing when
a file would change (the normal `make conformance` run only verifies)."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VECTORS = os.path.join(ROOT, "conformance", "vectors")
sys.path.insert(0, HERE)

import host  # noqa: E402
import scenarios  # noqa: E402
import w3c  # noqa: E402

SCHEMAS = {"scenarios": "scenario.schema.json", "host": "host.schema.json",
           "w3c": "w3c.schema.json"}


def runner() -> str:
    out = subprocess.run(["bash", os.path.join(ROOT, "conformance/runners/c/run.sh"),
                          "--build-only"], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def collect():
    files = {}
    for kind, mod in (("scenarios", scenarios), ("host", host), ("w3c", w3c)):
        for fn in mod.GROUPS:
            name, comment, cases = fn()
            group = f"{kind}/{name}"
            ids = set()
            for c in cases:
                assert c["id"] not in ids, f"{group}: duplicate id {c['id']}"
                assert c.get("comment"), f"{group}/{c['id']}: no comment"
                ids.add(c["id"])
            files[group] = {"group": group, "schema": SCHEMAS[kind], "comment": comment,
                            "cases": cases}
    return files


def dump(doc) -> str:
    """One case per line block: readable diffs, stable output."""
    head = {k: v for k, v in doc.items() if k != "cases"}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "cases": [']
    for n, c in enumerate(doc["cases"]):
        sep = "," if n + 1 < len(doc["cases"]) else ""
        lines.append("  " + json.dumps(c, ensure_ascii=False) + sep)
    lines.append("]}")
    return "\n".join(lines) + "\n"


def emit(binary, files):
    if not files:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        for group, doc in files.items():
            path = os.path.join(tmp, group + ".json")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(dump(doc))
        out = subprocess.run([binary, "--emit", tmp], check=True, capture_output=True)
    actual = {}
    for line in out.stdout.decode("utf-8").splitlines():
        rec = json.loads(line)
        key = rec["group"] + "/" + rec["id"]
        if "error" in rec:
            raise SystemExit(f"{key}: the C runner could not execute it: {rec['error']}")
        actual[key] = rec["actual"]
    return actual


def validate(files):
    """Every vector file and expected-failure list against its JSON Schema."""
    import glob

    import jsonschema
    from referencing import Registry, Resource

    sdir = os.path.join(ROOT, "conformance", "schema")
    schemas = {}
    for path in glob.glob(os.path.join(sdir, "*.json")):
        with open(path, encoding="utf-8") as f:
            schemas[os.path.basename(path)] = json.load(f)
    registry = Registry().with_resources(
        (name, Resource.from_contents(doc)) for name, doc in schemas.items())
    bad = []

    def check(doc, schema, what):
        v = jsonschema.Draft202012Validator(schemas[schema], registry=registry)
        for e in sorted(v.iter_errors(doc), key=lambda e: list(e.path))[:5]:
            bad.append(f"{what}: {'/'.join(map(str, e.path))}: {e.message[:200]}")

    for group, doc in files.items():
        check(doc, doc["schema"], group)
    for path in sorted(glob.glob(os.path.join(ROOT, "conformance", "expected-failures", "*.json"))):
        with open(path, encoding="utf-8") as f:
            check(json.load(f), "expected-failures.schema.json", os.path.relpath(path, ROOT))
    if bad:
        raise SystemExit("schema violations:\n" + "\n".join(bad))


def main():
    check = "--check" in sys.argv
    binary = runner()
    files = collect()
    # Host cases may take their payload from a scenario's expected output.
    actual = emit(binary, {g: d for g, d in files.items() if g.startswith("scenarios/")})
    host.resolve_payloads(files, actual)
    actual.update(emit(binary, {g: d for g, d in files.items()
                                if not g.startswith("scenarios/")}))
    bad = []
    for group, doc in files.items():
        for c in doc["cases"]:
            c["expected"] = actual[group + "/" + c["id"]]
            if group.startswith("host/"):
                problem = host.check_reason(c)
                if problem:
                    bad.append(f"{group}/{c['id']}: {problem}")
    if bad:
        raise SystemExit("\n".join(bad))
    validate(files)
    changed = []
    for group, doc in files.items():
        path = os.path.join(VECTORS, group + ".json")
        text = dump(doc)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            changed.append(group)
            if not check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    counts = {}
    for group, doc in files.items():
        kind = group.split("/")[0]
        counts[kind] = counts.get(kind, 0) + len(doc["cases"])
    print("vectors: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    if check and changed:
        raise SystemExit("stale vectors (run make conformance-update): " + ", ".join(changed))
    if changed:
        print("updated: " + ", ".join(changed))


if __name__ == "__main__":
    main()
