"""The Python SDK adapter end to end (contract item 2 of issue #7).

With OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME set it configures
the host's OpenTelemetry SDK with the standard OTLP/HTTP protobuf span and
metric exporters, runs one request `gateway.request` (SERVER) with one
`pii_filter` plugin invocation whose telemetry goes through
`ptel.otel_sdk.SdkAdapter`, shuts the providers down (which flushes) and
prints `trace_id=<32 hex>`. The plugin side runs in process with ptel's
recorder. `run()` is the same flow on providers the caller configured; the
binding's tests call it with in-memory exporters.

    <venv>/bin/python examples/adapters/python/adapter_demo.py
"""

from __future__ import annotations

import sys

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

import ptel
from ptel.otel_sdk import SdkAdapter

PLUGIN, VERSION, HOOK = "pii_filter", "1.0.0", "tool_pre_invoke"


def plugin(context_bytes: bytes) -> bytes:
    """The plugin: gets its PluginContext, returns PluginTelemetry bytes."""
    rec = ptel.Recorder(ptel.Context.from_bytes(context_bytes))
    with rec.span("pii_filter.scan", kind=ptel.SpanKind.INTERNAL, attributes={"pii.count": 2}):
        with rec.span("pii_filter.redact") as redact:
            redact.add_event("pii.detected", {"pii.kind": "email"})
    rec.counter("pii.detections", "{detection}", value_type=int).add(2, {"pii.kind": "email"})
    rec.up_down_counter("pii.inflight", "{request}", value_type=int).add(1)
    rec.gauge("pii.buffer.size", "By", value_type=int).set(128)
    duration = rec.histogram("pii.scan.duration", "ms")
    duration.record(1.5)
    duration.record(7.0)
    return rec.finish()


def run(tracer_provider: TracerProvider,
        meter_provider: MeterProvider) -> tuple[str, ptel.Report]:
    """One gateway request with one plugin invocation; returns the trace id
    (hex) and the invocation's validation report."""
    adapter = SdkAdapter(tracer_provider, meter_provider)
    tracer = tracer_provider.get_tracer("gateway")
    with tracer.start_as_current_span("gateway.request", kind=SpanKind.SERVER) as request:
        with adapter.begin(PLUGIN, VERSION, HOOK) as inv:
            report = inv.end(plugin(inv.context.to_bytes()), ptel.Outcome.OK)
    return f"{request.get_span_context().trace_id:032x}", report


def main() -> int:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()  # service.name from OTEL_SERVICE_NAME
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    trace_id, report = run(tracer_provider, meter_provider)
    tracer_provider.shutdown()
    meter_provider.shutdown()
    if report.rejected or report.spans_dropped or report.metrics_dropped:
        print(f"plugin telemetry dropped: {report}", file=sys.stderr)
        return 1
    print(f"trace_id={trace_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
