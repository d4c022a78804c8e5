"""Independent oracle for conformance/matrix/expected/: builds the requests
that README.md sections 2 and 3 describe with the official OTLP messages
(opentelemetry-proto), without ptel, and compares them byte for byte with
the expected files (whose encoding is ptel's canonical profile, which
protobuf's own serializer reproduces for these messages).

usage: oracle.py EXPECTED-DIR; exit status 0 when all three files match."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.trace.v1 import trace_pb2 as t

T0 = 1_700_000_000_000_000_000
TRACE_ID = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
HOST_PARENT = bytes.fromhex("b7ad6b7169203331")
INVOCATION = bytes.fromhex("a1a2a3a4a5a6a7a8")
TRACESTATE = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
SAMPLED, HAS_IS_REMOTE, IS_REMOTE = 0x1, 0x100, 0x200


def value(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, list):
        return AnyValue(array_value=ArrayValue(values=[value(x) for x in v]))
    if isinstance(v, bytes):
        return AnyValue(bytes_value=v)
    if isinstance(v, dict):
        return AnyValue(kvlist_value=KeyValueList(
            values=[KeyValue(key=k, value=value(x)) for k, x in v.items()]))
    return AnyValue(string_value=v)


def attrs(**kv: Any) -> list[KeyValue]:
    return [KeyValue(key=k.replace("_", "."), value=value(v)) for k, v in kv.items()]


def resource() -> Any:
    r = ExportTraceServiceRequest().resource_spans.add().resource
    r.attributes.extend(attrs(service_name="matrix-host", service_version="1.0.0"))
    return r


def invocation_span(outcome: str) -> t.Span:
    extra = {"error.type": outcome} if outcome != "ok" else {}
    a = [KeyValue(key=k, value=value(v)) for k, v in
         {"plugin.name": "pii_filter", "plugin.hook": "prompt_pre_fetch",
          "plugin.version": "1.0.0", "plugin.outcome": outcome, **extra}.items()]
    s = t.Span(trace_id=TRACE_ID, span_id=INVOCATION, trace_state=TRACESTATE,
               parent_span_id=HOST_PARENT, name="plugin.execute",
               kind=t.Span.SPAN_KIND_INTERNAL, start_time_unix_nano=T0,
               end_time_unix_nano=T0 + 1_000_000, attributes=a,
               flags=SAMPLED | HAS_IS_REMOTE | IS_REMOTE)
    if outcome != "ok":
        s.status.code = t.Status.STATUS_CODE_ERROR
    return s


def traces(outcome: str, plugin_spans: bool = True) -> bytes:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.CopyFrom(resource())
    host = rs.scope_spans.add()
    host.scope.name, host.scope.version = "matrix-host", "1.0.0"
    host.spans.append(invocation_span(outcome))
    if not plugin_spans:
        return req.SerializeToString()
    plugin = rs.scope_spans.add()
    plugin.scope.name, plugin.scope.version = "pii_filter", "1.0.0"
    scan_id, redact_id = (1).to_bytes(8, "big"), (2).to_bytes(8, "big")
    # Spans in the order they ended.
    plugin.spans.append(t.Span(
        trace_id=TRACE_ID, span_id=redact_id, trace_state=TRACESTATE, parent_span_id=scan_id,
        name="pii_filter.redact", kind=t.Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=T0 + 2000, end_time_unix_nano=T0 + 3000,
        attributes=attrs(pii_redacted_count=2), flags=SAMPLED | HAS_IS_REMOTE))
    scan = t.Span(
        trace_id=TRACE_ID, span_id=scan_id, trace_state=TRACESTATE, parent_span_id=INVOCATION,
        name="pii_filter.scan", kind=t.Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=T0, end_time_unix_nano=T0 + 4000,
        attributes=[KeyValue(key="pii.detector", value=value("pattern")),
                    KeyValue(key="pii.input.bytes", value=value(72)),
                    KeyValue(key="pii.ratio", value=value(0.25)),
                    KeyValue(key="pii.redact", value=value(True)),
                    KeyValue(key="pii.types", value=value(["email", "phone"])),
                    KeyValue(key="pii.digest", value=value(b"\xde\xad\x00\xef")),
                    KeyValue(key="pii.config", value=value({"mode": "redact", "max": 32}))],
        flags=SAMPLED | HAS_IS_REMOTE | IS_REMOTE)
    scan.events.append(t.Span.Event(
        time_unix_nano=T0 + 1000, name="pii.detected",
        attributes=[KeyValue(key="pii.type", value=value("email")),
                    KeyValue(key="pii.offset", value=value(8))]))
    scan.status.code = t.Status.STATUS_CODE_OK
    plugin.spans.append(scan)
    return req.SerializeToString()


def metrics() -> bytes:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.CopyFrom(resource())
    sm = rm.scope_metrics.add()
    sm.scope.name, sm.scope.version = "pii_filter", "1.0.0"
    start, now = T0, T0 + 5000
    det = sm.metrics.add(name="pii.detections", description="PII detections by type",
                         unit="{detection}")
    det.sum.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    det.sum.is_monotonic = True
    for kind, n in (("email", 2), ("phone", 1)):
        det.sum.data_points.append(m.NumberDataPoint(
            start_time_unix_nano=start, time_unix_nano=now, as_int=n,
            attributes=[KeyValue(key="pii.type", value=value(kind))]))
    # The email measurement was taken inside the sampled scan span.
    det.sum.data_points[0].exemplars.append(m.Exemplar(
        time_unix_nano=T0 + 1000, span_id=(1).to_bytes(8, "big"), trace_id=TRACE_ID, as_int=2))
    dur = sm.metrics.add(name="pii.scan.duration", description="Time to scan one input",
                         unit="s")
    dur.histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    dur.histogram.data_points.append(m.HistogramDataPoint(
        start_time_unix_nano=start, time_unix_nano=now, count=1, sum=0.004,
        bucket_counts=[0, 1, 0, 0, 0], explicit_bounds=[0.001, 0.01, 0.1, 1.0],
        attributes=[KeyValue(key="pii.mode", value=value("redact"))], min=0.004, max=0.004))
    return req.SerializeToString()


def main() -> int:
    base = Path(sys.argv[1])
    ok = True
    # invalid_payload: the plugin succeeded, its telemetry was rejected.
    for name, want in (("pii_filter", {"traces": traces("ok"), "metrics": metrics()}),
                       ("crash", {"traces": traces("crash", False), "metrics": b""}),
                       ("invalid_payload", {"traces": traces("ok", False), "metrics": b""})):
        lines = dict(line.rstrip("\n").split(" ", 1)
                     for line in (base / f"{name}.txt").read_text().splitlines(True))
        for signal, data in want.items():
            if lines.get(signal) != data.hex():
                print(f"oracle: expected/{name}.txt: {signal} differ from the OTLP built "
                      "from README.md", file=sys.stderr)
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
