"""`ptel.Context`: the PluginContext a host hands to a plugin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._callbacks import _EnvLookup
from ._generated import Decision, Status
from ._native import check, ffi, lib, new_diag, raise_status, to_bytes, to_str
from ._types import Limits, SpanContext

__all__ = ["Context"]

_CTX_PTR = ffi.typeof("ptel_context **")


def _size_query(fn: Any, *args: Any) -> bytes:
    """Call a size-query function (buf, cap, out_len) twice and copy out."""
    n = ffi.new("size_t *")
    rc = fn(*args, ffi.NULL, 0, n)
    if rc not in (0, Status.E_BUFFER_TOO_SMALL):
        raise_status(rc)
    buf = ffi.new("uint8_t[]", n[0] + 1)
    check(fn(*args, buf, n[0] + 1, n))
    return to_bytes(buf, n[0])


def _text(s: str | None) -> bytes:
    return b"" if not s else s.encode("utf-8", "surrogatepass")


class Context:
    """An immutable, validated PluginContext: the host's invocation span
    (trace id, parent span id, flags), tracestate, baggage, the host's
    recording decision, limits, time base and the plugin's identity.

    Build one with a class method (``from_traceparent``, ``from_bytes``,
    ``from_env``, ``from_otel`` or ``new``); they raise a ``ptel.PtelError``
    subclass for invalid input. The C object is freed when the Context is
    garbage collected; a Recorder keeps its Context alive.
    """

    __slots__ = ("_ptr", "_fields", "_value_limits", "__weakref__")

    def __init__(self, _ptr: Any) -> None:
        """Internal: use the class methods."""
        self._ptr = ffi.gc(_ptr, lib.ptel_context_free)
        self._fields: Any = None
        self._value_limits: tuple[int, int] | None = None

    # ---- constructors ----------------------------------------------------

    @classmethod
    def from_traceparent(cls, traceparent: str, tracestate: str | None = None,
                         baggage: str | None = None) -> Context:
        """From W3C header values. The decision follows the sampled flag
        (RECORD_AND_SAMPLE or DROP) and the parent is remote. An invalid
        tracestate or baggage is dropped, as W3C requires; an invalid
        traceparent raises ``ptel.TraceparentError``."""
        tp, ts, bg = _text(traceparent), _text(tracestate), _text(baggage)
        out = ffi.new(_CTX_PTR)
        diag = new_diag()
        check(lib.ptel_context_from_w3c(out, tp, len(tp), ts, len(ts), bg, len(bg),
                                        ffi.NULL, diag), diag)
        return cls(out[0])

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Context:
        """Decode PluginContext bytes (raises e.g. ``ptel.VersionError``,
        ``ptel.TruncatedError``, with the byte offset in the exception)."""
        raw = bytes(data)
        out = ffi.new(_CTX_PTR)
        diag = new_diag()
        check(lib.ptel_context_decode(out, raw, len(raw), ffi.NULL, diag), diag)
        return cls(out[0])

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Context:
        """From the environment carrier: ``PTEL_CONTEXT`` (base64
        PluginContext) when set, else ``TRACEPARENT``/``TRACESTATE``/
        ``BAGGAGE``. ``env`` defaults to ``os.environ``. Raises
        ``ptel.NotFoundError`` when neither variable is set."""
        if env is None:
            import os

            env = os.environ
        lookup = _EnvLookup(env)
        out = ffi.new(_CTX_PTR)
        diag = new_diag()
        check(lib.ptel_context_from_env(out, lib._ptel_py_getenv, lookup.handle, ffi.NULL,
                                        diag), diag)
        return cls(out[0])

    @classmethod
    def from_otel(cls, span: Any = None, **fields: Any) -> Context:
        """From an OpenTelemetry span (default: the current span of
        ``opentelemetry-api``, imported only now) and the current baggage.

        The decision is RECORD_AND_SAMPLE for a sampled span, RECORD_ONLY for
        a recording unsampled one and DROP otherwise. An invalid tracestate or
        baggage is dropped. Other keyword arguments are those of ``new``.
        Raises ``ptel.NotFoundError`` when there is no valid current span and
        ImportError when opentelemetry-api is not installed."""
        from opentelemetry import baggage as otel_baggage
        from opentelemetry import trace as otel_trace

        if span is None:
            span = otel_trace.get_current_span()
        sc = span.get_span_context()
        if not sc.is_valid:
            raise_status(Status.E_NOT_FOUND)
        parent = SpanContext.from_otel(sc)
        if "decision" not in fields:
            fields["decision"] = (Decision.RECORD_AND_SAMPLE if parent.sampled else
                                  Decision.RECORD_ONLY if span.is_recording() else
                                  Decision.DROP)
        if "tracestate" not in fields:
            fields["tracestate"] = _normalize(lib.ptel_tracestate_normalize,
                                              sc.trace_state.to_header())
        if "baggage" not in fields:
            fields["baggage"] = _normalize(lib.ptel_baggage_normalize,
                                           _baggage_header(otel_baggage.get_all()))
        return cls.new(trace_id=parent.trace_id, parent_span_id=parent.span_id,
                       trace_flags=parent.trace_flags, is_remote=parent.is_remote, **fields)

    @classmethod
    def new(cls, *, trace_id: bytes, parent_span_id: bytes, trace_flags: int = 1,
            is_remote: bool = False, tracestate: str = "", baggage: str = "",
            decision: int = Decision.RECORD_AND_SAMPLE, limits: Limits | None = None,
            time_base_unix_nano: int = 0, plugin_name: str = "", plugin_version: str = "",
            hook: str = "", features: int = 0) -> Context:
        """From explicit fields (``ptel_context_new``), validated: non-zero
        ids, tracestate and baggage grammar, UTF-8 names, the decision."""
        f = ffi.new("ptel_context_fields *")
        lib.ptel_context_fields_init(f)
        keep = []
        if len(trace_id) != 16 or len(parent_span_id) != 8:
            raise_status(Status.E_INVALID_ID)
        ffi.memmove(f.parent.trace_id, bytes(trace_id), 16)
        ffi.memmove(f.parent.span_id, bytes(parent_span_id), 8)
        if not 0 <= trace_flags <= 0xFF or not 0 <= decision <= 0xFFFFFFFF:
            raise_status(Status.E_INVALID_ARGUMENT)
        f.parent.trace_flags = trace_flags
        f.parent.is_remote = bool(is_remote)
        for name, value in (("tracestate", tracestate), ("baggage", baggage),
                            ("plugin_name", plugin_name), ("plugin_version", plugin_version),
                            ("hook", hook)):
            data = _text(value)
            p = ffi.from_buffer(data)
            keep.append(p)
            s = getattr(f, name)
            s.ptr = p
            s.len = len(data)
        f.decision = int(decision)
        if limits is not None:
            limits._to_c(f.limits)
        if not 0 <= time_base_unix_nano < 2**64 or not 0 <= features < 2**64:
            raise_status(Status.E_INVALID_ARGUMENT)
        f.time_base_unix_nano = time_base_unix_nano
        f.features = features
        out = ffi.new(_CTX_PTR)
        diag = new_diag()
        check(lib.ptel_context_new(out, f, ffi.NULL, diag), diag)
        return cls(out[0])

    # ---- carriers --------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The PluginContext protobuf encoding (canonical)."""
        return _size_query(lib.ptel_context_encode, self._ptr)

    def to_env(self) -> dict[str, str]:
        """The environment carrier for a subprocess plugin: TRACEPARENT,
        TRACESTATE and BAGGAGE (when non-empty) and PTEL_CONTEXT."""
        n = ffi.new("size_t *")
        rc = lib.ptel_context_to_env(self._ptr, ffi.NULL, 0, n)
        if rc not in (0, Status.E_BUFFER_TOO_SMALL):
            raise_status(rc)
        buf = ffi.new("char[]", n[0] + 1)
        check(lib.ptel_context_to_env(self._ptr, buf, n[0] + 1, n))
        out: dict[str, str] = {}
        for entry in to_bytes(buf, n[0]).split(b"\0"):
            if entry:
                key, _, value = entry.decode("utf-8", "surrogateescape").partition("=")
                out[key] = value
        return out

    @property
    def traceparent(self) -> str:
        """The ``traceparent`` value of the context's span."""
        buf = ffi.new("char[64]")
        n = ffi.new("size_t *")
        check(lib.ptel_context_traceparent(self._ptr, buf, 64, n))
        return to_str(buf, n[0])

    # ---- fields ----------------------------------------------------------

    def _get(self) -> Any:
        if self._fields is None:
            f = ffi.new("ptel_context_fields *")
            lib.ptel_context_get(self._ptr, f)

            def s(v: Any) -> str:
                return to_str(v.ptr, v.len)

            self._fields = (
                int(f.protocol_version), SpanContext._from_c(f.parent), s(f.tracestate),
                s(f.baggage), Decision(f.decision) if f.decision <= 2 else int(f.decision),
                Limits._from_c(f.limits), int(f.time_base_unix_nano), s(f.plugin_name),
                s(f.plugin_version), s(f.hook), int(f.features))
        return self._fields

    @property
    def protocol_version(self) -> int:
        return int(self._get()[0])

    @property
    def parent(self) -> SpanContext:
        """The host's invocation span: parent of the plugin's top-level spans."""
        sc: SpanContext = self._get()[1]
        return sc

    @property
    def trace_id(self) -> bytes:
        return self.parent.trace_id

    @property
    def parent_span_id(self) -> bytes:
        return self.parent.span_id

    @property
    def trace_flags(self) -> int:
        return self.parent.trace_flags

    @property
    def is_remote(self) -> bool:
        return self.parent.is_remote

    @property
    def tracestate(self) -> str:
        return str(self._get()[2])

    @property
    def baggage(self) -> str:
        """The W3C baggage string, already filtered by the host; read-only."""
        return str(self._get()[3])

    @property
    def decision(self) -> int:
        """The host's recording decision (``ptel.Decision``)."""
        return int(self._get()[4])

    @property
    def limits(self) -> Limits:
        """The limits as sent (zero fields mean the defaults)."""
        limits: Limits = self._get()[5]
        return limits

    def _attribute_limits(self) -> tuple[int, int]:
        """Resolved (attribute_value_length, attribute_depth), cached."""
        if self._value_limits is None:
            limits = self.limits.resolved()
            self._value_limits = (limits.attribute_value_length, limits.attribute_depth)
        return self._value_limits

    @property
    def time_base_unix_nano(self) -> int:
        return int(self._get()[6])

    @property
    def plugin_name(self) -> str:
        return str(self._get()[7])

    @property
    def plugin_version(self) -> str:
        return str(self._get()[8])

    @property
    def hook(self) -> str:
        return str(self._get()[9])

    @property
    def features(self) -> int:
        return int(self._get()[10])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Context) and self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return f"<ptel.Context {self.traceparent} decision={self.decision}>"


def _normalize(fn: Any, value: str) -> str:
    """A W3C header normalised, or "" when invalid (W3C: drop invalid)."""
    data = _text(value)
    if not data:
        return ""
    n = ffi.new("size_t *")
    buf = ffi.new("char[]", len(data) + 1)
    if fn(buf, len(data) + 1, n, data, len(data), ffi.NULL) != 0:
        return ""
    return to_str(buf, n[0])


def _baggage_header(entries: Mapping[str, object]) -> str:
    """Encode an OpenTelemetry baggage mapping as a W3C baggage value. An
    entry whose key is not a W3C token is left out (the others are kept)."""
    parts = []
    for key, value in entries.items():
        data = _text(str(value))
        buf = ffi.new("char[]", 3 * len(data) + 1)
        n = ffi.new("size_t *")
        if lib.ptel_baggage_encode_value(buf, 3 * len(data) + 1, n, data, len(data)) != 0:
            continue
        member = f"{key}={to_str(buf, n[0])}"
        if _normalize(lib.ptel_baggage_normalize, member) == member:
            parts.append(member)
    return ",".join(parts)
