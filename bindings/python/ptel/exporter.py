"""The core's built-in exporters (``core/include/ptel/export.h``).

    with ptel.Exporter.from_env() as exporter:      # OTEL_* variables; JSON lines by default
        ...
        report = inv.end(payload)
        exporter.submit(inv)                        # never blocks on the network
    # leaving the block flushes and shuts down (deadline 10 s)

Kinds: ``"otlp-http"`` (protobuf over HTTP, optional gzip, a background
thread with a bounded queue and retries; libcurl is loaded at run time),
``"json-lines"`` (the OpenTelemetry Collector file exporter's format),
``"console"`` (trace tree and metrics table), ``"memory"`` (for tests) and
``"none"``. Traces are exported per submit; metrics are aggregated and
exported each metric cycle, flush and shutdown, with the exporter's own
self-telemetry. All calls but ``close`` are thread-safe.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from ._attrs import AttrPacker
from ._callbacks import Callbacks, _EnvLookup
from ._errorbase import PtelError
from ._generated import (
    Compression,
    ExportDrop,
    ExporterKind,
    ExportSignal,
    Status,
    TemporalityPreference,
)
from ._native import (check, error_for, ffi, lib, new_diag, raise_status, struct_json,
                      to_bytes)
from ._types import Clock
from .host import Invocation

__all__ = ["Exporter", "ExporterStats", "SignalStats", "KINDS"]

_log = logging.getLogger("ptel.exporter")

KINDS: dict[str, ExporterKind] = {
    "none": ExporterKind.NONE,
    "otlp-http": ExporterKind.OTLP_HTTP,
    "json-lines": ExporterKind.JSONL,
    "console": ExporterKind.CONSOLE,
    "memory": ExporterKind.MEMORY,
}
"""Names of the exporter kinds."""

_STR_OPTIONS = ("endpoint", "traces_endpoint", "metrics_endpoint", "headers", "traces_headers",
                "metrics_headers", "service_name", "resource_attributes")
_INT_OPTIONS = ("timeout_ms", "metric_interval_ms", "max_queue_bytes", "max_queue_requests",
                "max_batch_bytes", "schedule_delay_ms", "retry_initial_ms", "retry_max_ms",
                "retry_max_elapsed_ms", "fd", "console_flags")
_DEFAULT_DEADLINE_MS = 10_000


@dataclass(frozen=True)
class SignalStats:
    """Counters of one signal; items are spans or data points."""

    requests_submitted: int
    items_submitted: int
    items_sent: int
    dropped: dict[str, int]
    """items dropped per cause (``"queue_full"``, ``"rejected"``,
    ``"retries_exhausted"``, ``"partial_success"``, ``"shutdown"``,
    ``"error"``), every cause listed"""
    exports_ok: int
    exports_failed: int
    retries: int
    queued_items: int
    queued_bytes: int

    @property
    def items_dropped(self) -> int:
        return sum(self.dropped.values())


@dataclass(frozen=True)
class ExporterStats:
    """A consistent snapshot of the exporter's counters."""

    traces: SignalStats
    metrics: SignalStats
    invocations: int
    queue_requests: int
    queue_bytes: int
    last_http_status: int
    _raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def _from_c(cls, s: Any) -> ExporterStats:
        def signal(i: int) -> SignalStats:
            g = s.signals[i]
            dropped = {ffi.string(lib.ptel_export_drop_name(d)).decode(): int(g.items_dropped[d])
                       for d in range(int(ExportDrop.COUNT))}
            return SignalStats(int(g.requests_submitted), int(g.items_submitted),
                               int(g.items_sent), dropped, int(g.exports_ok),
                               int(g.exports_failed), int(g.retries), int(g.queued_items),
                               int(g.queued_bytes))

        return cls(signal(ExportSignal.TRACES), signal(ExportSignal.METRICS),
                   int(s.invocations), int(s.queue_requests), int(s.queue_bytes),
                   int(s.last_http_status), ffi.buffer(s)[:])

    @property
    def dropped(self) -> int:
        """Items dropped, both signals."""
        return self.traces.items_dropped + self.metrics.items_dropped

    def to_json(self) -> str:
        """The core's one-line JSON rendering."""
        return struct_json("ptel_exporter_stats", self._raw, lib.ptel_exporter_stats_to_json)


def _kind(kind: ExporterKind | str | int) -> int:
    if isinstance(kind, str):
        if kind not in KINDS:
            raise ValueError(f"unknown exporter kind {kind!r}; one of {', '.join(KINDS)}")
        return int(KINDS[kind])
    return int(ExporterKind(kind))


def _headers(value: str | Mapping[str, str]) -> str:
    """The OTEL_EXPORTER_OTLP_HEADERS form of a mapping (percent-encoded)."""
    if isinstance(value, str):
        return value
    from urllib.parse import quote

    return ",".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in value.items())


class Exporter:
    """A built-in exporter of the core (``ptel_exporter``).

    ``Exporter(kind, **options)`` starts from the core's defaults;
    ``Exporter.from_env(**options)`` applies the standard OpenTelemetry
    variables first. Options (``None`` keeps the default): ``endpoint``,
    ``traces_endpoint``, ``metrics_endpoint``, ``headers`` (a mapping or
    the ``k=v,k2=v2`` form), ``traces_headers``, ``metrics_headers``,
    ``timeout_ms``, ``compression`` (``"gzip"`` / ``"none"``),
    ``service_name``, ``resource_attributes`` (``k=v,...``), ``resource``
    (a mapping of typed attributes, which wins), ``temporality``
    (``ptel.TemporalityPreference``), ``metric_interval_ms``,
    ``self_telemetry``, ``include_invocation_span``, ``max_queue_bytes``,
    ``max_queue_requests``, ``max_batch_bytes``, ``schedule_delay_ms``,
    ``retry_initial_ms``, ``retry_max_ms``, ``retry_max_elapsed_ms``,
    ``path`` (JSON lines: append to this file) or ``fd`` (default 1),
    ``console_flags`` and ``clock`` (a ``ptel.Clock``).

    Raises ``ptel.PtelError`` subclasses when the core refuses the options
    (e.g. ``ptel.UnsupportedError`` when libcurl cannot be loaded).
    """

    def __init__(self, kind: ExporterKind | str | int | None = None, *,
                 clock: Clock | None = None, **options: Any) -> None:
        self._ptr: Any = None
        self._shutdown_result: bool | None = None
        self.env_error: PtelError | None = None
        """the first OTEL_* variable ``from_env`` ignored for a bad value"""
        self._build(kind, clock, options, None)

    @classmethod
    def from_env(cls, kind: ExporterKind | str | int | None = None, *,
                 env: Mapping[str, str] | None = None, clock: Clock | None = None,
                 **options: Any) -> Exporter:
        """Configured by OTEL_SDK_DISABLED, OTEL_EXPORTER_OTLP_* (any endpoint
        selects OTLP/HTTP), OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE of ``env`` (default
        ``os.environ``), then ``kind`` and ``options``. A variable with a bad
        value is ignored (logged, and kept in ``env_error``), as OpenTelemetry
        SDKs do."""
        self = cls.__new__(cls)
        self._ptr = None
        self._shutdown_result = None
        self.env_error = None
        self._build(kind, clock, options, os.environ if env is None else env)
        return self

    def _build(self, kind: ExporterKind | str | int | None, clock: Clock | None,
               options: Mapping[str, Any], env: Mapping[str, str] | None) -> None:
        o = ffi.new("ptel_exporter_options *")
        lib.ptel_exporter_options_init(o)
        keep: list[Any] = [o]
        if env is not None:
            lookup = _EnvLookup(env)  # its strings stay alive until ptel_exporter_new
            keep.append(lookup)
            diag = new_diag()
            rc = lib.ptel_exporter_options_from_env(o, lib._ptel_py_getenv, lookup.handle, diag)
            if rc == Status.E_VALUE:
                self.env_error = error_for(rc, diag)
                _log.warning("ignored %s: %s", ffi.string(
                    lib.ptel_exporter_env_name(diag.field)).decode(), self.env_error)
            else:
                check(rc, diag)
        if kind is not None:
            o.kind = _kind(kind)
        for name, value in options.items():
            if value is None:
                continue
            if name in _STR_OPTIONS:
                text = _headers(value) if name.endswith("headers") else str(value)
                data = ffi.from_buffer(text.encode("utf-8", "surrogatepass"))
                keep.append(data)
                s = getattr(o, name)
                s.ptr = data
                s.len = len(data)
            elif name in _INT_OPTIONS:
                setattr(o, name, int(value))
            elif name == "compression":
                o.compression = int(Compression.GZIP if value in ("gzip", Compression.GZIP)
                                    else Compression.NONE if value in ("none", Compression.NONE)
                                    else Compression(value))
            elif name == "temporality":
                o.temporality = int(TemporalityPreference(value))
            elif name in ("self_telemetry", "include_invocation_span"):
                setattr(o, name, bool(value))
            elif name == "path":
                path = ffi.new("char[]", os.fsencode(value))
                keep.append(path)
                o.path = path
            elif name == "resource":
                packer = AttrPacker(max_len=1 << 62, max_depth=64)
                keep.append(packer)
                o.resource, o.resource_count = packer.pack(dict(value))
            else:
                raise TypeError(f"unknown exporter option {name!r}")
        self._callbacks = Callbacks(clock, None)  # the exporter's thread may call it
        self._callbacks.fill_clock(o.clock)
        out = ffi.new("ptel_exporter **")
        diag = new_diag()
        check(lib.ptel_exporter_new(out, o, diag), diag)
        self._ptr = ffi.gc(out[0], lib.ptel_exporter_free)
        self.kind = ExporterKind(o.kind)

    def _live(self) -> Any:
        if self._ptr is None:
            raise_status(Status.E_STATE)
        return self._ptr

    def submit(self, invocation: Invocation) -> bool:
        """Queue or write an ended invocation's traces, fold its metrics into
        the exporter's aggregator and count its report. Never blocks on the
        network. Returns False when the data was dropped on the spot (a
        failed write, no memory: counted in the stats). Raises
        ``ptel.StateError`` before ``invocation.end`` or after shutdown."""
        with invocation._lock:
            rc = lib.ptel_exporter_submit_invocation(self._live(), invocation._live())
        return self._submitted(rc)

    def submit_traces(self, request: bytes) -> bool:
        """Submit an ExportTraceServiceRequest (copied). Raises
        ``ptel.MalformedError`` / ``ptel.TruncatedError`` when its framing is
        broken; otherwise as ``submit``."""
        raw = bytes(request)
        return self._submitted(lib.ptel_exporter_submit_traces(self._live(), raw, len(raw)))

    def submit_metrics(self, request: bytes) -> bool:
        """Submit an ExportMetricsServiceRequest, exported as it is."""
        raw = bytes(request)
        return self._submitted(lib.ptel_exporter_submit_metrics(self._live(), raw, len(raw)))

    @staticmethod
    def _submitted(rc: int) -> bool:
        if rc in (Status.E_IO, Status.E_NOMEM):
            return False  # counted by the core as dropped
        check(rc)
        return True

    def flush(self, deadline_ms: int = _DEFAULT_DEADLINE_MS) -> bool:
        """Run a metric cycle and wait until everything submitted so far is
        sent or dropped. False when the deadline passed first (the rest is
        still sent later). Raises ``ptel.StateError`` after shutdown."""
        rc = lib.ptel_exporter_flush(self._live(), max(0, int(deadline_ms)))
        if rc == Status.E_TIMEOUT:
            return False
        check(rc)
        return True

    def shutdown(self, deadline_ms: int = _DEFAULT_DEADLINE_MS) -> bool:
        """Flush, then stop: what is not sent by the deadline is dropped and
        counted. True when nothing was left. Later submits raise
        ``ptel.StateError``; calling it again returns the first result."""
        if self._shutdown_result is None:
            rc = lib.ptel_exporter_shutdown(self._live(), max(0, int(deadline_ms)))
            if rc not in (0, Status.E_TIMEOUT):
                check(rc)
            self._shutdown_result = rc == 0
        return self._shutdown_result

    def stats(self) -> ExporterStats:
        s = ffi.new("ptel_exporter_stats *")
        lib.ptel_exporter_get_stats(self._live(), s)
        return ExporterStats._from_c(s)

    def memory(self, signal: ExportSignal | int = ExportSignal.TRACES) -> list[bytes]:
        """The requests a ``"memory"`` exporter holds for ``signal`` (copies,
        in submission order); empty for other kinds."""
        ptr = self._live()
        n = int(lib.ptel_exporter_memory_count(ptr, int(signal)))
        data = ffi.new("const uint8_t **")
        size = ffi.new("size_t *")
        out = []
        for i in range(n):
            check(lib.ptel_exporter_memory_get(ptr, int(signal), i, data, size))
            out.append(to_bytes(data[0], size[0]))
        return out

    def memory_clear(self) -> None:
        lib.ptel_exporter_memory_clear(self._live())

    def close(self) -> None:
        """Free the exporter now (shutting it down with a deadline of 0 if
        it was not). No other call may be running."""
        if self._ptr is not None:
            ptr, self._ptr = self._ptr, None
            ffi.release(ptr)

    def __enter__(self) -> Exporter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.shutdown()
        finally:
            self.close()
