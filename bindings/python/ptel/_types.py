"""Plain value types shared by the plugin SDK and the host API."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ._generated import TRACE_FLAG_SAMPLED
from ._native import check, ffi, lib, new_diag, to_str

__all__ = ["SpanContext", "Limits", "Clock", "IdGenerator"]


@dataclass(frozen=True, slots=True)
class SpanContext:
    """The identity of a span as it propagates (W3C trace context).

    Attributes:
        trace_id: 16 bytes.
        span_id: 8 bytes.
        trace_flags: all 8 W3C trace-flag bits (0x01 sampled, 0x02 random).
        is_remote: the span was created in another process.
    """

    trace_id: bytes
    span_id: bytes
    trace_flags: int = 0
    is_remote: bool = False

    @property
    def is_valid(self) -> bool:
        """Both ids have the right length and are not all zero."""
        return (len(self.trace_id) == 16 and len(self.span_id) == 8
                and any(self.trace_id) and any(self.span_id))

    @property
    def sampled(self) -> bool:
        return bool(self.trace_flags & TRACE_FLAG_SAMPLED)

    @property
    def trace_id_hex(self) -> str:
        return self.trace_id.hex()

    @property
    def span_id_hex(self) -> str:
        return self.span_id.hex()

    @property
    def traceparent(self) -> str:
        """The version-00 ``traceparent`` header value (only the sampled and
        random flag bits are written, as W3C requires)."""
        tp = ffi.new("ptel_traceparent *")
        tp.version = 0
        ffi.memmove(tp.trace_id, self.trace_id[:16].ljust(16, b"\0"), 16)
        ffi.memmove(tp.parent_id, self.span_id[:8].ljust(8, b"\0"), 8)
        tp.trace_flags = self.trace_flags & 0xFF
        buf = ffi.new("char[56]")
        n = ffi.new("size_t *")
        check(lib.ptel_traceparent_format(buf, 56, n, tp))
        return to_str(buf, n[0])

    @classmethod
    def from_traceparent(cls, traceparent: str, *, is_remote: bool = True) -> SpanContext:
        """Parse a ``traceparent`` value; raises ptel.TraceparentError."""
        data = traceparent.encode("utf-8", "surrogatepass")
        tp = ffi.new("ptel_traceparent *")
        diag = new_diag()
        check(lib.ptel_traceparent_parse(tp, data, len(data), diag), diag)
        return cls(ffi.buffer(tp.trace_id, 16)[:], ffi.buffer(tp.parent_id, 8)[:],
                   tp.trace_flags, is_remote)

    @classmethod
    def from_otel(cls, span_context: Any) -> SpanContext:
        """Convert an ``opentelemetry.trace.SpanContext`` (integer ids)."""
        return cls(int(span_context.trace_id).to_bytes(16, "big"),
                   int(span_context.span_id).to_bytes(8, "big"),
                   int(span_context.trace_flags) & 0xFF, bool(span_context.is_remote))

    @classmethod
    def _from_c(cls, sc: Any) -> SpanContext:
        return cls(ffi.buffer(sc.trace_id, 16)[:], ffi.buffer(sc.span_id, 8)[:],
                   int(sc.trace_flags), bool(sc.is_remote))

    def _to_c(self, out: Any) -> None:
        ffi.memmove(out.trace_id, self.trace_id[:16].ljust(16, b"\0"), 16)
        ffi.memmove(out.span_id, self.span_id[:8].ljust(8, b"\0"), 8)
        out.trace_flags = self.trace_flags & 0xFF
        out.is_remote = self.is_remote


INVALID_SPAN_CONTEXT = SpanContext(bytes(16), bytes(8), 0, False)


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits a host enforces and sends to the plugin. A zero field
    means the default (``Limits.defaults()`` lists them)."""

    attribute_count: int = 0
    attribute_value_length: int = 0
    attribute_depth: int = 0
    event_count: int = 0
    link_count: int = 0
    attributes_per_event: int = 0
    attributes_per_link: int = 0
    span_count: int = 0
    metric_count: int = 0
    metric_cardinality: int = 0
    payload_bytes: int = 0

    @classmethod
    def defaults(cls) -> Limits:
        """Every field at its default value (``ptel_limits_init``)."""
        c = ffi.new("ptel_limits *")
        lib.ptel_limits_init(c)
        return cls._from_c(c)

    def resolved(self) -> Limits:
        """A copy with every zero field replaced by its default."""
        c = ffi.new("ptel_limits *")
        self._to_c(c)
        lib.ptel_limits_resolve(c)
        return self._from_c(c)

    @classmethod
    def _from_c(cls, c: Any) -> Limits:
        return cls(**{f.name: int(getattr(c, f.name)) for f in dataclasses.fields(cls)})

    def _to_c(self, c: Any) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not 0 <= v <= 0xFFFFFFFF:
                from ._generated import Status
                from ._native import raise_status

                raise_status(Status.E_INVALID_ARGUMENT)
            setattr(c, f.name, v)


class Clock:
    """An injectable clock for recorders, invocations and aggregators.

    Override ``monotonic_ns`` (nanoseconds from any origin, never going
    backwards) and/or ``realtime_ns`` (Unix-epoch nanoseconds). A method left
    as the base class's uses the core's system clock without calling into
    Python. Exceptions in a callback are swallowed (the time is then 0).
    """

    def monotonic_ns(self) -> int:
        raise NotImplementedError

    def realtime_ns(self) -> int:
        raise NotImplementedError


class IdGenerator:
    """An injectable span and trace id generator. ``generate(n)`` returns
    ``n`` (8 or 16) bytes; an all-zero, short or failing result makes the
    core fall back to its own generator."""

    def generate(self, n: int) -> bytes:
        raise NotImplementedError
