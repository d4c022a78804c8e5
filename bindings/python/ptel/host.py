"""The host API: invocations, validation reports, export and aggregation.

    inv = ptel.Invocation.begin(parent=otel_span, plugin="pii", hook="pre")
    env = inv.context.to_env()          # or .to_bytes() / .traceparent
    ... run the plugin, get its PluginTelemetry bytes ...
    report = inv.end(payload, outcome=ptel.Outcome.OK)
    request = inv.export_traces(resource={"service.name": "gateway"})

Host calls raise ``ptel.PtelError`` subclasses for invalid arguments; a bad
*payload* never raises: it is dropped wholly or in part and described by
the returned ``Report``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._attrs import AttrPacker
from ._callbacks import Callbacks
from ._generated import Decision, JsonMessage, Outcome, Status, Temporality, TimePolicy
from ._native import (check, error_for, ffi, lib, new_diag, raise_status, struct_json,
                      to_bytes, to_str)
from ._types import Clock, IdGenerator, Limits, SpanContext
from .context import Context

__all__ = ["HostPolicy", "Report", "Invocation", "Aggregator", "AggregatorStats",
           "render_json", "wrap_traces", "wrap_metrics"]

_HOST_MAX_LEN = 1 << 62  # host attributes are not cut


def _text(s: str | None) -> bytes:
    return b"" if not s else s.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class HostPolicy:
    """How the host validates plugin payloads (``ptel_host_policy``).

    Attributes:
        limits: enforced and sent to the plugin (None: the defaults).
        time_slack_ns: invocation window slack on each side (None: 1 s).
        time_policy: CLAMP times outside the window, or REJECT the data.
        reserved_keys: attribute keys plugins may not set; an entry ending in
            "." reserves a prefix (None: the core's defaults).
        accept_record_only: keep spans under a RECORD_ONLY decision.
    """

    limits: Limits | None = None
    time_slack_ns: int | None = None
    time_policy: TimePolicy = TimePolicy.CLAMP
    reserved_keys: Sequence[str] | None = None
    accept_record_only: bool = False

    def _to_c(self, keep: list[Any]) -> Any:
        p = ffi.new("ptel_host_policy *")
        keep.append(p)
        lib.ptel_host_policy_init(p)
        if self.limits is not None:
            self.limits._to_c(p.limits)
        if self.time_slack_ns is not None:
            p.time_slack_ns = self.time_slack_ns
        p.time_policy = int(self.time_policy)
        if self.reserved_keys is not None:
            keys = ffi.new("ptel_str[]", max(len(self.reserved_keys), 1))
            keep.append(keys)
            for i, k in enumerate(self.reserved_keys):
                data = ffi.from_buffer(_text(k))
                keep.append(data)
                keys[i].ptr = data
                keys[i].len = len(data)
            p.reserved_keys = keys
            p.reserved_key_count = len(self.reserved_keys)
        p.accept_record_only = self.accept_record_only
        p.copy_payload = False  # the Invocation keeps the payload bytes alive
        return p


@dataclass(frozen=True)
class Report:
    """What validation of one payload did (``ptel_report``)."""

    status: int
    """0, or ``Status.E_REJECTED`` when the whole payload was dropped"""
    spans_accepted: int = 0
    spans_dropped: int = 0
    spans_modified: int = 0
    open_spans: int = 0
    metrics_accepted: int = 0
    metrics_dropped: int = 0
    points_accepted: int = 0
    points_dropped: int = 0
    plugin_dropped_spans: int = 0
    plugin_dropped_metrics: int = 0
    plugin_dropped_points: int = 0
    plugin_errors: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    """occurrences per reason name (``"utf8"``, ...), non-zero ones only"""
    first_reason: str | None = None
    """the reason of the first problem"""
    first_offset: int = 0
    """byte offset into the payload of the first problem"""
    first_field: int = 0
    first_message: str | None = None
    first_status: int = 0
    """wire status of a rejection (e.g. ``Status.E_TRUNCATED``), else 0"""
    _raw: bytes = field(default=b"", repr=False, compare=False)

    @property
    def rejected(self) -> bool:
        return self.status == Status.E_REJECTED

    @classmethod
    def _from_c(cls, r: Any) -> Report:
        reasons = {}
        for i in range(int(lib.ptel_reason_count())):
            if r.reasons[i]:
                reasons[ffi.string(lib.ptel_reason_name(i)).decode()] = int(r.reasons[i])
        first = None
        if r.first_reason >= 0:
            first = ffi.string(lib.ptel_reason_name(r.first_reason)).decode()
        return cls(
            status=int(r.status), spans_accepted=r.spans_accepted, spans_dropped=r.spans_dropped,
            spans_modified=r.spans_modified, open_spans=r.open_spans,
            metrics_accepted=r.metrics_accepted, metrics_dropped=r.metrics_dropped,
            points_accepted=r.points_accepted, points_dropped=r.points_dropped,
            plugin_dropped_spans=r.plugin_dropped_spans,
            plugin_dropped_metrics=r.plugin_dropped_metrics,
            plugin_dropped_points=r.plugin_dropped_points, plugin_errors=r.plugin_errors,
            reasons=reasons, first_reason=first, first_offset=int(r.first.offset),
            first_field=int(r.first.field),
            first_message=(ffi.string(r.first.reason).decode()
                           if r.first.reason != ffi.NULL else None),
            first_status=int(r.first.status), _raw=ffi.buffer(r)[:])

    def to_json(self) -> str:
        """The core's one-line JSON rendering of the report."""
        # first.reason is a static string, so the copy stays valid
        return struct_json("ptel_report", self._raw, lib.ptel_report_to_json)


class _ExportOptions:
    """A `ptel_export_options` and everything it points to."""

    def __init__(self, resource: Mapping[str, Any] | None, schema_url: str, scope_name: str,
                 scope_version: str, include_invocation_span: bool) -> None:
        self.packer = AttrPacker(max_len=_HOST_MAX_LEN, max_depth=64)
        self.opts = ffi.new("ptel_export_options *")
        lib.ptel_export_options_init(self.opts)
        self.keep: list[Any] = []
        if resource:
            arr, n = self.packer.pack(resource)
            self.opts.resource_attributes = arr
            self.opts.resource_attribute_count = n
        for name, value in (("resource_schema_url", schema_url),
                            ("host_scope_name", scope_name),
                            ("host_scope_version", scope_version)):
            data = ffi.from_buffer(_text(value))
            self.keep.append(data)
            s = getattr(self.opts, name)
            s.ptr = data
            s.len = len(data)
        self.opts.include_invocation_span = include_invocation_span


def _export(fn: Any, head: tuple[Any, ...], tail: tuple[Any, ...] = ()) -> bytes:
    """Run a size-query export function `fn(*head, buf, cap, out_len)`."""
    n = ffi.new("size_t *")
    while True:
        rc = fn(*head, *tail, ffi.NULL, 0, n)
        if rc not in (0, Status.E_BUFFER_TOO_SMALL):
            raise_status(rc)
        if n[0] == 0:
            return b""
        cap = n[0]
        buf = ffi.new("uint8_t[]", cap)
        rc = fn(*head, *tail, buf, cap, n)
        if rc == Status.E_BUFFER_TOO_SMALL:
            continue  # grew in between (aggregator)
        check(rc)
        return to_bytes(buf, n[0])


def _parent(parent: Any) -> tuple[SpanContext | None, str]:
    if parent is None:
        return None, ""
    if isinstance(parent, str):
        return SpanContext.from_traceparent(parent), ""
    if isinstance(parent, SpanContext):
        return parent, ""
    if isinstance(parent, Context):
        return parent.parent, parent.tracestate
    if hasattr(parent, "get_span_context"):  # an OpenTelemetry span
        parent = parent.get_span_context()
    state = getattr(parent, "trace_state", None)
    return SpanContext.from_otel(parent), state.to_header() if state is not None else ""


class Invocation:
    """One plugin invocation as the host sees it: the invocation span, the
    PluginContext for the plugin and, after ``end``, the validated
    telemetry ready to export. Freed when garbage collected or ``close()``d;
    usable as a context manager that closes it."""

    def __init__(self, _ptr: Any, callbacks: Callbacks) -> None:
        """Internal: use ``Invocation.begin``."""
        self._ptr: Any = ffi.gc(_ptr, lib.ptel_invocation_free)
        self._callbacks = callbacks
        self._lock = threading.Lock()
        self._payload: Any = None
        self._report: Report | None = None
        self._context: Context | None = None

    @classmethod
    def begin(cls, parent: Any = None, *, plugin: str = "", version: str = "", hook: str = "",
              decision: int = Decision.RECORD_AND_SAMPLE, policy: HostPolicy | None = None,
              tracestate: str | None = None, baggage: str | None = None, span_name: str = "",
              span_id: bytes | None = None, start_time: int | None = None, features: int = 0,
              context_is_remote: bool = False, attributes: Mapping[str, Any] | None = None,
              clock: Clock | None = None,
              id_generator: IdGenerator | None = None) -> Invocation:
        """Open the invocation span and build the plugin's context.

        ``parent`` is the host's active span: an OpenTelemetry span or span
        context, a ``ptel.SpanContext``, a ``traceparent`` string, or None
        to start a new trace. ``tracestate`` defaults to the parent's.
        ``attributes`` are extra attributes of the invocation span."""
        keep: list[Any] = []
        o = ffi.new("ptel_invocation_options *")
        lib.ptel_invocation_options_init(o)
        sc, state = _parent(parent)
        if sc is not None:
            sc._to_c(o.parent)
        if tracestate is None:
            tracestate = state
        for name, value in (("tracestate", tracestate), ("baggage", baggage),
                            ("plugin_name", plugin), ("plugin_version", version),
                            ("hook", hook), ("span_name", span_name)):
            data = ffi.from_buffer(_text(value))
            keep.append(data)
            s = getattr(o, name)
            s.ptr = data
            s.len = len(data)
        o.decision = int(decision)
        if span_id is not None:
            if len(span_id) != 8:
                raise_status(Status.E_INVALID_ID)
            ffi.memmove(o.span_id, bytes(span_id), 8)
        o.start_unix_nano = start_time or 0
        o.features = features
        o.context_is_remote = context_is_remote
        packer = AttrPacker(max_len=_HOST_MAX_LEN, max_depth=64)
        if attributes:
            o.attributes, o.attribute_count = packer.pack(attributes)
        if policy is not None:
            o.policy = policy._to_c(keep)
        callbacks = Callbacks(clock, id_generator)
        callbacks.fill_clock(o.clock)
        callbacks.fill_ids(o.ids)
        out = ffi.new("ptel_invocation **")
        diag = new_diag()
        check(lib.ptel_invocation_begin(out, o, diag), diag)
        return cls(out[0], callbacks)

    @classmethod
    def begin_from_otel(cls, **kwargs: Any) -> Invocation:
        """``begin`` under the current OpenTelemetry span and baggage
        (opentelemetry-api, imported only now)."""
        from opentelemetry import baggage as otel_baggage
        from opentelemetry import trace as otel_trace

        from .context import _baggage_header

        kwargs.setdefault("baggage", _baggage_header(otel_baggage.get_all()))
        return cls.begin(otel_trace.get_current_span(), **kwargs)

    def _live(self) -> Any:
        if self._ptr is None:
            raise_status(Status.E_STATE)
        return self._ptr

    @property
    def context(self) -> Context:
        """The PluginContext to hand to the plugin (``.to_bytes()``,
        ``.to_env()``, ``.traceparent``). A copy owned by Python."""
        if self._context is None:
            with self._lock:
                ptr = lib.ptel_invocation_context(self._live())
                n = ffi.new("size_t *")
                lib.ptel_context_encode(ptr, ffi.NULL, 0, n)
                buf = ffi.new("uint8_t[]", n[0])
                check(lib.ptel_context_encode(ptr, buf, n[0], n))
                data = to_bytes(buf, n[0])
            self._context = Context.from_bytes(data)
        return self._context

    @property
    def span_context(self) -> SpanContext:
        """The invocation span's own context."""
        c = ffi.new("ptel_span_context *")
        with self._lock:
            lib.ptel_invocation_span_context(self._live(), c)
        return SpanContext._from_c(c)

    def end(self, payload: bytes | bytearray | memoryview | None = b"",
            outcome: int = Outcome.OK, error_type: str | None = None) -> Report:
        """End the invocation and validate the plugin's payload. Returns the
        Report; a wholly rejected payload is ``report.rejected``, not an
        exception. Raises ``ptel.StateError`` when called twice."""
        data = bytes(payload) if payload else b""
        buf = ffi.from_buffer(data)
        et = _text(error_type)
        r = ffi.new("ptel_report *")
        diag = new_diag()
        with self._lock:
            rc = lib.ptel_invocation_end(self._live(), buf, len(data), int(outcome), et, len(et),
                                         r, diag)
            if rc != Status.E_STATE:
                self._payload = (data, buf)  # accepted spans point into it
        if rc not in (0, Status.E_REJECTED):
            raise error_for(rc, diag)
        self._report = Report._from_c(r)
        return self._report

    @property
    def report(self) -> Report | None:
        """The Report of ``end``, or None before."""
        return self._report

    def _export(self, fn: Any, resource: Mapping[str, Any] | None, schema_url: str,
                scope_name: str, scope_version: str, include_invocation_span: bool) -> bytes:
        eo = _ExportOptions(resource, schema_url, scope_name, scope_version,
                            include_invocation_span)
        with self._lock:
            return _export(fn, (self._live(), eo.opts))

    def export_traces(self, resource: Mapping[str, Any] | None = None, *, schema_url: str = "",
                      scope_name: str = "", scope_version: str = "",
                      include_invocation_span: bool = True) -> bytes:
        """ExportTraceServiceRequest bytes (``b""`` when no span remains):
        the host scope with the invocation span, the plugin's scope with its
        accepted spans, under a Resource with ``resource`` attributes."""
        return self._export(lib.ptel_invocation_export_traces, resource, schema_url,
                            scope_name, scope_version, include_invocation_span)

    def export_metrics(self, resource: Mapping[str, Any] | None = None, *,
                       schema_url: str = "", scope_name: str = "", scope_version: str = "",
                       include_invocation_span: bool = True) -> bytes:
        """ExportMetricsServiceRequest bytes of the accepted DELTA metrics."""
        return self._export(lib.ptel_invocation_export_metrics, resource, schema_url,
                            scope_name, scope_version, include_invocation_span)

    def export_scope_spans(self, resource: Mapping[str, Any] | None = None, *,
                           scope_name: str = "", scope_version: str = "",
                           include_invocation_span: bool = True) -> bytes:
        """Only the ``ResourceSpans.scope_spans`` fields, to batch many
        invocations with ``ptel.wrap_traces``."""
        return self._export(lib.ptel_invocation_export_scope_spans, resource, "", scope_name,
                            scope_version, include_invocation_span)

    def export_scope_metrics(self, resource: Mapping[str, Any] | None = None, *,
                             scope_name: str = "", scope_version: str = "") -> bytes:
        return self._export(lib.ptel_invocation_export_scope_metrics, resource, "", scope_name,
                            scope_version, True)

    def to_json(self, signal: str = "traces", **export: Any) -> str:
        """Canonical OTLP/JSON of ``export_traces`` (``signal="traces"``) or
        ``export_metrics`` (``"metrics"``), with the same keyword options."""
        if signal == "traces":
            return render_json(self.export_traces(**export), JsonMessage.TRACES_DATA)
        if signal == "metrics":
            return render_json(self.export_metrics(**export), JsonMessage.METRICS_DATA)
        raise_status(Status.E_INVALID_ARGUMENT)

    def close(self) -> None:
        """Free the C invocation now (later calls raise ``ptel.StateError``)."""
        with self._lock:
            if self._ptr is not None:
                ptr, self._ptr = self._ptr, None
                ffi.release(ptr)
                self._payload = None

    def __enter__(self) -> Invocation:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def render_json(data: bytes, message: int) -> str:
    """Canonical OTLP/JSON of protobuf ``data`` of type ``message``
    (``ptel.JsonMessage``). Raises e.g. ``ptel.MalformedError`` with the
    byte offset for invalid input."""
    raw = bytes(data)
    n = ffi.new("size_t *")
    diag = new_diag()
    rc = lib.ptel_json_render(ffi.NULL, 0, n, int(message), raw, len(raw), diag)
    if rc not in (0, Status.E_BUFFER_TOO_SMALL):
        raise error_for(rc, diag)
    buf = ffi.new("char[]", max(n[0], 1))
    check(lib.ptel_json_render(buf, n[0], n, int(message), raw, len(raw), diag), diag)
    return to_str(buf, n[0])


def _wrap(fn: Any, inner: bytes, resource: Mapping[str, Any] | None, schema_url: str) -> bytes:
    eo = _ExportOptions(resource, schema_url, "", "", True)
    raw = bytes(inner)
    return _export(fn, (eo.opts, raw, len(raw)))


def wrap_traces(scope_spans: bytes, resource: Mapping[str, Any] | None = None, *,
                schema_url: str = "") -> bytes:
    """An ExportTraceServiceRequest around concatenated
    ``Invocation.export_scope_spans`` outputs."""
    return _wrap(lib.ptel_export_traces_wrap, scope_spans, resource, schema_url)


def wrap_metrics(scope_metrics: bytes, resource: Mapping[str, Any] | None = None, *,
                 schema_url: str = "") -> bytes:
    """An ExportMetricsServiceRequest around concatenated
    ``Invocation.export_scope_metrics`` outputs."""
    return _wrap(lib.ptel_export_metrics_wrap, scope_metrics, resource, schema_url)


@dataclass(frozen=True)
class AggregatorStats:
    invocations: int
    points_added: int
    points_overflowed: int
    points_conflicting: int
    metrics_dropped: int
    metrics: int
    streams: int


class Aggregator:
    """Cumulative metric streams folded from many invocations' deltas
    (thread-safe: the core takes a mutex)."""

    def __init__(self, *, cardinality_limit: int = 0, metric_limit: int = 0,
                 clock: Clock | None = None) -> None:
        o = ffi.new("ptel_aggregator_options *")
        lib.ptel_aggregator_options_init(o)
        if cardinality_limit:
            o.cardinality_limit = cardinality_limit
        if metric_limit:
            o.metric_limit = metric_limit
        self._callbacks = Callbacks(clock, None)
        self._callbacks.fill_clock(o.clock)
        out = ffi.new("ptel_aggregator **")
        check(lib.ptel_aggregator_new(out, o))
        self._ptr: Any = ffi.gc(out[0], lib.ptel_aggregator_free)

    def add(self, invocation: Invocation) -> None:
        """Fold an ended invocation's accepted metrics into the streams."""
        with invocation._lock:
            check(lib.ptel_aggregator_add(self._ptr, invocation._live()))

    def export(self, resource: Mapping[str, Any] | None = None, *,
               temporality: int = Temporality.CUMULATIVE, schema_url: str = "") -> bytes:
        """ExportMetricsServiceRequest bytes of every stream (``b""`` when
        there is none). A DELTA export resets the deltas."""
        eo = _ExportOptions(resource, schema_url, "", "", True)
        return _export(lib.ptel_aggregator_export, (self._ptr, eo.opts, int(temporality)))

    def stats(self) -> AggregatorStats:
        s = ffi.new("ptel_aggregator_stats *")
        lib.ptel_aggregator_get_stats(self._ptr, s)
        return AggregatorStats(s.invocations, s.points_added, s.points_overflowed,
                               s.points_conflicting, s.metrics_dropped, s.metrics, s.streams)
