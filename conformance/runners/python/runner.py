"""The Python conformance runner: executes conformance/vectors through the
public API of the `ptel` package (Recorder, spans, instruments, Invocation,
Context, SpanContext) and writes the results JSON (conformance/README.md
section 7). Usage: runner.py <vectors-dir> <results.json> [expected-failures.json]"""

from __future__ import annotations

import base64
import json
import math
import sys
import traceback
from pathlib import Path
from typing import Any

import ptel

RUNTIME = "python"
DEFAULT_T = 1_000_000_000_000


class CaseClock(ptel.Clock):
    """README section 2: mono moves only when told; realtime = T + mono."""

    def __init__(self, base: int) -> None:
        self.mono = 0
        self.base = base

    def monotonic_ns(self) -> int:
        return self.mono

    def realtime_ns(self) -> int:
        return self.base + self.mono


class CaseIds(ptel.IdGenerator):
    """README section 2: n-1 zero bytes and then the counter k."""

    def __init__(self) -> None:
        self.k = 0

    def generate(self, n: int) -> bytes:
        self.k = (self.k + 1) & 0xFF
        return bytes(n - 1) + bytes([self.k])


# ---- typed values (README 1.1) ----------------------------------------------

def parse_double(s: str) -> float:
    if s == "NaN":
        return math.nan
    if s == "Infinity":
        return math.inf
    if s == "-Infinity":
        return -math.inf
    return float(s)


def value(v: dict[str, Any]) -> Any:
    (kind, x), = v.items()
    if kind == "string":
        return x
    if kind == "bool":
        return bool(x)
    if kind == "int":
        return int(x)
    if kind == "double":
        return parse_double(x)
    if kind == "bytes_b64":
        return base64.b64decode(x)
    if kind == "array":
        return [value(e) for e in x]
    if kind == "kvlist":
        return {a["key"]: value(a["value"]) for a in x}
    if kind == "empty":
        return None
    raise ValueError(f"unknown typed value {kind}")


def attrs(lst: list[dict[str, Any]] | None) -> list[tuple[str, Any]]:
    return [(a["key"], value(a["value"])) for a in (lst or [])]


def first_diff(a: bytes, b: bytes) -> str:
    n = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    return f"differs at byte {n} (got {len(a)} bytes, want {len(b)})"


class Failure(Exception):
    pass


# ---- scenarios (README 3) ---------------------------------------------------

KINDS = {"unspecified": ptel.SpanKind.UNSPECIFIED, "internal": ptel.SpanKind.INTERNAL,
         "server": ptel.SpanKind.SERVER, "client": ptel.SpanKind.CLIENT,
         "producer": ptel.SpanKind.PRODUCER, "consumer": ptel.SpanKind.CONSUMER}
DECISIONS = {"drop": ptel.Decision.DROP, "record_only": ptel.Decision.RECORD_ONLY,
             "record_and_sample": ptel.Decision.RECORD_AND_SAMPLE}
STATUS = {"unset": ptel.StatusCode.UNSET, "ok": ptel.StatusCode.OK,
          "error": ptel.StatusCode.ERROR}


def limits(d: dict[str, int] | None) -> ptel.Limits:
    return ptel.Limits(**(d or {}))


def exception_of(type_name: str, message: str) -> BaseException:
    """An exception whose ptel type name is `type_name` (a builtins class)."""
    cls = type(type_name, (Exception,), {"__module__": "builtins", "__qualname__": type_name})
    return cls(message) if message else cls()


def run_scenario(case: dict[str, Any]) -> None:
    c = case["context"]
    base = c.get("time_base_unix_nano", DEFAULT_T)
    parent = ptel.SpanContext.from_traceparent(c["traceparent"])
    ctx = ptel.Context.new(trace_id=parent.trace_id, parent_span_id=parent.span_id,
                           trace_flags=parent.trace_flags, is_remote=True,
                           tracestate=c.get("tracestate", ""), baggage=c.get("baggage", ""),
                           decision=DECISIONS[c["decision"]], limits=limits(c.get("limits")),
                           time_base_unix_nano=base, plugin_name=c.get("plugin_name", ""),
                           plugin_version=c.get("plugin_version", ""), hook=c.get("hook", ""))
    clock = CaseClock(base)
    rec = ptel.Recorder(ctx, clock=clock, id_generator=CaseIds())
    refs: dict[str, Any] = {}
    payload: bytes | None = None
    for op in case["ops"]:
        name = op["op"]
        span = refs.get(op["span"]) if "span" in op else None
        if name == "start_span":
            par = refs[op["parent"]] if "parent" in op else None
            refs[op["ref"]] = rec.span(op["name"], kind=KINDS[op.get("kind", "internal")],
                                       parent=par, start_time=op.get("time"))
        elif name == "set_attributes":
            span.set_attributes(attrs(op["attrs"]))
        elif name == "add_event":
            span.add_event(op["name"], attrs(op.get("attrs")) or None, timestamp=op.get("time"))
        elif name == "add_link":
            if "to" in op:
                target: Any = refs[op["to"]]
            else:
                target = ptel.SpanContext(bytes.fromhex(op["trace_id"]),
                                          bytes.fromhex(op["span_id"]),
                                          op.get("trace_flags", 0), False)
            span.add_link(target, attrs(op.get("attrs")) or None,
                          tracestate=op.get("tracestate"))
        elif name == "set_status":
            span.set_status(STATUS[op["code"]], op.get("description"))
        elif name == "record_exception":
            span.record_exception(exception_of(op["type"], op.get("message", "")),
                                  timestamp=op.get("time"))
        elif name == "update_name":
            span.update_name(op["name"])
        elif name == "end_span":
            span.end(op.get("time"))
        elif name == "advance":
            clock.mono += op["ns"]
        elif name == "metric":
            kind = op["kind"]
            vt = int if op["number_type"] == "int" else float
            args = (op["name"], op.get("unit", ""), op.get("description", ""))
            if kind == "counter":
                refs[op["ref"]] = rec.counter(*args, value_type=vt)
            elif kind == "updown_counter":
                refs[op["ref"]] = rec.up_down_counter(*args, value_type=vt)
            elif kind == "gauge":
                refs[op["ref"]] = rec.gauge(*args, value_type=vt)
            else:
                refs[op["ref"]] = rec.histogram(*args, value_type=vt, bounds=op.get("bounds"))
        elif name == "record":
            inst = refs[op["metric"]]
            v = op["value"]
            x: Any = int(v["int"]) if "int" in v else parse_double(v["double"])
            a = attrs(op.get("attrs")) or None
            kw = {"span": refs[op["span"]]} if "span" in op else {}
            if isinstance(inst, ptel.Histogram):
                inst.record(x, a, **kw)
            elif isinstance(inst, ptel.Gauge):
                inst.set(x, a, **kw)
            else:
                inst.add(x, a, **kw)
        elif name == "finish":
            payload = rec.finish()
        else:
            raise Failure(f"unknown op {name}")
    want = bytes.fromhex(case["expected"]["payload_hex"])
    if payload != want:
        raise Failure("payload " + first_diff(payload or b"", want))
    got_json = ptel.render_json(payload, ptel.JsonMessage.PLUGIN_TELEMETRY) if payload else ""
    if got_json != case["expected"]["json"]:
        raise Failure("json differs")


# ---- host (README 4) ----------------------------------------------------------

OUTCOMES = {"ok": ptel.Outcome.OK, "error": ptel.Outcome.ERROR,
            "timeout": ptel.Outcome.TIMEOUT, "crash": ptel.Outcome.CRASH}
TIME_POLICIES = {"clamp": ptel.TimePolicy.CLAMP, "reject": ptel.TimePolicy.REJECT}


def run_host(case: dict[str, Any]) -> None:
    inv_o = case["invocation"]
    base = inv_o.get("time_base_unix_nano", DEFAULT_T)
    clock = CaseClock(base)
    p = inv_o.get("parent")
    parent = None
    if p:
        parent = ptel.SpanContext(bytes.fromhex(p["trace_id"]), bytes.fromhex(p["span_id"]),
                                  p.get("trace_flags", 0), True)  # remote, as the C runner
    pol = inv_o.get("policy")
    policy = None
    if pol is not None:
        policy = ptel.HostPolicy(limits=limits(pol.get("limits")),
                                 time_slack_ns=pol.get("time_slack_ns"),
                                 time_policy=TIME_POLICIES[pol.get("time_policy", "clamp")],
                                 reserved_keys=pol.get("reserved_keys"),
                                 accept_record_only=pol.get("accept_record_only", False))
    sid = bytes.fromhex(inv_o["span_id"]) if inv_o.get("span_id") else None
    if sid is not None and not any(sid):
        sid = None
    inv = ptel.Invocation.begin(
        parent, plugin=inv_o.get("plugin_name", ""), version=inv_o.get("plugin_version", ""),
        hook=inv_o.get("hook", ""), decision=DECISIONS[inv_o.get("decision", "record_and_sample")],
        policy=policy, tracestate=inv_o.get("tracestate", ""), baggage=inv_o.get("baggage", ""),
        span_name=inv_o.get("span_name", ""), span_id=sid,
        start_time=inv_o.get("start_unix_nano", base), features=inv_o.get("features", 0),
        context_is_remote=inv_o.get("context_is_remote", False),
        attributes=dict(attrs(inv_o.get("attrs"))) or None,
        clock=clock, id_generator=CaseIds())
    clock.mono = inv_o.get("duration_ns", 1_000_000)
    exp = case["expected"]
    try:
        report = inv.end(bytes.fromhex(case.get("payload_hex", "")),
                         outcome=OUTCOMES[case.get("outcome", "ok")],
                         error_type=case.get("error_type") or None)
        status = "E_REJECTED" if report.rejected else "OK"
    except ptel.PtelError as e:
        status = str(e.name).removeprefix("PTEL_")
        report = None
    if status != exp["status"]:
        raise Failure(f"status {status}, want {exp['status']}")
    if report is not None and "report" in exp:
        got = json.loads(report.to_json())
        if got != exp["report"]:
            raise Failure(f"report {json.dumps(got, sort_keys=True)}")
    e = case.get("export", {})
    opts = dict(resource=dict(attrs(e.get("resource", [
        {"key": "service.name", "value": {"string": "conformance"}}]))),
        scope_name=e.get("host_scope_name", "ptel"),
        scope_version=e.get("host_scope_version", "conformance"),
        include_invocation_span=e.get("include_invocation_span", True))
    if "traces_hex" in exp:
        got_t = inv.export_traces(**opts)
        if got_t != bytes.fromhex(exp["traces_hex"]):
            raise Failure("traces " + first_diff(got_t, bytes.fromhex(exp["traces_hex"])))
    if "metrics_hex" in exp:
        got_m = inv.export_metrics(**opts)
        if got_m != bytes.fromhex(exp["metrics_hex"]):
            raise Failure("metrics " + first_diff(got_m, bytes.fromhex(exp["metrics_hex"])))


# ---- W3C (README 5) -------------------------------------------------------------

TP_OK = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def run_w3c(case: dict[str, Any]) -> None:
    if "input_hex" in case:
        try:
            text = bytes.fromhex(case["input_hex"]).decode("utf-8")
        except UnicodeDecodeError:
            raise Failure("the ptel header functions take str: non-UTF-8 input cannot be passed")
    else:
        text = case["input"]
    exp = case["expected"]
    header = case["header"]
    if header == "traceparent":
        try:
            sc = ptel.SpanContext.from_traceparent(text)
        except ptel.PtelError:
            if exp["valid"]:
                raise Failure("refused a valid traceparent")
            return
        if not exp["valid"]:
            raise Failure("accepted an invalid traceparent")
        got = (sc.trace_id.hex(), sc.span_id.hex(), sc.trace_flags)
        want = (exp["trace_id"], exp["parent_id"], exp["trace_flags"])
        if got != want:
            raise Failure(f"parsed {got}, want {want}")
        if exp.get("version", 0) != 0:
            raise Failure("SpanContext does not expose the traceparent version")
        return
    # tracestate and baggage: the Context carrier normalises them and drops
    # an invalid header (W3C: an invalid tracestate/baggage is discarded).
    try:
        if header == "tracestate":
            ctx = ptel.Context.from_traceparent(TP_OK, text, None)
            got_s = ctx.tracestate
        else:
            ctx = ptel.Context.from_traceparent(TP_OK, None, text)
            got_s = ctx.baggage
    except ptel.PtelError:
        got_s = ""
    want_s = exp.get("normalized", "") if exp["valid"] else ""
    if got_s != want_s:
        raise Failure(f"normalized {got_s!r}, want {want_s!r}")


# ---- driver -------------------------------------------------------------------

def main() -> int:
    vectors = Path(sys.argv[1])
    out = Path(sys.argv[2])
    xf_path = Path(sys.argv[3]) if len(sys.argv) > 3 else \
        Path(__file__).resolve().parents[2] / "expected-failures" / f"{RUNTIME}.json"
    xfail: dict[str, str] = {}
    if xf_path.exists():
        xfail = {e["case"]: e["reason"] for e in json.loads(xf_path.read_text())["entries"]}
    columns: dict[str, dict[str, int]] = {}
    failures: list[dict[str, str]] = []
    seen: set[str] = set()
    runners = {"scenarios": run_scenario, "host": run_host, "w3c": run_w3c}
    for f in sorted(vectors.rglob("*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        group = doc["group"]
        fn = runners.get(group.split("/")[0])
        if fn is None:
            continue
        counts = columns.setdefault(group, {"passed": 0, "expected_fail": 0, "failed": 0})
        for case in doc["cases"]:
            name = f"{group}/{case['id']}"
            seen.add(name)
            try:
                fn(case)
                detail = None
            except Failure as e:
                detail = str(e)
            except Exception as e:  # a runner or binding crash is a failure too
                detail = f"{type(e).__name__}: {e} @ {traceback.format_exc(limit=-1).strip()}"
            if name in xfail:
                if detail is None:
                    counts["failed"] += 1
                    failures.append({"column": RUNTIME, "case": name,
                                     "detail": "listed as expected failure but passed"})
                else:
                    counts["expected_fail"] += 1
            elif detail is None:
                counts["passed"] += 1
            else:
                counts["failed"] += 1
                failures.append({"column": RUNTIME, "case": name, "detail": detail})
    for name in sorted(set(xfail) - seen):
        group = name.rsplit("/", 1)[0]
        columns.setdefault(group, {"passed": 0, "expected_fail": 0, "failed": 0})["failed"] += 1
        failures.append({"column": RUNTIME, "case": name,
                         "detail": "expected-failure entry names no case"})
    out.write_text(json.dumps({"format": "ptel-conformance-results/1",
                               "columns": {RUNTIME: columns}, "failures": failures},
                              indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
