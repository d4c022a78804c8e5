"""The gateway demo end to end: run it, read what it exported (OTLP/JSON
lines) and check the trace trees, the block, the redaction and the
metrics; then the host's handling of subprocess plugins that misbehave.

Needs the built plugins: PTEL_GATEWAY_PLUGINS (examples/gateway/build.sh
output) and PTEL_WASM_DIR (make wasm output); `make test-gateway` sets
them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import ptel

GATEWAY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(GATEWAY))

from chain import handle  # noqa: E402
from runners import SubprocessRunner  # noqa: E402

PLUGINS = Path(os.environ.get("PTEL_GATEWAY_PLUGINS", "build/gateway"))
WASM_DIR = Path(os.environ.get("PTEL_WASM_DIR", "build/wasm"))
CHAIN = ["rate_limiter", "pii_filter", "secrets_detector", "url_reputation"]
EMAIL = "jane.doe@example.com"
SECRET = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e"


def attrs(obj: dict[str, Any]) -> dict[str, Any]:
    """OTLP/JSON attributes as a plain dict (intValue as int)."""
    out = {}
    for kv in obj.get("attributes", []):
        (kind, v), = kv["value"].items()
        out[kv["key"]] = int(v) if kind == "intValue" else v
    return out


def run_gateway(tmp: Path, *extra: str, env: dict[str, str] | None = None
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], str]:
    out = tmp / "out"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACE"))}
    proc = subprocess.run(
        [sys.executable, str(GATEWAY / "gateway.py"), "--plugins", str(PLUGINS),
         "--wasm-dir", str(WASM_DIR), "--out", str(out), "--summary", str(tmp / "s.json"),
         *extra],
        capture_output=True, text=True, check=True, env={**clean, **(env or {})})
    lines = [json.loads(x) for x in (out / "otlp.jsonl").read_text().splitlines()]
    spans = []
    for line in lines:
        for rs in line.get("resourceSpans", []):
            assert attrs(rs["resource"])["service.name"] == "ptel-gateway-demo"
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    spans.append({**s, "scope": ss["scope"]["name"], "attrs": attrs(s)})
    metrics = [m for line in lines if "resourceMetrics" in line for m in [line]]
    summary = json.loads((tmp / "s.json").read_text())
    return spans, metrics, summary, proc.stdout


def points(metric_lines: list[dict[str, Any]]) -> dict[tuple[str, str, str], Any]:
    """The last value of every (scope, metric, attributes) stream: a sum's
    or gauge's value, a histogram's count."""
    out: dict[tuple[str, str, str], Any] = {}
    for line in metric_lines:
        for rm in line["resourceMetrics"]:
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    data = m.get("sum") or m.get("gauge") or m.get("histogram")
                    for p in data["dataPoints"]:
                        key = (sm["scope"]["name"], m["name"],
                               json.dumps(attrs(p), sort_keys=True))
                        if "histogram" in m:
                            out[key] = int(p["count"])
                        else:
                            out[key] = int(p["asInt"]) if "asInt" in p else p["asDouble"]
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return run_gateway(tmp_path_factory.mktemp("gw"))


def test_every_plugin_span_nests_under_its_invocation_under_the_request(demo: Any) -> None:
    spans, _, summary, _ = demo
    by_id = {s["spanId"]: s for s in spans}
    assert len(by_id) == len(spans), "span ids are unique"
    for req in summary:
        trace = [s for s in spans if s["traceId"] == req["trace_id"]]
        roots = [s for s in trace if "parentSpanId" not in s]
        assert [r["name"] for r in roots] == ["gateway.request"]
        root = roots[0]
        assert root["scope"] == "gateway" and root["attrs"]["gateway.request.id"] == req["id"]
        invocations = [s for s in trace if s["name"] == "plugin.execute"]
        assert all(s["parentSpanId"] == root["spanId"] for s in invocations)
        ran = [s["attrs"]["plugin.name"] for s in sorted(invocations,
                                                         key=lambda s: int(s["startTimeUnixNano"]))]
        assert ran == [p["name"] for p in req["plugins"]]
        for s in trace:
            if s["scope"] in ("gateway", "ptel"):
                continue
            # Walk up to the invocation span: it must be this plugin's.
            up = s
            while up["name"] != "plugin.execute":
                up = by_id[up["parentSpanId"]]
            assert up["attrs"]["plugin.name"] == s["scope"]
            assert int(up["startTimeUnixNano"]) <= int(s["startTimeUnixNano"])
        scopes = {s["scope"] for s in trace} - {"gateway", "ptel"}
        assert scopes == set(ran), "every plugin that ran recorded spans"


def test_first_request_is_redacted_and_allowed(demo: Any) -> None:
    spans, _, summary, stdout = demo
    req = summary[0]
    assert req["action"] == "allow" and [p["name"] for p in req["plugins"]] == CHAIN
    assert EMAIL not in req["text"] and "*" * len(EMAIL) in req["text"]
    assert "https://docs.example.com/q3" in req["text"]
    for p in req["plugins"]:
        rep = p["report"]
        assert rep["status"] == "ok" and rep["reasons"] == {}
        assert rep["spans"]["dropped"] == rep["points"]["dropped"] == 0
        assert rep["spans"]["accepted"] >= 1 and rep["points"]["accepted"] >= 2
    detect = next(s for s in spans if s["name"] == "pii_filter.detect"
                  and s["traceId"] == req["trace_id"])
    assert detect["attrs"]["pii.detections"] == 1 and detect["attrs"]["pii.redacted"] is True
    lookups = {s["attrs"]["server.address"]: s["attrs"]["url.reputation"] for s in spans
               if s["name"] == "url_reputation.lookup"}
    assert lookups == {"docs.example.com": "trusted", "bit.ly": "suspicious"}
    assert "allowed; the tool receives:" in stdout and "└─ gateway.request" in stdout


def test_second_request_is_blocked_by_the_secrets_detector(demo: Any) -> None:
    spans, _, summary, stdout = demo
    req = summary[1]
    assert req["action"] == "block" and req["blocked_by"] == "secrets_detector"
    assert req["reason"] == "api_key found in the tool arguments"
    assert [p["name"] for p in req["plugins"]] == CHAIN[:3], "the chain stops at the block"
    trace = [s for s in spans if s["traceId"] == req["trace_id"]]
    root = next(s for s in trace if s["name"] == "gateway.request")
    assert root["status"]["code"] == 2
    assert root["attrs"]["gateway.blocked_by"] == "secrets_detector"
    assert root["attrs"]["error.type"] == "plugin_violation"
    scan = next(s for s in trace if s["name"] == "secrets_detector.scan")
    assert scan["attrs"]["secrets.action"] == "block" and scan["attrs"]["secrets.found"] == 1
    (event,) = scan["events"]
    assert event["name"] == "secret.detected" and attrs(event)["secret.type"] == "api_key"
    assert "BLOCKED by secrets_detector" in stdout


def test_nothing_exported_holds_the_secret_or_the_address(demo: Any, tmp_path: Path) -> None:
    spans, metrics, _, _ = demo
    text = json.dumps(spans) + json.dumps(metrics)
    assert SECRET not in text and EMAIL not in text and "ops@example.com" not in text


def test_metrics_are_aggregated_over_both_requests(demo: Any) -> None:
    _, metrics, _, _ = demo
    p = points(metrics)
    assert p[("rate_limiter", "ratelimit.requests", '{"ratelimit.decision": "allow"}')] == 2
    assert p[("rate_limiter", "ratelimit.tokens", '{"ratelimit.client": "agent-7"}')] == \
        pytest.approx(1, abs=0.01)
    assert p[("pii_filter", "pii.detections", '{"pii.type": "email"}')] == 2
    assert p[("pii_filter", "pii.scan.duration", '{"pii.mode": "redact"}')] == 2
    assert p[("secrets_detector", "secrets.detections", '{"secret.type": "api_key"}')] == 1
    assert p[("secrets_detector", "secrets.requests", '{"secrets.action": "allow"}')] == 1
    assert p[("secrets_detector", "secrets.requests", '{"secrets.action": "block"}')] == 1
    assert p[("secrets_detector", "secrets.scan.duration", "{}")] == 2
    assert p[("url_reputation", "url.checks", '{"url.reputation": "trusted"}')] == 1
    assert p[("url_reputation", "url.checks", '{"url.reputation": "suspicious"}')] == 1
    assert p[("url_reputation", "url.lookup.duration", "{}")] == 2
    assert "pii.detections" in demo[3] and "secrets.requests" in demo[3], "metrics table"


def test_the_exporter_counts_every_plugin_in_its_self_telemetry(demo: Any) -> None:
    spans, metrics, _, stdout = demo
    p = points(metrics)
    for plugin, runs, accepted in (("rate_limiter", 2, 4), ("pii_filter", 2, 4),
                                   ("secrets_detector", 2, 10), ("url_reputation", 1, 3)):
        who = json.dumps({"plugin.name": plugin})
        assert p[("ptel", "ptel.host.invocations", who)] == runs
        assert p[("ptel", "ptel.host.spans.accepted", who)] == accepted
        assert p[("ptel", "ptel.host.spans.dropped", who)] == 0
    assert p[("ptel", "ptel.exporter.items.sent", '{"signal": "traces"}')] == len(spans) == 30
    assert f"{len(spans)} spans and" in stdout and ", 0 dropped" in stdout


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver that keeps what it is sent."""

    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_with_an_endpoint_it_exports_over_otlp_http_instead(tmp_path: Path) -> None:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        spans, _, summary, stdout = run_gateway(tmp_path, "--no-tree", env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
            "OTEL_SERVICE_NAME": "gw-test"})
    finally:
        server.shutdown()
    assert spans == [] and [s["action"] for s in summary] == ["allow", "block"]
    names: list[str] = []
    services: set[str] = set()
    metric_names: set[str] = set()
    for path, body in _Collector.received:
        if path == "/v1/traces":
            t = ExportTraceServiceRequest.FromString(body)
            for rs in t.resource_spans:
                services.update(a.value.string_value for a in rs.resource.attributes
                                if a.key == "service.name")
                names += [s.name for ss in rs.scope_spans for s in ss.spans]
        else:
            assert path == "/v1/metrics"
            m = ExportMetricsServiceRequest.FromString(body)
            metric_names.update(x.name for rm in m.resource_metrics for sm in rm.scope_metrics
                                for x in sm.metrics)
    assert len(names) == 30 and names.count("gateway.request") == 2
    assert names.count("plugin.execute") == 7 and services == {"gw-test"}
    assert {"pii.detections", "secrets.detections", "ptel.host.invocations"} <= metric_names
    assert "exported to http://127.0.0.1:" in stdout and ", 0 dropped" in stdout


def test_a_callers_traceparent_is_continued_and_an_invalid_one_ignored(tmp_path: Path) -> None:
    tid, sid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    spans, _, summary, _ = run_gateway(tmp_path / "a", "--no-tree",
                                       env={"TRACEPARENT": f"00-{tid}-{sid}-01"})
    assert {s["trace_id"] for s in summary} == {tid}
    roots = [s for s in spans if s["name"] == "gateway.request"]
    assert len(roots) == 2 and {r["parentSpanId"] for r in roots} == {sid}
    _, _, summary, _ = run_gateway(tmp_path / "b", "--no-tree",
                                   env={"TRACEPARENT": f"00-{tid}-{'0' * 16}-01"})
    assert tid not in {s["trace_id"] for s in summary}


def test_wasm_build_of_the_pii_filter_redacts_the_same(tmp_path: Path) -> None:
    spans, _, summary, _ = run_gateway(tmp_path, "--pii", "wasm", "--no-tree")
    assert [s["action"] for s in summary] == ["allow", "block"]
    assert "*" * len(EMAIL) in summary[0]["text"] and EMAIL not in summary[0]["text"]
    pii = [s for s in spans if s["name"] == "plugin.execute"
           and s["attrs"]["plugin.name"] == "pii_filter"]
    assert {s["attrs"]["plugin.transport"] for s in pii} == {"wasm"}


def test_rate_limiter_blocks_when_the_bucket_is_empty(tmp_path: Path) -> None:
    limiter = SubprocessRunner([str(PLUGINS / "rate_limiter"), "-state",
                                str(tmp_path / "state.json"), "-capacity", "1", "-refill", "0"],
                               "rate_limiter", "1.0.0", "go")
    request = {"id": "r", "client": "c", "tool": "t", "arguments": {"text": "hi"}}
    first, second = handle(request, [limiter]), handle(request, [limiter])
    assert first.action == "allow"
    assert second.action == "block" and second.reason == "rate limit exceeded for client c"
    (_, inv), = second.invocations
    assert inv.report is not None and inv.report.spans_accepted == 2
    tree = json.loads(inv.to_json("traces"))
    spans = tree["resourceSpans"][0]["scopeSpans"][1]["spans"]
    check = next(s for s in spans if s["name"] == "rate_limiter.check")
    assert attrs(check)["ratelimit.decision"] == "deny"
    assert [e["name"] for e in check["events"]] == ["ratelimit.exceeded"]


def fake(code: str, timeout: float = 10.0) -> SubprocessRunner:
    """A subprocess plugin written inline in Python."""
    return SubprocessRunner([sys.executable, "-c", code], "fake", "0.1", "python", timeout)


REQUEST = {"id": "r", "client": "c", "tool": "t", "arguments": {"text": "x"}}


def answer(obj: dict[str, Any]) -> str:
    """Plugin code that reads the request and prints `obj` as its answer."""
    return f"import json, sys; sys.stdin.read(); print(json.dumps({obj!r}))"


@pytest.mark.parametrize("code,outcome,error_type", [
    ("print('not json')", "error", "protocol"),
    ("print('[1, 2]')", "error", "protocol"),
    (answer({"action": "maybe", "telemetry": ""}), "error", "protocol"),
    (answer({"action": "allow", "telemetry": "@@not base64@@"}), "error", "protocol"),
    (answer({"action": "allow", "telemetry": 5}), "error", "protocol"),
    (answer({"action": "allow", "reason": ["x"], "telemetry": ""}), "error", "protocol"),
    ("import sys; sys.stdout.write('x' * (5 << 20))", "error", "protocol"),
    ("import sys; sys.exit(3)", "crash", "exit.3"),
    ("import time; time.sleep(30)", "timeout", "timeout"),
])
def test_a_misbehaving_subprocess_plugin_fails_closed(code: str, outcome: str,
                                                      error_type: str) -> None:
    done = handle(REQUEST, [fake(code, timeout=1.0)])
    assert done.action == "block" and done.blocked_by == "fake"
    (_, inv), = done.invocations
    span = json.loads(inv.to_json("traces"))["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert attrs(span)["plugin.outcome"] == outcome and attrs(span)["error.type"] == error_type


def test_a_hostile_payload_is_rejected_and_the_answer_still_counts() -> None:
    garbage = "import base64; g = base64.b64encode(b'\\x0a\\xff\\xff\\xff').decode(); "
    code = garbage + "print('{\"action\": \"allow\", \"telemetry\": \"' + g + '\"}')"
    done = handle(REQUEST, [fake(code)])
    assert done.action == "allow"
    (_, inv), = done.invocations
    assert inv.report is not None and inv.report.rejected
    assert inv.report.first_reason == "malformed"


def test_the_carrier_reaches_the_subprocess_and_replaces_inherited_values(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEPARENT", "00-" + "1" * 32 + "-" + "2" * 16 + "-01")
    code = ("import json, os, sys; sys.stdin.read(); "
            "print(json.dumps({'action': 'block', 'reason': os.environ['TRACEPARENT'] + ' ' "
            "+ str(len(os.environ['PTEL_CONTEXT'])), 'telemetry': ''}))")
    done = handle(REQUEST, [fake(code)])
    (_, inv), = done.invocations
    traceparent, ctx_len = done.reason.split()
    assert traceparent == inv.context.traceparent and int(ctx_len) > 0
    parent = ptel.Context.from_env({"TRACEPARENT": traceparent}).parent
    assert (parent.trace_id, parent.span_id) == (inv.span_context.trace_id,
                                                 inv.span_context.span_id)
