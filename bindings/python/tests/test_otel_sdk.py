"""ptel.otel_sdk: plugin telemetry into the host's opentelemetry-sdk.

Spans are compared field by field with what the core exports for the same
invocation: the SDK's own OTLP encoder (opentelemetry-exporter-otlp-proto-
common) re-encodes the SDK spans the processors got, and the result must
equal ptel's ExportTraceServiceRequest except for what the SDK model does
not carry (documented in ptel/otel_sdk.py)."""

from __future__ import annotations

import importlib.util
import math
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.context import Context as OtelContext
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    InMemoryMetricReader,
    Metric,
    MetricsData,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Decision, Sampler, SamplingResult

import ptel
from ptel.otel_sdk import SdkAdapter, replay_histogram

from conftest import ROOT, make_context

RESOURCE = Resource.create({"service.name": "gateway", "deployment.environment": "test"})
DEFAULT_BOUNDS = [0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0,
                  5000.0, 7500.0, 10000.0]


class Host:
    """A host SDK with in-memory span exporter and metric reader."""

    def __init__(self, sampler: Sampler | None = None) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(resource=RESOURCE, sampler=sampler,
                                              shutdown_on_exit=False)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(resource=RESOURCE, metric_readers=[self.reader],
                                            shutdown_on_exit=False)
        self.adapter = SdkAdapter(self.tracer_provider, self.meter_provider)

    def span(self, name: str) -> ReadableSpan:
        (found,) = [s for s in self.spans.get_finished_spans() if s.name == name]
        return found

    def metrics(self) -> dict[str, Metric]:
        data = self.reader.get_metrics_data()
        if data is None:
            return {}
        assert isinstance(data, MetricsData)
        (rm,) = data.resource_metrics
        assert rm.resource is RESOURCE
        return {m.name: m for sm in rm.scope_metrics for m in sm.metrics
                if sm.scope.name != "ptel"}


@pytest.fixture
def host() -> Iterator[Host]:
    h = Host()
    yield h
    h.tracer_provider.shutdown()
    h.meter_provider.shutdown()


def load_demo() -> Any:
    path = ROOT / "examples" / "adapters" / "python" / "adapter_demo.py"
    spec = importlib.util.spec_from_file_location("adapter_demo", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def canonical(span: trace_pb2.Span) -> trace_pb2.Span:
    """What the SDK's encoder can write of a span: the flags' trace-flag
    byte is not written (only the is-remote bits), nor an UNSET status."""
    out = trace_pb2.Span()
    out.CopyFrom(span)
    out.flags = span.flags & 0x300
    for link in out.links:
        link.flags &= 0x300
    if not out.status.code and not out.status.message:
        out.ClearField("status")
    return out


def sdk_request(spans: Sequence[ReadableSpan]) -> dict[bytes, trace_pb2.Span]:
    req = encode_spans(spans)
    return {s.span_id: canonical(s) for rs in req.resource_spans for ss in rs.scope_spans
            for s in ss.spans}


def ptel_request(inv: ptel.Invocation) -> dict[bytes, tuple[trace_pb2.Span, Any]]:
    req = ExportTraceServiceRequest.FromString(inv.export_traces(include_invocation_span=True))
    return {s.span_id: (canonical(s), ss.scope) for rs in req.resource_spans
            for ss in rs.scope_spans for s in ss.spans}


# ---- the contract-2 flow ---------------------------------------------------------------


def test_demo_flow_spans(host: Host) -> None:
    demo = load_demo()
    trace_id, report = demo.run(host.tracer_provider, host.meter_provider)
    assert report.spans_accepted == 2 and report.metrics_accepted == 4 and not report.reasons
    finished = host.spans.get_finished_spans()
    # children end before their parents, as with native spans
    assert [s.name for s in finished] == ["pii_filter.redact", "pii_filter.scan",
                                          "plugin.execute", "gateway.request"]
    request, invocation = host.span("gateway.request"), host.span("plugin.execute")
    scan, redact = host.span("pii_filter.scan"), host.span("pii_filter.redact")
    assert f"{request.context.trace_id:032x}" == trace_id
    assert {s.context.trace_id for s in finished} == {request.context.trace_id}
    assert request.parent is None and request.kind is otel_trace.SpanKind.SERVER
    assert invocation.parent.span_id == request.context.span_id
    assert scan.parent.span_id == invocation.context.span_id
    assert redact.parent.span_id == scan.context.span_id
    assert scan.kind is redact.kind is otel_trace.SpanKind.INTERNAL
    assert dict(scan.attributes) == {"pii.count": 2}
    assert [(e.name, dict(e.attributes)) for e in redact.events] == [
        ("pii.detected", {"pii.kind": "email"})]
    for s in (scan, redact):
        assert (s.instrumentation_scope.name, s.instrumentation_scope.version) == (
            "pii_filter", "1.0.0")
        assert s.resource is RESOURCE
        assert s.context.trace_flags.sampled
        assert invocation.start_time <= s.start_time <= s.end_time <= invocation.end_time
    assert invocation.instrumentation_scope.name == "ptel"
    assert dict(invocation.attributes) == {
        "plugin.name": "pii_filter", "plugin.hook": "tool_pre_invoke",
        "plugin.version": "1.0.0", "plugin.outcome": "ok"}
    assert invocation.status.status_code is otel_trace.StatusCode.UNSET


def test_demo_flow_metrics(host: Host) -> None:
    load_demo().run(host.tracer_provider, host.meter_provider)
    data = host.reader.get_metrics_data()
    assert isinstance(data, MetricsData)
    (rm,) = data.resource_metrics
    (sm,) = rm.scope_metrics
    assert (sm.scope.name, sm.scope.version) == ("pii_filter", "1.0.0")
    got = {m.name: m for m in sm.metrics}
    assert list(got) == ["pii.detections", "pii.inflight", "pii.buffer.size",
                         "pii.scan.duration"]
    det = got["pii.detections"]
    assert (det.unit, det.data.is_monotonic) == ("{detection}", True)
    assert [(dict(p.attributes), p.value, type(p.value)) for p in det.data.data_points] == [
        ({"pii.kind": "email"}, 2, int)]
    inflight = got["pii.inflight"]
    assert (inflight.unit, inflight.data.is_monotonic) == ("{request}", False)
    assert [(dict(p.attributes), p.value) for p in inflight.data.data_points] == [({}, 1)]
    buf = got["pii.buffer.size"]
    assert buf.unit == "By"
    assert [(p.value, type(p.value)) for p in buf.data.data_points] == [(128, int)]
    dur = got["pii.scan.duration"]
    assert dur.unit == "ms" and isinstance(dur.data, Histogram)
    (p,) = dur.data.data_points
    assert (p.count, p.sum, p.min, p.max) == (2, 8.5, 1.5, 7.0)
    assert list(p.explicit_bounds) == DEFAULT_BOUNDS
    assert list(p.bucket_counts) == [0, 1, 1] + [0] * 13


# ---- spans: every field ------------------------------------------------------------------


ALL_TYPES: dict[str, Any] = {
    "s": "text", "b": True, "i": -7, "f": 0.25, "bytes": b"\x00\xff", "none": None,
    "list": ["a", 1, 2.5, False, b"x"], "map": {"k": "v", "n": {"deep": [1, 2]}},
    "empty_list": [], "big": 2**70, "nan": math.nan, "inf": -math.inf,
}


def rich_plugin(ctx_bytes: bytes) -> bytes:
    rec = ptel.Recorder(ptel.Context.from_bytes(ctx_bytes))
    other = ptel.SpanContext(bytes(range(1, 17)), bytes(range(1, 9)), 1, True)
    with rec.span("client.call", kind=ptel.SpanKind.CLIENT, attributes=ALL_TYPES) as span:
        span.add_event("with.attrs", {"e": 1, "x": ["y"]})
        span.add_event("bare")
        span.add_link(other, {"link.kind": "follows"})
        for i in range(5):  # beyond the attribute limit of 16: counted as dropped
            span.set_attributes({f"extra.{j}.{i}": j for j in range(4)})
        span.set_status(ptel.StatusCode.ERROR, "it broke")
        with rec.span("server.side", kind=ptel.SpanKind.SERVER):
            pass
    for kind in (ptel.SpanKind.PRODUCER, ptel.SpanKind.CONSUMER):
        with rec.span(f"kind.{int(kind)}", kind=kind) as s:
            s.set_status(ptel.StatusCode.OK)
    return rec.finish()


def test_spans_equal_the_core_export(host: Host) -> None:
    policy = ptel.HostPolicy(limits=ptel.Limits(attribute_count=16))
    adapter = SdkAdapter(host.tracer_provider, host.meter_provider, policy=policy)
    inv = adapter.begin("rich", "2.0", "hook", attributes={"plugin.mode": "sequential"})
    report = inv.end(rich_plugin(inv.context.to_bytes()))
    assert report.spans_accepted == 4
    sdk = sdk_request(host.spans.get_finished_spans())
    core = ptel_request(inv.invocation)
    assert set(sdk) == set(core)
    for span_id, (span, scope) in core.items():
        assert sdk[span_id] == span, span.name
        got = [s for s in host.spans.get_finished_spans()
               if s.context.span_id == int.from_bytes(span_id, "big")][0]
        assert got.instrumentation_scope.name == scope.name
        assert (got.instrumentation_scope.version or "") == scope.version
    client = [s for s, _ in core.values() if s.name == "client.call"][0]
    # the fixture really exercises what it claims
    assert client.dropped_attributes_count > 0 and len(client.attributes) == 16
    assert client.status.message == "it broke" and len(client.links) == 1
    assert {s.kind for s, _ in core.values()} == {1, 2, 3, 4, 5}  # 1: the invocation


def test_dropped_counts_and_limits(host: Host) -> None:
    policy = ptel.HostPolicy(limits=ptel.Limits(event_count=1, link_count=1,
                                                attributes_per_event=1))

    def plugin(ctx_bytes: bytes) -> bytes:
        rec = ptel.Recorder(ptel.Context.from_bytes(ctx_bytes))
        with rec.span("busy") as span:
            for i in range(3):
                span.add_event(f"e{i}", {"a": 1, "b": 2})
                span.add_link(ptel.SpanContext(bytes([i + 1]) * 16, bytes([i + 1]) * 8, 1))
        return rec.finish()

    adapter = SdkAdapter(host.tracer_provider, host.meter_provider, policy=policy)
    inv = adapter.begin("p")
    inv.end(plugin(inv.context.to_bytes()))
    busy = host.span("busy")
    assert (len(busy.events), busy.dropped_events) == (1, 2)
    assert (len(busy.links), busy.dropped_links) == (1, 2)
    assert busy.events[0].dropped_attributes == 1
    (core, _), = [v for v in ptel_request(inv.invocation).values() if v[0].name == "busy"]
    assert sdk_request([busy])[core.span_id] == core


# ---- sampling decisions ------------------------------------------------------------------


class RecordOnly(Sampler):
    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        return SamplingResult(Decision.RECORD_ONLY)

    def get_description(self) -> str:
        return "RecordOnly"


class Collect(SpanProcessor):
    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


def test_record_only_reaches_processors_unsampled() -> None:
    h = Host(sampler=RecordOnly())
    collect = Collect()
    h.tracer_provider.add_span_processor(collect)
    inv = h.adapter.begin("p", "1", "h")
    assert inv.context.decision == ptel.Decision.RECORD_ONLY
    inv.end(load_demo().plugin(inv.context.to_bytes()))
    assert [s.name for s in collect.ended] == ["pii_filter.redact", "pii_filter.scan",
                                               "plugin.execute"]
    assert not any(s.context.trace_flags.sampled for s in collect.ended)
    assert h.spans.get_finished_spans() == ()  # exporters want sampled spans only


def test_drop_decision_keeps_metrics() -> None:
    h = Host(sampler=ALWAYS_OFF)
    inv = h.adapter.begin("pii_filter", "1.0.0")
    assert inv.context.decision == ptel.Decision.DROP
    report = inv.end(load_demo().plugin(inv.context.to_bytes()))
    assert report.spans_accepted == 0 and report.metrics_accepted == 4
    assert h.spans.get_finished_spans() == ()
    assert h.metrics()["pii.detections"].data.data_points[0].value == 2


# ---- parents, context manager, hostile payloads -----------------------------------------------


def test_root_invocation_and_explicit_context(host: Host) -> None:
    inv = host.adapter.begin("p", context=OtelContext())
    inv.end(load_demo().plugin(inv.context.to_bytes()))
    invocation, scan = host.span("plugin.execute"), host.span("pii_filter.scan")
    assert invocation.parent is None
    assert scan.parent.span_id == invocation.context.span_id
    assert inv.context.trace_id == invocation.context.trace_id.to_bytes(16, "big")


def test_context_manager_ends_on_exception(host: Host) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with host.adapter.begin("p") as inv:
            current = otel_trace.get_current_span().get_span_context()
            assert current.span_id == inv.span.get_span_context().span_id
            raise Boom
    assert inv.report is not None and inv.report.spans_accepted == 0
    span = host.span("plugin.execute")
    assert span.status.status_code is otel_trace.StatusCode.ERROR
    assert span.attributes["plugin.outcome"] == "error"
    assert span.attributes["error.type"] == Boom.__qualname__
    with pytest.raises(ptel.StateError):
        inv.end(b"")


def test_hostile_payload_never_raises(host: Host) -> None:
    for payload in (b"\xff" * 40, b"\x08\x01\x12\x05abc", bytes(range(256))):
        inv = host.adapter.begin("p")
        report = inv.end(payload)
        assert report.rejected and report.spans_accepted == 0
    # spans of another trace (a forged or replayed payload) never reach the SDK
    inv = host.adapter.begin("p")
    rec = ptel.Recorder(make_context())
    with rec.span("forged"):
        pass
    report = inv.end(rec.finish())
    assert report.reasons == {"trace_id_mismatch": 1} and report.spans_accepted == 0
    assert [s.name for s in host.spans.get_finished_spans()] == ["plugin.execute"] * 4
    assert host.adapter.stats.spans == 0


def test_needs_sdk_tracer_provider() -> None:
    with pytest.raises(TypeError, match="TracerProvider"):
        SdkAdapter(otel_trace.NoOpTracerProvider())


# ---- metrics: exemplars, accumulation, histograms ----------------------------------------------


def test_exemplar_keeps_plugin_span_ids(host: Host) -> None:
    inv = host.adapter.begin("p")
    rec = ptel.Recorder(inv.context)
    with rec.span("work") as span:
        rec.counter("hits", value_type=int).add(3)
        span_id = span.get_span_context().span_id
    rec.counter("misses", value_type=int).add(1)
    inv.end(rec.finish())
    metrics = host.metrics()
    (p,) = metrics["hits"].data.data_points
    (ex,) = p.exemplars
    assert ex.span_id == int.from_bytes(span_id, "big") and ex.value == 3
    (p,) = metrics["misses"].data.data_points
    assert p.exemplars == []


def test_cumulative_and_delta_readers() -> None:
    from opentelemetry.sdk.metrics import Counter

    cumulative = InMemoryMetricReader()
    delta = InMemoryMetricReader(preferred_temporality={Counter: AggregationTemporality.DELTA})
    h = Host()
    mp = MeterProvider(resource=RESOURCE, metric_readers=[cumulative, delta],
                       shutdown_on_exit=False)
    adapter = SdkAdapter(h.tracer_provider, mp)
    demo = load_demo()

    def invoke() -> None:
        inv = adapter.begin("pii_filter", "1.0.0")
        inv.end(demo.plugin(inv.context.to_bytes()))

    def read(reader: InMemoryMetricReader) -> dict[str, Metric]:
        data = reader.get_metrics_data()
        assert data is not None
        return {m.name: m for sm in data.resource_metrics[0].scope_metrics for m in sm.metrics}

    for _ in range(3):
        invoke()
    cum = read(cumulative)
    assert cum["pii.detections"].data.data_points[0].value == 6
    assert cum["pii.inflight"].data.data_points[0].value == 3
    assert cum["pii.buffer.size"].data.data_points[0].value == 128
    (p,) = cum["pii.scan.duration"].data.data_points
    assert (p.count, p.sum, p.min, p.max) == (6, 25.5, 1.5, 7.0)
    d = read(delta)["pii.detections"].data
    assert d.aggregation_temporality is AggregationTemporality.DELTA
    assert d.data_points[0].value == 6
    invoke()
    assert read(delta)["pii.detections"].data.data_points[0].value == 2
    assert read(cumulative)["pii.detections"].data.data_points[0].value == 8
    mp.shutdown()
    h.tracer_provider.shutdown()


def test_histogram_points_with_many_values(host: Host) -> None:
    values = [0.5, 3.0, 4.0, 12.5, 12.5, 80.0, 99.0, 3000.0, 20000.0]
    inv = host.adapter.begin("p")
    rec = ptel.Recorder(inv.context)
    h = rec.histogram("latency", "ms")
    for v in values:
        h.record(v, {"route": "a"})
    custom = rec.histogram("sizes", "By", value_type=int, bounds=[10, 100])
    for v in (1, 50, 60, 500):
        custom.record(v)
    inv.end(rec.finish())
    got = host.metrics()
    (p,) = got["latency"].data.data_points
    assert dict(p.attributes) == {"route": "a"}
    assert (p.count, p.sum, p.min, p.max) == (len(values), sum(values), 0.5, 20000.0)
    assert list(p.bucket_counts) == [0, 3, 0, 2, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 1]
    (q,) = got["sizes"].data.data_points
    assert list(q.explicit_bounds) == [10, 100]
    assert (q.count, q.sum, q.min, q.max, list(q.bucket_counts)) == (4, 611, 1, 500, [1, 2, 1])
    assert host.adapter.stats.histogram_points_synthetic == 2
    assert host.adapter.stats.histogram_points_skipped == 0


def _aggregate(values: Sequence[float], bounds: Sequence[float]) -> tuple[Any, ...]:
    from bisect import bisect_left

    buckets = [0] * (len(bounds) + 1)
    s: float = 0
    for v in values:
        buckets[bisect_left(bounds, v)] += 1
        s += v
    return len(values), s, bounds, buckets, min(values), max(values)


def test_replay_histogram_determined_values() -> None:
    assert replay_histogram(*_aggregate([3.25], DEFAULT_BOUNDS)) == [3.25]
    assert replay_histogram(*_aggregate([7.0, 1.5], DEFAULT_BOUNDS)) == [1.5, 7.0]
    assert replay_histogram(*_aggregate([4.0] * 5, DEFAULT_BOUNDS)) == [4.0] * 5


def test_replay_histogram_reproduces_random_aggregates() -> None:
    rng = random.Random(7)
    for _ in range(500):
        n = rng.randint(3, 40)
        values = [rng.choice([rng.uniform(-50, 12000), float(rng.randint(0, 100)), 0.1, 1e-9])
                  for _ in range(n)]
        agg = _aggregate(values, DEFAULT_BOUNDS)
        got = replay_histogram(*agg)
        assert got is not None, values
        assert _aggregate(got, DEFAULT_BOUNDS) == agg


def test_replay_histogram_refuses_what_cannot_be() -> None:
    b = [0.0, 10.0]
    assert replay_histogram(0, 0.0, b, [0, 0, 0], 0.0, 0.0) is None  # empty
    assert replay_histogram(2, 5.0, b, [0, 1], 1.0, 4.0) is None  # bucket count length
    assert replay_histogram(2, 6.0, b, [0, 2, 0], 1.0, 4.0) is None  # 1 + 4 != 6
    assert replay_histogram(3, 30.0, b, [0, 3, 0], 1.0, 4.0) is None  # sum out of reach
    assert replay_histogram(3, 6.0, b, [0, 1, 2], 1.0, 4.0) is None  # max not in bucket 2
    assert replay_histogram(1, math.nan, b, [0, 1, 0], 1.0, 1.0) is None
    assert replay_histogram(2, 5.0, b, [0, 2, 0], 4.0, 1.0) is None  # min > max


def test_unreplayable_histogram_is_counted(host: Host) -> None:
    """A hand-made payload whose histogram point has no min/max."""
    inv = host.adapter.begin("p")
    rec = ptel.Recorder(inv.context)
    rec.histogram("h").record(2.0)
    payload = rec.finish()
    inv.end(strip_min_max(payload))
    assert host.adapter.stats.histogram_points_skipped == 1
    assert "h" not in host.metrics()


def strip_min_max(payload: bytes) -> bytes:
    """Re-encode a PluginTelemetry with min and max cleared from every
    histogram point (field 3 holds the metrics)."""
    from conftest import fields_of
    from opentelemetry.proto.metrics.v1 import metrics_pb2

    out = bytearray()
    for num, value in fields_of(payload):
        if num == 3:
            m = metrics_pb2.Metric.FromString(value)
            for p in m.histogram.data_points:
                p.ClearField("min")
                p.ClearField("max")
            value = m.SerializeToString()
        if isinstance(value, int):
            out += bytes([num << 3]) + _varint(value)
        else:
            out += bytes([num << 3 | 2]) + _varint(len(value)) + value
    return bytes(out)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def test_demo_program_exports_over_otlp_http() -> None:
    """The example as the collector test runs it, against a loopback
    receiver: exit 0, one trace_id line, every span and metric posted."""
    import os
    import subprocess
    import sys

    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    from test_exporter import Receiver

    receiver = Receiver()
    try:
        env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
                   OTEL_SERVICE_NAME="adapter-demo")
        run = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "adapters" / "python" / "adapter_demo.py")],
            env=env, capture_output=True, text=True, timeout=60)
    finally:
        receiver.stop()
    assert run.returncode == 0, run.stderr
    (line,) = run.stdout.splitlines()
    assert line.startswith("trace_id=") and len(line) == 9 + 32
    spans = [(ss.scope.name, s.name, s.trace_id.hex())
             for path, _, body in receiver.posts if path == "/v1/traces"
             for rs in ExportTraceServiceRequest.FromString(body).resource_spans
             for ss in rs.scope_spans for s in ss.spans]
    names = {kv.value.string_value for path, _, body in receiver.posts if path == "/v1/traces"
             for rs in ExportTraceServiceRequest.FromString(body).resource_spans
             for kv in rs.resource.attributes if kv.key == "service.name"}
    assert names == {"adapter-demo"}
    assert sorted(spans) == sorted([("pii_filter", "pii_filter.redact", line[9:]),
                                    ("pii_filter", "pii_filter.scan", line[9:]),
                                    ("ptel", "plugin.execute", line[9:]),
                                    ("gateway", "gateway.request", line[9:])])
    metrics = [(sm.scope.name, m.name) for path, _, body in receiver.posts
               if path == "/v1/metrics"
               for rm in ExportMetricsServiceRequest.FromString(body).resource_metrics
               for sm in rm.scope_metrics for m in sm.metrics]
    assert metrics == [("pii_filter", "pii.detections"), ("pii_filter", "pii.inflight"),
                       ("pii_filter", "pii.buffer.size"), ("pii_filter", "pii.scan.duration")]


def test_sdk_span_ends_when_end_fails(host: Host) -> None:
    inv = host.adapter.begin("p")
    with pytest.raises(ptel.InvalidArgumentError):
        inv.end(b"", ptel.Outcome.ERROR, "\ud800")  # not UTF-8
    assert [s.name for s in host.spans.get_finished_spans()] == ["plugin.execute"]
    with pytest.raises(ptel.StateError):
        inv.end(b"")
    with inv:  # leaving the block does not end it again
        pass
    assert len(host.spans.get_finished_spans()) == 1


def test_remote_parent_tracestate_and_baggage(host: Host) -> None:
    from opentelemetry import baggage
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

    remote = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, is_remote=True,
                         trace_flags=TraceFlags(TraceFlags.SAMPLED),
                         trace_state=TraceState([("vendor", "x")]))
    ctx = baggage.set_baggage("tenant", "acme",
                              otel_trace.set_span_in_context(NonRecordingSpan(remote)))
    inv = host.adapter.begin("p", context=ctx)
    assert inv.context.trace_id == remote.trace_id.to_bytes(16, "big")
    assert inv.context.parent_span_id == inv.span.get_span_context().span_id.to_bytes(8, "big")
    assert inv.context.tracestate == "vendor=x"
    assert inv.context.baggage == "tenant=acme"
    inv.end(load_demo().plugin(inv.context.to_bytes()))
    invocation, scan = host.span("plugin.execute"), host.span("pii_filter.scan")
    assert invocation.parent == remote
    assert scan.context.trace_state == TraceState([("vendor", "x")])
    # the core wrote the same parent for its own rendering of the invocation span
    (core, _), = [v for v in ptel_request(inv.invocation).values() if v[0].name == "plugin.execute"]
    assert core.parent_span_id == remote.span_id.to_bytes(8, "big")
    assert core.flags & 0x300 == 0x300  # the parent is remote
