"""ptel.Exporter: the core's built-in exporters through the binding.

The memory and JSON-lines kinds are compared byte for byte with what the
invocation exports itself; the OTLP/HTTP kind posts to a server this test
starts on loopback."""

from __future__ import annotations

import http.server
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import ptel

from conftest import attrs

RESOURCE = {"service.name": "gateway", "deployment.environment": "test"}
OPTIONS: dict[str, Any] = {"service_name": "gateway",
                           "resource": {"deployment.environment": "test"}}
NO_DROPS = {"queue_full": 0, "rejected": 0, "retries_exhausted": 0, "partial_success": 0,
            "shutdown": 0, "error": 0}


def invocation(plugin: str = "pii_filter") -> ptel.Invocation:
    """An ended invocation with 2 plugin spans and 2 metrics."""
    inv = ptel.Invocation.begin(plugin=plugin, version="1.0.0", hook="tool_pre_invoke")
    rec = ptel.Recorder(inv.context)
    with rec.span("scan", attributes={"pii.count": 2}):
        with rec.span("redact"):
            pass
    rec.counter("pii.detections", "{detection}", value_type=int).add(2, {"pii.kind": "email"})
    rec.histogram("pii.scan.duration", "ms").record(1.5)
    inv.end(rec.finish())
    return inv


def plugin_metrics(request: bytes) -> dict[str, Any]:
    """name -> (kind, [(attributes, value)]) of the plugin scope's metrics."""
    req = ExportMetricsServiceRequest.FromString(request)
    out: dict[str, Any] = {}
    for rm in req.resource_metrics:
        assert attrs(rm.resource.attributes) == RESOURCE
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                points = getattr(m, kind).data_points
                if kind == "histogram":
                    values = [(attrs(p.attributes), (p.count, p.sum)) for p in points]
                else:
                    values = [(attrs(p.attributes), p.as_int or p.as_double) for p in points]
                out[f"{sm.scope.name}/{m.name}"] = (kind, values)
    return out


@pytest.fixture
def memory() -> Iterator[ptel.Exporter]:
    with ptel.Exporter("memory", **OPTIONS) as exporter:
        yield exporter


def test_memory_traces_are_the_invocation_export(memory: ptel.Exporter) -> None:
    assert memory.kind is ptel.ExporterKind.MEMORY
    inv = invocation()
    assert memory.submit(inv) is True
    (request,) = memory.memory(ptel.ExportSignal.TRACES)
    assert request == inv.export_traces(RESOURCE)
    spans = ExportTraceServiceRequest.FromString(request).resource_spans[0].scope_spans
    assert [[s.name for s in ss.spans] for ss in spans] == [["plugin.execute"],
                                                           ["redact", "scan"]]
    s = memory.stats()
    assert (s.invocations, s.traces.requests_submitted, s.traces.items_submitted,
            s.traces.items_sent, s.traces.dropped) == (1, 1, 3, 3, NO_DROPS)
    assert s.dropped == 0 and s.last_http_status == 0
    doc = json.loads(s.to_json())  # the core's rendering of the same snapshot
    assert (doc["invocations"], doc["traces"]["submitted"], doc["traces"]["sent"]) == (1, 3, 3)
    assert doc["traces"]["dropped_by"] == NO_DROPS


def test_memory_metrics_cumulative_with_self_telemetry(memory: ptel.Exporter) -> None:
    for _ in range(2):
        memory.submit(invocation())
    assert memory.memory(ptel.ExportSignal.METRICS) == []  # only on a metric cycle
    assert memory.flush(5000) is True
    (request,) = memory.memory(ptel.ExportSignal.METRICS)
    got = plugin_metrics(request)
    assert got["pii_filter/pii.detections"] == ("sum", [({"pii.kind": "email"}, 4)])
    assert got["pii_filter/pii.scan.duration"] == ("histogram", [({}, (2, 3.0))])
    assert got["ptel/ptel.host.invocations"][1] == [({"plugin.name": "pii_filter"}, 2)]
    memory.memory_clear()
    assert memory.memory(ptel.ExportSignal.TRACES) == []
    s = memory.stats()
    assert s.metrics.requests_submitted == 1 and s.metrics.items_sent == s.metrics.items_submitted


def test_states(memory: ptel.Exporter) -> None:
    inv = ptel.Invocation.begin(plugin="p")
    with pytest.raises(ptel.StateError):
        memory.submit(inv)  # not ended
    inv.end(b"")
    assert memory.submit(inv) is True
    assert memory.shutdown(1000) is True
    assert memory.shutdown(1000) is True  # idempotent
    with pytest.raises(ptel.StateError):
        memory.submit(inv)
    with pytest.raises(ptel.StateError):
        memory.flush()
    memory.close()
    with pytest.raises(ptel.StateError):
        memory.stats()
    memory.close()  # twice is fine


def test_submit_requests(memory: ptel.Exporter) -> None:
    inv = invocation()
    request = inv.export_traces(RESOURCE)
    assert memory.submit_traces(request) is True
    assert memory.submit_traces(b"") is True  # empty: nothing to do
    assert memory.memory(ptel.ExportSignal.TRACES) == [request]
    with pytest.raises((ptel.MalformedError, ptel.TruncatedError)):
        memory.submit_traces(request[:-3])
    with pytest.raises((ptel.MalformedError, ptel.TruncatedError)):
        memory.submit_metrics(b"\x0a\x05ab")
    metrics = inv.export_metrics(RESOURCE)
    assert memory.submit_metrics(metrics) is True
    assert memory.memory(ptel.ExportSignal.METRICS) == [metrics]  # as it is, not aggregated
    s = memory.stats()
    assert (s.traces.requests_submitted, s.traces.items_submitted) == (1, 3)
    assert (s.metrics.requests_submitted, s.metrics.items_submitted) == (1, 2)


def test_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "otlp.jsonl"
    invs = [invocation("a"), invocation("b")]
    with ptel.Exporter("json-lines", path=path, self_telemetry=False, **OPTIONS) as exporter:
        for inv in invs:
            exporter.submit(inv)
        assert exporter.stats().traces.items_sent == 6
    lines = path.read_text().splitlines()
    assert lines[:2] == [ptel.render_json(inv.export_traces(RESOURCE), ptel.JsonMessage.TRACES_DATA)
                         for inv in invs]
    (metrics,) = [json.loads(line) for line in lines[2:]]  # one cycle, at shutdown
    scopes = [sm["scope"]["name"] for sm in metrics["resourceMetrics"][0]["scopeMetrics"]]
    assert scopes == ["a", "b"]
    # appends (its traces, then its metrics at shutdown), and refuses a directory
    with ptel.Exporter("json-lines", path=path, self_telemetry=False, **OPTIONS) as exporter:
        exporter.submit(invs[0])
    appended = path.read_text().splitlines()[3:]
    assert appended[0] == lines[0] and len(appended) == 2
    with pytest.raises(ptel.IoError):
        ptel.Exporter("json-lines", path=tmp_path)


def test_from_env() -> None:
    env = {"OTEL_SERVICE_NAME": "svc", "OTEL_RESOURCE_ATTRIBUTES": "team=core,tier=gold",
           "OTEL_EXPORTER_OTLP_TIMEOUT": "soon"}
    with ptel.Exporter.from_env("memory", env=env) as exporter:
        assert isinstance(exporter.env_error, ptel.PtelValueError)
        assert exporter.env_error.field == ptel.ExporterEnv.TIMEOUT
        exporter.submit(invocation())
        (request,) = exporter.memory()
    resource = ExportTraceServiceRequest.FromString(request).resource_spans[0].resource
    assert attrs(resource.attributes) == {"service.name": "svc", "team": "core", "tier": "gold"}
    # options given next to the environment win over it
    with ptel.Exporter.from_env("memory", env=env, service_name="mine") as exporter:
        exporter.submit(invocation())
        (request,) = exporter.memory()
    resource = ExportTraceServiceRequest.FromString(request).resource_spans[0].resource
    assert attrs(resource.attributes)["service.name"] == "mine"


def test_from_env_kinds() -> None:
    with ptel.Exporter.from_env(env={"OTEL_SDK_DISABLED": "TRUE"}) as exporter:
        assert exporter.kind is ptel.ExporterKind.NONE
        assert exporter.submit(invocation()) is True
        assert exporter.env_error is None
    with ptel.Exporter.from_env(env={}) as exporter:
        assert exporter.kind is ptel.ExporterKind.JSONL
    with ptel.Exporter.from_env(env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"},
                                retry_max_elapsed_ms=0) as exporter:
        assert exporter.kind is ptel.ExporterKind.OTLP_HTTP


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="unknown exporter kind"):
        ptel.Exporter("kafka")
    with pytest.raises(TypeError, match="unknown exporter option"):
        ptel.Exporter("memory", colour="blue")
    with pytest.raises(ptel.InvalidArgumentError):
        ptel.Exporter("otlp-http", endpoint="ftp://127.0.0.1/")
    with pytest.raises(ptel.InvalidArgumentError):
        ptel.Exporter("otlp-http", headers="no-equals-sign")


# ---- OTLP/HTTP against a server of our own ----------------------------------------------------


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self, status: int = 200) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.posts.append((self.path, dict(self.headers.items()), body))
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def test_otlp_http(receiver: Receiver) -> None:
    inv = invocation()
    with ptel.Exporter("otlp-http", endpoint=receiver.url, headers={"x-tenant": "a b"},
                       schedule_delay_ms=10, **OPTIONS) as exporter:
        exporter.submit(inv)
        assert exporter.flush(5000) is True
        s = exporter.stats()
    assert s.last_http_status == 200 and s.dropped == 0
    assert s.traces.items_sent == 3 and s.traces.exports_ok == 1
    traces = [body for path, _, body in receiver.posts if path == "/v1/traces"]
    assert traces == [inv.export_traces(RESOURCE)]
    headers = [h for path, h, _ in receiver.posts if path == "/v1/traces"][0]
    assert headers["x-tenant"] == "a b"
    assert headers["Content-Type"] == "application/x-protobuf"
    metrics = [body for path, _, body in receiver.posts if path == "/v1/metrics"]
    assert plugin_metrics(metrics[0])["pii_filter/pii.detections"] == (
        "sum", [({"pii.kind": "email"}, 2)])


def test_otlp_http_rejected_is_counted() -> None:
    receiver = Receiver(status=400)
    try:
        with ptel.Exporter("otlp-http", endpoint=receiver.url, schedule_delay_ms=10,
                           self_telemetry=False) as exporter:
            exporter.submit(invocation())
            exporter.flush(5000)
            s = exporter.stats()
    finally:
        receiver.stop()
    assert s.last_http_status == 400
    assert s.traces.dropped["rejected"] == 3 and s.traces.exports_failed == 1


def test_clock_stamps_the_metric_cycles() -> None:
    from conftest import TIME_BASE, StepClock

    clock = StepClock()
    with ptel.Exporter("memory", clock=clock) as exporter:
        exporter.submit(invocation())
        exporter.flush(1000)
        (request,) = exporter.memory(ptel.ExportSignal.METRICS)
    req = ExportMetricsServiceRequest.FromString(request)
    times = {getattr(m, m.WhichOneof("data")).data_points[0].time_unix_nano
             for rm in req.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert times == {TIME_BASE}


def test_console_prints_the_cli_trace_tree(tmp_path: Path) -> None:
    """The console kind renders with the core's console renderer: its trace
    tree is what `ptel tree` prints for the same request."""
    import os
    import subprocess

    from conftest import ROOT

    cli = Path(os.environ.get("PTEL_CLI", ROOT / "build" / "bin" / "ptel"))
    if not cli.exists():
        pytest.skip(f"{cli} not built (make build, or set PTEL_CLI)")
    inv = invocation()
    out = tmp_path / "console.txt"
    with out.open("wb") as f:
        with ptel.Exporter("console", fd=f.fileno(), self_telemetry=False, **OPTIONS) as e:
            e.submit(inv)
    text = out.read_text()
    request = tmp_path / "traces.bin"
    request.write_bytes(inv.export_traces(RESOURCE))
    tree = subprocess.run([str(cli), "tree", str(request)], capture_output=True, text=True,
                          check=True).stdout
    assert text.startswith(tree)
    metrics = text[len(tree):]
    assert "pii.detections" in metrics and "pii.scan.duration" in metrics


def test_submit_from_many_threads(memory: ptel.Exporter) -> None:
    invs = [invocation() for _ in range(40)]
    threads = [threading.Thread(target=lambda part=part: [memory.submit(i) for i in part])
               for part in (invs[k::4] for k in range(4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = memory.stats()
    assert (s.invocations, s.traces.items_submitted, s.traces.items_sent) == (40, 120, 120)
    assert sorted(memory.memory()) == sorted(inv.export_traces(RESOURCE) for inv in invs)


# ---- lifetimes under AddressSanitizer ------------------------------------------------------------

STRESS = r'''
import gc, http.server, os, sys, threading, time
import ptel

NULL = os.open(os.devnull, os.O_WRONLY)

class Clock(ptel.Clock):  # called from the exporter's own thread
    def monotonic_ns(self): return time.monotonic_ns()
    def realtime_ns(self): return time.time_ns()

def invocation():
    inv = ptel.Invocation.begin(plugin="p", version="1")
    rec = ptel.Recorder(inv.context)
    with rec.span("s", attributes={"k": "v" * 100}):
        rec.counter("c", value_type=int).add(1, {"a": 1})
    inv.end(rec.finish())
    return inv

class Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(503 if b"retry" in self.path.encode() else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a): pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}"
for i in range(12):
    for kind, opts in (("memory", {}), ("console", {"fd": NULL}),
                       ("otlp-http", {"endpoint": url, "schedule_delay_ms": 1}),
                       ("otlp-http", {"traces_endpoint": url + "/retry", "retry_initial_ms": 1,
                                      "retry_max_ms": 2, "schedule_delay_ms": 1})):
        e = ptel.Exporter(kind, clock=Clock(), resource={"i": i}, **opts)
        for _ in range(3):
            e.submit(invocation())
        e.stats().to_json()
        e.memory()
        if i % 3 == 0:
            e.flush(50)
            e.shutdown(50)
        elif i % 3 == 1:
            e.close()
        del e  # i % 3 == 2: freed by the garbage collector, thread running
        gc.collect()
server.shutdown()
print("exporter stress ok")
'''


@pytest.mark.skipif(os.environ.get("PTEL_PY_SKIP_ASAN") == "1", reason="PTEL_PY_SKIP_ASAN=1")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_exporter_lifetimes_under_asan(tmp_path: Path) -> None:
    """Exporters with a Python clock called from their thread, shut down,
    closed or collected while their thread runs: no use-after-free."""
    import shutil
    import subprocess

    from conftest import ROOT
    from test_asan import runtime

    cc = os.environ.get("CC", "cc")
    asan = runtime(cc, "libasan.so")
    if asan is None:
        pytest.skip(f"{cc} has no shared ASan runtime")
    package = ROOT / "bindings" / "python" / "ptel"
    shutil.copytree(package, tmp_path / "ptel", ignore=shutil.ignore_patterns(
        "*.so", "*.o", "_ptel_cffi.c", "__pycache__"))
    subprocess.run([sys.executable, str(package / "_build.py"), "--out", str(tmp_path / "ptel"),
                    "--tmp", str(tmp_path / "build")], env=dict(os.environ, PTEL_PY_SANITIZE="1",
                                                                CC=cc),
                   check=True, capture_output=True)
    proc = subprocess.run(
        [sys.executable, "-c", STRESS], capture_output=True, text=True, timeout=600,
        env=dict(os.environ, LD_PRELOAD=asan, PYTHONPATH=str(tmp_path), PYTHONMALLOC="malloc",
                 ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
                 UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"))
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert proc.stdout.strip() == "exporter stress ok"
    assert "runtime error" not in proc.stderr  # UBSan reports
