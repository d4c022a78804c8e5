#!/usr/bin/env python3
"""Independent oracle (README): every expected payload and export request of
the vectors must decode with the official OTLP definitions (the Python
`opentelemetry-proto` package, pinned in requirements-dev.txt), leave no
unknown field, and mean the same as ptel's canonical OTLP/JSON:

* scenarios: the spans, open spans and metrics of each expected PluginTelemetry
  (ptel's envelope: field 1 version, 2/4 Span, 3 Metric, 5 DropCounts) against
  the vector's `json`;
* host: each expected ExportTraceServiceRequest / ExportMetricsServiceRequest
  against the C core's rendering of it (ptel-conformance --render).

    python conformance/oracle/check.py [vectors-dir]"""
import base64
import glob
import json
import math
import os
import shutil
import subprocess
import sys

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

try:
    from google.protobuf.unknown_fields import UnknownFieldSet
except ImportError:  # pragma: no cover
    UnknownFieldSet = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ID_KEYS = {"traceId", "spanId", "parentSpanId"}


def unknown_fields(msg, path="") -> list:
    """Paths of unknown fields anywhere in `msg`."""
    found = []
    if UnknownFieldSet is not None and len(UnknownFieldSet(msg)):
        found.append(path or "/")
    for fd, value in msg.ListFields():
        if fd.message_type is None:
            continue
        if getattr(fd, "is_repeated", None) if hasattr(fd, "is_repeated") \
                else fd.label == fd.LABEL_REPEATED:
            for n, m in enumerate(value):
                found += unknown_fields(m, f"{path}/{fd.name}[{n}]")
        else:
            found += unknown_fields(value, f"{path}/{fd.name}")
    return found


def official(msg) -> object:
    """The official message as OTLP/JSON (ids in hex, enums as integers)."""
    d = json_format.MessageToDict(msg, use_integers_for_enums=True)
    return fix_ids(d)


def fix_ids(v):
    if isinstance(v, dict):
        return {k: (base64.b64decode(x).hex() if k in ID_KEYS and isinstance(x, str) else fix_ids(x))
                for k, x in v.items()}
    if isinstance(v, list):
        return [fix_ids(x) for x in v]
    return v


def same(a, b, path="") -> str:
    """'' when equal in meaning, else where they differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}/{k} only on one side"
            d = same(a[k], b[k], f"{path}/{k}")
            if d:
                return d
        return ""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} elements"
        for n, (x, y) in enumerate(zip(a, b)):
            d = same(x, y, f"{path}[{n}]")
            if d:
                return d
        return ""
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        if a == b and math.copysign(1, a) == math.copysign(1, b):
            return ""
        return f"{path}: {a!r} vs {b!r}"
    if a == b and type(a) is type(b):
        return ""
    return f"{path}: {a!r} vs {b!r}"


def canonical(text: str):
    """Parse ptel's JSON keeping the sign of a "-0" (json.loads makes it int 0)."""
    return json.loads(text, parse_int=lambda s: -0.0 if s == "-0" else int(s))


def varint(data, i):
    v = shift = 0
    while True:
        b = data[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def plugin_telemetry(data: bytes):
    """Split ptel's envelope; parse its OTLP parts with the official classes."""
    out, problems = {}, []
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(data, i)
            if field == 1:
                out["protocolVersion"] = v
            continue
        if wt != 2:
            problems.append(f"unexpected wire type {wt} for field {field}")
            break
        n, i = varint(data, i)
        body, i = data[i:i + n], i + n
        if field in (2, 4):
            m = trace_pb2.Span()
            m.ParseFromString(body)
            problems += ["span" + p for p in unknown_fields(m)]
            out.setdefault("spans" if field == 2 else "openSpans", []).append(official(m))
        elif field == 3:
            m = metrics_pb2.Metric()
            m.ParseFromString(body)
            problems += ["metric" + p for p in unknown_fields(m)]
            out.setdefault("metrics", []).append(official(m))
        elif field == 5:
            names = {1: "spans", 2: "metrics", 3: "metricPoints", 4: "errors"}
            d, j = {}, 0
            while j < len(body):
                k, j = varint(body, j)
                v, j = varint(body, j)
                if v:
                    d[names.get(k >> 3, str(k >> 3))] = v
            out["dropped"] = d
    return out, problems


def otlp_parts(data: bytes):
    """(kind, bytes) of each Span and Metric inside a PluginTelemetry."""
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            _, i = varint(data, i)
            continue
        n, i = varint(data, i)
        if field in (2, 4):
            yield "span", data[i:i + n]
        elif field == 3:
            yield "metric", data[i:i + n]
        i += n


# Messages protobuf-c cannot represent, so the C oracle skips them (the Python
# oracle still checks them).
C_ORACLE_LIMITS = {
    "scenarios/values/string_with_nul": "protobuf-c strings are NUL-terminated C strings",
}


def c_oracle(jobs) -> list:
    """The protobuf-c oracle (pbc_build.sh): unpack, no unknown fields, and
    byte-identical re-encoding. Skipped when protoc-c is not installed."""
    build = subprocess.run(["bash", os.path.join(HERE, "pbc_build.sh"), sys.executable,
                            os.path.join(ROOT, "build", "conformance", "pbc")],
                           check=True, capture_output=True, text=True)
    binary = build.stdout.strip()
    if not binary:
        print("oracle: protoc-c or libprotobuf-c missing, C oracle skipped")
        return []
    jobs = [j for j in jobs if j[0].split(" ")[0] not in C_ORACLE_LIMITS]
    stdin = "".join(f"{kind} {hexdata}\n" for _, kind, hexdata in jobs)
    out = subprocess.run([binary], input=stdin, check=True, capture_output=True,
                         text=True).stdout.splitlines()
    if len(out) != len(jobs):
        return [f"C oracle answered {len(out)} lines for {len(jobs)} messages"]
    bad = [f"{name}: protobuf-c: {ans[5:]}" for (name, _, _), ans in zip(jobs, out)
           if ans != "ok"]
    print(f"oracle: {len(jobs)} spans, metrics and requests unpacked and re-packed "
          f"byte for byte by protobuf-c (official descriptors)")
    return bad


def tool_oracles(vectors) -> list:
    """The Go (oracle/go) and Rust (oracle/rust) oracles: the same vectors
    decoded with go.opentelemetry.io/proto/otlp and the opentelemetry-proto
    crate. Each prints its own summary; a toolchain that is not installed is
    skipped with a note."""
    failures = []
    out = os.path.join(ROOT, "build", "conformance")
    os.makedirs(out, exist_ok=True)
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go") else None)
    builds = []
    if go:
        builds.append(("go", [go, "build", "-o", os.path.join(out, "oracle-go"), "./conformance/oracle/go"],
                       os.path.join(out, "oracle-go")))
    else:
        print("oracle: go missing, Go oracle skipped")
    cargo = shutil.which("cargo")
    if cargo:
        # The root target directory: the root workspace's `cargo test` has
        # usually built opentelemetry-proto there already.
        target = os.path.join(ROOT, "target")
        builds.append(("rust", ["env", f"CARGO_TARGET_DIR={target}", cargo, "build", "--quiet",
                                "--locked", "--manifest-path",
                                os.path.join(HERE, "rust", "Cargo.toml")],
                       os.path.join(target, "debug", "ptel-oracle-rust")))
    else:
        print("oracle: cargo missing, Rust oracle skipped")
    for name, cmd, binary in builds:
        b = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if b.returncode:
            failures.append(f"{name} oracle does not build: {b.stderr.strip()}")
            continue
        r = subprocess.run([binary, vectors], capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        if r.returncode:
            failures.append(f"{name} oracle failed (exit {r.returncode}) {r.stderr.strip()}")
    return failures


def main():
    vectors = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "conformance", "vectors")
    failures, checked, c_jobs = [], 0, []
    # Scenarios: the payload against the vector's canonical JSON.
    for path in sorted(glob.glob(os.path.join(vectors, "scenarios", "*.json"))):
        doc = json.load(open(path, encoding="utf-8"))
        for c in doc["cases"]:
            name = f"{doc['group']}/{c['id']}"
            payload = bytes.fromhex(c["expected"]["payload_hex"])
            got, problems = plugin_telemetry(payload)
            c_jobs += [(f"{name} {kind}[{n}]", kind, part.hex())
                       for n, (kind, part) in enumerate(otlp_parts(payload))]
            want = canonical(c["expected"]["json"])
            if "dropped" in want:
                want["dropped"] = {k: v for k, v in want["dropped"].items() if v}
                if not want["dropped"]:
                    del want["dropped"]
            if "dropped" in got and not got["dropped"]:
                del got["dropped"]
            diff = same(got, want)
            for p in problems:
                failures.append(f"{name}: unknown field at {p}")
            if diff:
                failures.append(f"{name}: official decoding differs from the canonical JSON: {diff}")
            checked += 1
    # Host: the export requests against the core's rendering.
    jobs = []
    for path in sorted(glob.glob(os.path.join(vectors, "host", "*.json"))):
        doc = json.load(open(path, encoding="utf-8"))
        for c in doc["cases"]:
            name = f"{doc['group']}/{c['id']}"
            for key, mtype, cls in (("traces_hex", 3, trace_service_pb2.ExportTraceServiceRequest),
                                    ("metrics_hex", 4,
                                     metrics_service_pb2.ExportMetricsServiceRequest)):
                jobs.append((f"{name} {key}", mtype, cls, c["expected"][key]))
                c_jobs.append((f"{name} {key}", "traces" if mtype == 3 else "metrics",
                               c["expected"][key]))
    build = subprocess.run(["bash", os.path.join(ROOT, "conformance/runners/c/run.sh"),
                            "--build-only"], check=True, capture_output=True, text=True)
    binary = build.stdout.strip().splitlines()[-1]
    stdin = "".join(f"{m} {h}\n" for _, m, _, h in jobs)
    rendered = subprocess.run([binary, "--render"], input=stdin, check=True,
                              capture_output=True, text=True).stdout.splitlines()
    for (name, _, cls, hexdata), text in zip(jobs, rendered):
        msg = cls()
        msg.ParseFromString(bytes.fromhex(hexdata))
        for p in unknown_fields(msg):
            failures.append(f"{name}: unknown field at {p}")
        if text.startswith("ERROR"):
            failures.append(f"{name}: the core cannot render it: {text}")
            continue
        diff = same(official(msg), canonical(text))
        if diff:
            failures.append(f"{name}: official decoding differs from the canonical JSON: {diff}")
        checked += 1
    failures += c_oracle(c_jobs)
    failures += tool_oracles(vectors)
    for f in failures:
        print("ORACLE FAIL " + f)
    print(f"oracle: {checked} payloads and requests decoded with opentelemetry-proto, "
          f"{len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
