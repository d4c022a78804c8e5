"""ptel: plugin telemetry for Python, on the ptel C core.

Plugin side::

    import ptel

    ctx = ptel.Context.from_env()            # or from_bytes / from_traceparent
    rec = ptel.Recorder(ctx)
    with rec.span("pii.scan", attributes={"pii.detector": "pattern"}) as span:
        span.add_event("pii.detected", {"pii.type": "email"})
        rec.counter("pii.detections", "{detection}", value_type=int).add(1)
    payload = rec.finish()                   # PluginTelemetry bytes for the host

Host side::

    inv = ptel.Invocation.begin(parent=otel_span, plugin="pii", hook="pre")
    ...hand inv.context.to_bytes() to the plugin, get its payload...
    report = inv.end(payload)
    request = inv.export_traces(resource={"service.name": "gateway"})

Errors of the C core raise one exception hierarchy rooted at PtelError,
one subclass per status; recording calls never raise unless strict=True.
"""

from __future__ import annotations

from ._errorbase import PtelError
from . import _generated
from ._generated import *  # noqa: F403  (enums, constants, exceptions)
from ._generated import (
    CORE_VERSION,
    ERRORS_BY_STATUS,
    REASON_TABLE,
    STATUS_TABLE,
    Decision,
    JsonMessage,
    MetricKind,
    NumberType,
    Outcome,
    Reason,
    SpanKind,
    Status,
    StatusCode,
    Temporality,
    TimePolicy,
    ValueType,
)
from ._native import ffi as _ffi
from ._native import lib as _lib
from ._types import Clock, IdGenerator, Limits, SpanContext
from .context import Context
from .host import (
    Aggregator,
    AggregatorStats,
    HostPolicy,
    Invocation,
    Report,
    render_json,
    wrap_metrics,
    wrap_traces,
)
from .recorder import (
    Attributes,
    Counter,
    DropCounts,
    Gauge,
    Histogram,
    NonRecordingSpan,
    Recorder,
    Span,
    UpDownCounter,
    current_span,
)
from . import cpex  # ptel.cpex.metadata: the bridge to CPEX gateways
from .exporter import Exporter, ExporterStats, SignalStats

__version__ = _ffi.string(_lib.ptel_version()).decode()

__all__ = [
    "PtelError", "ERRORS_BY_STATUS", "STATUS_TABLE", "REASON_TABLE", "CORE_VERSION",
    "Decision", "JsonMessage", "MetricKind", "NumberType", "Outcome", "Reason", "SpanKind",
    "Status", "StatusCode", "Temporality", "TimePolicy", "ValueType",
    "Clock", "IdGenerator", "Limits", "SpanContext", "Context",
    "Recorder", "Span", "NonRecordingSpan", "DropCounts", "Counter", "UpDownCounter", "Gauge",
    "Histogram", "Attributes", "current_span",
    "Invocation", "Report", "HostPolicy", "Aggregator", "AggregatorStats", "render_json",
    "wrap_traces", "wrap_metrics", "Exporter", "ExporterStats", "SignalStats",
]
__all__ += _generated.__all__
