"""Hand plugin telemetry to the host's own OpenTelemetry SDK.

    from ptel.otel_sdk import SdkAdapter

    adapter = SdkAdapter(tracer_provider, meter_provider)
    with adapter.begin("pii_filter", version="1.0.0", hook="tool_pre_invoke") as inv:
        payload = run_plugin(inv.context.to_bytes())   # any transport
        inv.end(payload)                               # validate, then into the SDK

The invocation span is a real span of the host's tracer provider, started
as a child of the current span (or of ``context``). After ``end`` the
validated plugin spans enter the provider's span processors as finished
``ReadableSpan``s, and the plugin's metrics are recorded on the meter
provider's instruments under the plugin's scope. Requires
``opentelemetry-sdk`` and ``opentelemetry-proto`` (``pip install
'ptel[otel-sdk]'``); this module is imported only on request.

What is exact (the tests compare each field):

* Spans: ids, parent, trace flags and tracestate (a valid W3C one), name,
  kind, start and end times, attributes of every OTLP type (bytes, arrays,
  maps, empty values), events, links, status, the three dropped counts,
  the plugin's scope (name, version, schema URL, attributes); the resource
  is the provider's. The SDK's model cannot carry an UNSPECIFIED kind
  (it becomes INTERNAL) nor a status message unless the code is ERROR.
  Processors get ``on_end`` only: a plugin span exists for the host only
  once it is finished, so there is no live span to give ``on_start``.
* The invocation span: started with the host tracer (scope ``ptel``); at
  ``end`` it gets the attributes, status and end time the core wrote for
  it (plugin.name/hook/version/outcome, error.type), so it equals the
  built-in exporter's invocation span.
* Metrics (the Python SDK has no MetricProducer, so they go through
  instruments of ``meter_provider.get_meter(plugin, version)``, and the
  host's views, readers and temporality apply):

  - counter -> ``Counter.add(point value)``: exact (int or double sum);
  - up-down counter -> ``UpDownCounter.add``: exact;
  - gauge -> ``Gauge.set``: exact last value;
  - histogram -> ``Histogram.record`` of values that reproduce the point's
    count, sum, bucket counts, min and max exactly under the SDK's default
    explicit-bucket aggregation (the plugin's bounds are passed as the
    advisory boundaries). With one or two values, or all values equal,
    they are the plugin's values; otherwise they are synthetic and checked
    against the SDK's arithmetic before recording; a point that cannot be
    reproduced so is not recorded and is counted in
    ``AdapterStats.histogram_points_skipped``. A view that re-buckets sees
    the replayed values, and the SDK keeps the bounds an instrument was
    first created with (a plugin that changes them gets its old buckets).

  Times are the SDK's (its collection windows), not the plugin's point
  times. An exemplar keeps its trace and span id (the measurement is made
  in a context holding that span); its value, time and filtered
  attributes are the SDK's.
  Float sums are added by the SDK in its order.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from opentelemetry import baggage as otel_baggage
from opentelemetry import metrics as otel_metrics
from opentelemetry import trace as otel_trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context as OtelContext
from opentelemetry.context import attach, detach
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Exemplar, Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope as SdkScope
from opentelemetry.trace import Link, NonRecordingSpan, SpanKind, Status, StatusCode
from opentelemetry.trace import SpanContext as OtelSpanContext
from opentelemetry.trace import TraceFlags, TraceState

from ._generated import Decision, Outcome
from ._generated import Status as PtelStatus
from ._native import raise_status
from ._types import SpanContext
from .context import Context, _baggage_header
from .host import HostPolicy, Invocation, Report

__all__ = ["SdkAdapter", "SdkInvocation", "AdapterStats", "replay_histogram"]

_FLAG_HAS_IS_REMOTE = 0x100
_FLAG_IS_REMOTE = 0x200
_KINDS = {0: SpanKind.INTERNAL, 1: SpanKind.INTERNAL, 2: SpanKind.SERVER, 3: SpanKind.CLIENT,
          4: SpanKind.PRODUCER, 5: SpanKind.CONSUMER}
_NO_EXEMPLAR = otel_trace.set_span_in_context(otel_trace.INVALID_SPAN)
"""A non-empty context without a valid span: the SDK falls back to the
current context only when the one it gets is empty, and a plugin point
without an exemplar must not get one from the host's current span."""


@dataclass
class AdapterStats:
    """What the adapter handed to the SDK, over its life."""

    invocations: int = 0
    spans: int = 0
    """plugin spans given to the span processor"""
    points: int = 0
    """data points recorded on instruments"""
    histogram_points_synthetic: int = 0
    """histogram points replayed with synthetic values (exact aggregate)"""
    histogram_points_skipped: int = 0
    """histogram points no replay reproduces exactly: not recorded"""


# ---- OTLP protobuf -> SDK model -------------------------------------------------


def _value(v: AnyValue) -> Any:
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return tuple(_value(x) for x in v.array_value.values)
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, which)


def _attrs(kvs: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs}


def _bounded(kvs: Iterable[KeyValue], dropped: int) -> BoundedAttributes:
    """Attributes that report the plugin's dropped count (the SDK reads it
    from ``BoundedAttributes.dropped``). No limit: the host enforced its own."""
    b = BoundedAttributes(None, _attrs(kvs), immutable=True)
    b.dropped = dropped
    return b


def _trace_state(header: str) -> TraceState:
    return TraceState.from_header([header]) if header else TraceState()


def _span_context(trace_id: bytes, span_id: bytes, flags: int, state: str,
                  remote: bool) -> OtelSpanContext:
    return OtelSpanContext(int.from_bytes(trace_id, "big"), int.from_bytes(span_id, "big"),
                           is_remote=remote, trace_flags=TraceFlags(flags & 0xFF),
                           trace_state=_trace_state(state))


def _remote(flags: int) -> bool:
    return bool(flags & _FLAG_HAS_IS_REMOTE and flags & _FLAG_IS_REMOTE)


def _status(code: int, message: str) -> Status:
    # The SDK keeps a description only with ERROR (and warns otherwise).
    if code == StatusCode.ERROR.value:
        return Status(StatusCode.ERROR, message or None)
    return Status(StatusCode(code))


def _sdk_scope(scope: InstrumentationScope, schema_url: str) -> SdkScope:
    return SdkScope(scope.name, scope.version or None, schema_url or None,
                    _attrs(scope.attributes) or None)


def _readable_span(s: PbSpan, scope: SdkScope, resource: Any) -> ReadableSpan:
    """One validated OTLP span as the SDK's finished span."""
    events: BoundedList[Event] = BoundedList(None)
    events.extend([Event(e.name, _bounded(e.attributes, e.dropped_attributes_count),
                         e.time_unix_nano) for e in s.events])
    events.dropped = s.dropped_events_count
    links: BoundedList[Link] = BoundedList(None)
    links.extend([Link(_span_context(k.trace_id, k.span_id, k.flags, k.trace_state,
                                     _remote(k.flags)),
                       _bounded(k.attributes, k.dropped_attributes_count)) for k in s.links])
    links.dropped = s.dropped_links_count
    parent = None
    if s.parent_span_id:
        parent = _span_context(s.trace_id, s.parent_span_id, s.flags, "", _remote(s.flags))
    return ReadableSpan(
        name=s.name,
        context=_span_context(s.trace_id, s.span_id, s.flags, s.trace_state, False),
        parent=parent, resource=resource,
        attributes=_bounded(s.attributes, s.dropped_attributes_count),
        events=events, links=links, kind=_KINDS.get(s.kind, SpanKind.INTERNAL),
        status=_status(s.status.code, s.status.message),
        start_time=s.start_time_unix_nano, end_time=s.end_time_unix_nano,
        instrumentation_scope=scope)


# ---- histogram replay -------------------------------------------------------------


def _sdk_sum(values: Sequence[float]) -> float:
    s: float = 0  # as the SDK's explicit-bucket aggregation adds
    for v in values:
        s += v
    return s


def _reproduces(values: Sequence[float], count: int, total: float, bounds: Sequence[float],
                buckets: Sequence[int], lo: float, hi: float) -> bool:
    got = [0] * (len(bounds) + 1)
    for v in values:
        got[bisect_left(bounds, v)] += 1
    return (len(values) == count and got == list(buckets) and min(values) == lo
            and max(values) == hi and _sdk_sum(values) == total)


def replay_histogram(count: int, total: float, bounds: Sequence[float], buckets: Sequence[int],
                     lo: float, hi: float) -> list[float] | None:
    """Values whose recording by the SDK's explicit-bucket aggregation with
    ``bounds`` yields exactly this count, sum, bucket counts, min and max,
    or None when there are none it can find. The plugin's own values when
    they are determined (one or two values, or all equal)."""
    if count <= 0 or len(buckets) != len(bounds) + 1 or not all(
            math.isfinite(x) for x in (total, lo, hi)) or lo > hi:
        return None
    if count == 1:
        firsts: list[float] = [total]
    elif lo == hi or count == 2:
        firsts = [lo] * count if lo == hi else [lo, hi]
    else:
        firsts = _synthesize(count, total, bounds, buckets, lo, hi) or []
    return firsts if firsts and _reproduces(firsts, count, total, bounds, buckets, lo,
                                            hi) else None


def _synthesize(count: int, total: float, bounds: Sequence[float], buckets: Sequence[int],
                lo: float, hi: float) -> list[float] | None:
    """min, max, then the other count-2 values spread inside their buckets
    (clipped to [min, max]) so that they add up to the rest of the sum; the
    last one is nudged until the SDK's running sum equals ``total``."""
    rest = list(buckets)
    for v in (lo, hi):
        rest[bisect_left(bounds, v)] -= 1
    if min(rest) < 0:
        return None
    ranges: list[tuple[float, float]] = []
    for i, n in enumerate(rest):
        below = bounds[i - 1] if i > 0 else -math.inf
        above = bounds[i] if i < len(bounds) else math.inf
        if not n:
            continue
        a, b = max(lo, math.nextafter(below, math.inf)), min(hi, above)
        if a > b:
            return None
        ranges.extend([(a, b)] * n)
    target = total - lo - hi
    low, high = sum(a for a, _ in ranges), sum(b for _, b in ranges)
    f = 0.0 if high <= low else min(1.0, max(0.0, (target - low) / (high - low)))
    values = [lo, hi] + [min(b, max(a, a + f * (b - a))) for a, b in ranges]
    # The last value closes the sum: start from the exact difference, then
    # step one ulp at a time (its ulp is at most the sum's, so the SDK's
    # rounded sum passes through every representable total on the way).
    a, b = ranges[-1]
    prefix = _sdk_sum(values[:-1])
    last = min(b, max(a, total - prefix))
    for _ in range(64):
        s = prefix + last
        if s == total:
            values[-1] = last
            return values
        step = math.nextafter(last, math.inf if s < total else -math.inf)
        if not a <= step <= b:
            return None
        last = step
    return None


# ---- the adapter ------------------------------------------------------------------


def _number(p: Any) -> int | float:
    return int(p.as_int) if p.WhichOneof("value") == "as_int" else float(p.as_double)


def _exemplar_context(exemplars: Sequence[Exemplar], value: float | None = None) -> OtelContext:
    """A context holding the (sampled) plugin span of the first exemplar
    (with ``value``: of the first exemplar of that value)."""
    for e in exemplars:
        if value is not None and _number(e) != value:
            continue
        if len(e.trace_id) == 16 and len(e.span_id) == 8:
            sc = _span_context(e.trace_id, e.span_id, TraceFlags.SAMPLED, "", False)
            return otel_trace.set_span_in_context(NonRecordingSpan(sc))
    return _NO_EXEMPLAR


class SdkAdapter:
    """Plugin invocations whose telemetry flows into the host's SDK.

    Args:
        tracer_provider: the host's ``opentelemetry.sdk.trace.TracerProvider``
            (None: the global one, which must be an SDK provider).
        meter_provider: any ``opentelemetry.metrics.MeterProvider`` (None:
            the global one); plugin metrics are recorded on its instruments.
        span_processor: where plugin spans go (None: the provider's active
            span processor, i.e. every processor added to it).
        policy: how payloads are validated (``ptel.HostPolicy``); its
            ``accept_record_only`` is set for record-only invocation spans.
        span_name: name of the invocation span.
        scope_name, scope_version: the host tracer's scope.

    Thread-safe: any number of invocations may run at once.
    """

    def __init__(self, tracer_provider: TracerProvider | None = None,
                 meter_provider: otel_metrics.MeterProvider | None = None, *,
                 span_processor: SpanProcessor | None = None, policy: HostPolicy | None = None,
                 span_name: str = "plugin.execute", scope_name: str = "ptel",
                 scope_version: str | None = None) -> None:
        tp = tracer_provider if tracer_provider is not None else otel_trace.get_tracer_provider()
        if not isinstance(tp, TracerProvider):
            raise TypeError("SdkAdapter needs an opentelemetry.sdk.trace.TracerProvider, "
                            f"got {type(tp).__name__}")
        self.tracer_provider = tp
        self.meter_provider = (meter_provider if meter_provider is not None
                               else otel_metrics.get_meter_provider())
        # The SDK has no public getter for it; every processor the host
        # added is behind it, which is what a span of its own tracer meets.
        self.span_processor: SpanProcessor = (span_processor if span_processor is not None
                                              else tp._active_span_processor)
        self.policy = policy or HostPolicy()
        self.span_name = span_name
        if scope_version is None:
            from . import __version__ as scope_version
        self.tracer = tp.get_tracer(scope_name, scope_version)
        self.stats = AdapterStats()
        self._lock = threading.Lock()
        self._meters: dict[tuple[Any, ...], otel_metrics.Meter] = {}
        self._instruments: dict[tuple[Any, ...], Any] = {}

    def begin(self, plugin: str, version: str = "", hook: str = "", *,
              context: OtelContext | None = None, attributes: Mapping[str, Any] | None = None,
              baggage: str | None = None, policy: HostPolicy | None = None,
              context_is_remote: bool = False) -> SdkInvocation:
        """Start the invocation span with the host tracer as a child of the
        span current in ``context`` (None: the current context) and begin
        the ptel invocation with its ids. ``baggage`` defaults to the
        context's OpenTelemetry baggage. ``attributes`` are extra
        attributes of the invocation span."""
        start = {k: v for k, v in (("plugin.name", plugin), ("plugin.hook", hook),
                                   ("plugin.version", version)) if v}
        start.update(attributes or {})
        span = self.tracer.start_span(self.span_name, context=context, kind=SpanKind.INTERNAL,
                                      attributes=start)
        try:
            return self._begin(span, plugin, version, hook, context, attributes, baggage,
                               policy, context_is_remote)
        except BaseException:
            span.end()
            raise

    def _begin(self, span: otel_trace.Span, plugin: str, version: str, hook: str,
               context: OtelContext | None, attributes: Mapping[str, Any] | None,
               baggage: str | None, policy: HostPolicy | None,
               context_is_remote: bool) -> SdkInvocation:
        sc = span.get_span_context()
        policy = policy or self.policy
        if not span.is_recording():
            decision = Decision.DROP
        elif sc.trace_flags.sampled:
            decision = Decision.RECORD_AND_SAMPLE
        else:
            decision = Decision.RECORD_ONLY
            policy = HostPolicy(policy.limits, policy.time_slack_ns, policy.time_policy,
                                policy.reserved_keys, accept_record_only=True)
        psc = otel_trace.get_current_span(context).get_span_context()
        if psc.is_valid:
            parent = SpanContext.from_otel(psc)
        else:  # the invocation span is the root: its trace id, no parent span
            parent = SpanContext(sc.trace_id.to_bytes(16, "big"), bytes(8),
                                 int(sc.trace_flags), False)
        if baggage is None:
            baggage = _baggage_header(otel_baggage.get_all(context))
        inv = Invocation.begin(
            parent, plugin=plugin, version=version, hook=hook, decision=decision,
            policy=policy, tracestate=sc.trace_state.to_header(), baggage=baggage,
            span_name=self.span_name, span_id=sc.span_id.to_bytes(8, "big"),
            start_time=getattr(span, "start_time", None), context_is_remote=context_is_remote,
            attributes=attributes)
        return SdkInvocation(self, span, inv, context)

    # ---- into the SDK ---------------------------------------------------------

    def _emit_spans(self, inv: Invocation, span: otel_trace.Span) -> PbSpan | None:
        """Give the plugin spans to the span processor; return the core's
        rendering of the invocation span (None when not recorded)."""
        data = inv.export_traces(include_invocation_span=True)
        own = span.get_span_context().span_id.to_bytes(8, "big")
        host: PbSpan | None = None
        resource = self.tracer_provider.resource
        n = 0
        for rs in ExportTraceServiceRequest.FromString(data).resource_spans:
            for ss in rs.scope_spans:
                scope = _sdk_scope(ss.scope, ss.schema_url)
                for s in ss.spans:
                    if s.span_id == own:
                        host = s
                        continue
                    self.span_processor.on_end(_readable_span(s, scope, resource))
                    n += 1
        with self._lock:
            self.stats.spans += n
        return host

    def _meter(self, scope: InstrumentationScope, schema_url: str) -> otel_metrics.Meter:
        attrs = _attrs(scope.attributes)
        key = (scope.name, scope.version, schema_url, tuple(sorted(attrs.items(), key=repr)))
        with self._lock:
            meter = self._meters.get(key)
            if meter is None:
                meter = self.meter_provider.get_meter(scope.name, scope.version or None,
                                                      schema_url or None, attrs or None)
                self._meters[key] = meter
            return meter

    def _instrument(self, meter: otel_metrics.Meter, m: Metric, kind: str,
                    bounds: Sequence[float] = ()) -> Any:
        key = (id(meter), kind, m.name, m.unit, m.description, tuple(bounds))
        with self._lock:
            inst = self._instruments.get(key)
            if inst is None:
                if kind == "counter":
                    inst = meter.create_counter(m.name, m.unit, m.description)
                elif kind == "updown":
                    inst = meter.create_up_down_counter(m.name, m.unit, m.description)
                elif kind == "gauge":
                    inst = meter.create_gauge(m.name, m.unit, m.description)
                else:
                    inst = meter.create_histogram(
                        m.name, m.unit, m.description,
                        explicit_bucket_boundaries_advisory=list(bounds))
                self._instruments[key] = inst
            return inst

    def _record_metrics(self, inv: Invocation) -> None:
        data = inv.export_metrics()
        points = synthetic = skipped = 0
        for rm in ExportMetricsServiceRequest.FromString(data).resource_metrics:
            for sm in rm.scope_metrics:
                meter = self._meter(sm.scope, sm.schema_url)
                for m in sm.metrics:
                    which = m.WhichOneof("data")
                    if which == "sum":
                        inst = self._instrument(meter, m, "counter" if m.sum.is_monotonic
                                                else "updown")
                        for p in m.sum.data_points:
                            inst.add(_number(p), _attrs(p.attributes),
                                     context=_exemplar_context(p.exemplars))
                            points += 1
                    elif which == "gauge":
                        inst = self._instrument(meter, m, "gauge")
                        for p in m.gauge.data_points:
                            inst.set(_number(p), _attrs(p.attributes),
                                     context=_exemplar_context(p.exemplars))
                            points += 1
                    elif which == "histogram":
                        for h in m.histogram.data_points:
                            values = None
                            if h.HasField("min") and h.HasField("max"):
                                values = replay_histogram(h.count, h.sum, h.explicit_bounds,
                                                          h.bucket_counts, h.min, h.max)
                            if values is None:
                                skipped += 1
                                continue
                            inst = self._instrument(meter, m, "histogram", h.explicit_bounds)
                            attrs = _attrs(h.attributes)
                            if h.count > 2 and h.min != h.max:
                                synthetic += 1
                            for v in values:
                                inst.record(v, attrs, context=_exemplar_context(h.exemplars, v))
                            points += 1
        with self._lock:
            self.stats.points += points
            self.stats.histogram_points_synthetic += synthetic
            self.stats.histogram_points_skipped += skipped


class SdkInvocation:
    """One plugin invocation under a real SDK span. Use ``context`` for the
    plugin, then ``end`` with its payload. As a context manager the SDK span
    is current inside the block, and leaving the block ends the invocation
    if ``end`` was not called (outcome ERROR with the exception's type name
    when an exception leaves it)."""

    def __init__(self, adapter: SdkAdapter, span: otel_trace.Span, invocation: Invocation,
                 parent_context: OtelContext | None) -> None:
        self.adapter = adapter
        self.span = span
        """the host SDK's invocation span"""
        self.invocation = invocation
        """the ptel invocation (report, exports)"""
        self.otel_context = otel_trace.set_span_in_context(span, parent_context)
        """an OpenTelemetry context with the invocation span current"""
        self._lock = threading.Lock()
        self._report: Report | None = None
        self._ended = False
        self._token: object | None = None

    @property
    def context(self) -> Context:
        """The PluginContext to hand to the plugin."""
        return self.invocation.context

    @property
    def report(self) -> Report | None:
        return self._report

    def end(self, payload: bytes | bytearray | memoryview | None = b"",
            outcome: int = Outcome.OK, error_type: str | None = None) -> Report:
        """Validate the payload, give the plugin spans to the span
        processor and the metrics to the meter provider, then end the SDK
        invocation span with the core's attributes, status and end time.
        Raises ``ptel.StateError`` when called twice."""
        with self._lock:
            if self._ended:
                raise_status(PtelStatus.E_STATE)
            self._ended = True
            host: PbSpan | None = None
            try:  # the SDK span ends whatever happens, as a native span would
                report = self.invocation.end(payload, outcome, error_type)
                self._report = report
                host = self.adapter._emit_spans(self.invocation, self.span)
                if host is not None and self.span.is_recording():
                    self.span.set_attributes(_attrs(host.attributes))
                    self.span.set_status(_status(host.status.code, host.status.message))
                self.adapter._record_metrics(self.invocation)
            finally:
                self.span.end(end_time=host.end_time_unix_nano if host is not None else None)
            with self.adapter._lock:
                self.adapter.stats.invocations += 1
            return report

    def __enter__(self) -> SdkInvocation:
        self._token = attach(self.otel_context)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._token is not None:
            detach(self._token)  # type: ignore[arg-type]
            self._token = None
        if not self._ended:
            if exc_type is None:
                self.end(b"")
            else:
                self.end(b"", Outcome.ERROR, exc_type.__qualname__)
