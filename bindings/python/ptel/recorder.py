"""The plugin SDK: `ptel.Recorder`, spans, instruments and the current span.

Telemetry never raises into plugin code: every public method here catches
everything at its boundary and counts the problem in the recorder's drop
counters (the core does the counting, in the payload's DropCounts). With
``Recorder(..., strict=True)`` errors raise instead, for tests.

Thread-safety: a Recorder serialises its C calls with a lock, so spans and
instruments may be used from several threads (the core itself is
single-threaded per recorder).
"""

from __future__ import annotations

import functools
import inspect
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Optional, TypeVar, Union, cast

from ._attrs import INT64_MAX, INT64_MIN, AttrPacker
from ._callbacks import Callbacks
from ._generated import MetricKind, NumberType, SpanKind, Status, StatusCode
from ._native import error_for, ffi, lib, to_bytes
from ._speedups import Lock, NonRecordingSpanBase, SpanBase, SpanStarter, bind_core, span_returner
from ._types import INVALID_SPAN_CONTEXT, Clock, IdGenerator, SpanContext
from .context import Context

__all__ = [
    "Recorder", "Span", "NonRecordingSpan", "DropCounts", "Counter", "UpDownCounter", "Gauge",
    "Histogram", "current_span", "Attributes",
]

Attributes = Union[Mapping[str, Any], Iterable[tuple[str, Any]]]
"""Attributes of a span, event, link or measurement: a mapping (or pairs)
of non-empty string keys to values (see the package README for types)."""

F = TypeVar("F", bound=Callable[..., Any])

NULL: Any = ffi.NULL
_SPAN_PP = ffi.typeof("ptel_span **")
_SPAN_P = ffi.typeof("ptel_span *")
_UPTR = ffi.typeof("uintptr_t")

# The C functions of the span path, looked up once (each `lib.x` is a lookup).
_span_start = lib.ptel_span_start
_span_start_attrs = lib.ptel_span_start_with_attributes


def _address(p: Any) -> int:
    return int(ffi.cast(_UPTR, p))

# Span names as UTF-8, encoded once: names are few (OpenTelemetry asks for
# low-cardinality names), so the table stays small; it stops growing at
# _NAMES_MAX entries and later names are encoded per call.
_NAMES: dict[str, bytes] = {}
_NAMES_MAX = 4096

# The current span of the running thread or asyncio task.
_current: ContextVar[Optional[Union[Span, NonRecordingSpan]]] = ContextVar(
    "ptel_current_span", default=None)

# The span path in C (ptel._speedups) calls the core through the CFFI
# extension's functions, so that there is one copy of the core.
bind_core(current=_current,
          **{name: _address(ffi.addressof(lib, "ptel_" + name))
             for name in ("span_start", "span_start_with_attributes", "span_end")})


def _kind_value(kind: Any) -> int:
    """ptel.SpanKind or int, or any enum named like a SpanKind member
    (opentelemetry.trace.SpanKind has other numbers, so map it by name)."""
    if isinstance(kind, int):
        return int(kind)
    return int(SpanKind[kind.name])


def _status_value(code: Any) -> int:
    if isinstance(code, int):
        return int(code)
    return int(StatusCode[code.name])


def _text(s: Any) -> tuple[Any, int]:
    """A str as UTF-8 for the core; a non-str is passed as NULL with a
    non-zero length, which the core refuses and counts."""
    if type(s) is str or isinstance(s, str):
        b = s.encode("utf-8", "surrogatepass")
        return b, len(b)
    if isinstance(s, bytes):
        return s, len(s)
    return NULL, 1


def _exception_type(exc: BaseException) -> str:
    t = type(exc)
    module = t.__module__
    return t.__qualname__ if module in (None, "builtins") else f"{module}.{t.__qualname__}"


def _exception_message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not break the plugin
        return object.__repr__(exc)


def _as_span_context(ctx: Any) -> tuple[SpanContext, str]:
    """Anything that names a span: ptel types, OpenTelemetry span contexts
    and spans. Returns the SpanContext and its tracestate."""
    if isinstance(ctx, SpanContext):
        return ctx, ""
    if isinstance(ctx, (Span, NonRecordingSpan)):
        return ctx.get_span_context(), ""
    if isinstance(ctx, Context):
        return ctx.parent, ctx.tracestate
    if hasattr(ctx, "get_span_context"):  # an OpenTelemetry span
        ctx = ctx.get_span_context()
    state = getattr(ctx, "trace_state", None)
    return SpanContext.from_otel(ctx), state.to_header() if state is not None else ""


@dataclass(frozen=True)
class DropCounts:
    """What the recorder refused or dropped (also sent in the payload)."""

    spans: int = 0
    """spans refused by the span_count limit"""
    metrics: int = 0
    """instruments refused (limit, invalid name or unit, conflict)"""
    metric_points: int = 0
    """measurements refused (invalid value or instrument)"""
    errors: int = 0
    """API misuse: invalid arguments, calls in the wrong state"""


class NonRecordingSpan(NonRecordingSpanBase):
    """A span that records nothing and costs nothing: what ``Recorder.span``
    returns when the host's decision is DROP or there is no context. One
    shared object per recorder. Its no-op methods (``__enter__``,
    ``__exit__``, ``set_attribute``, ``add_event``, ...) are C functions of
    the binding's small ``ptel._speedups`` extension: they check their
    arguments as Python would and return at once, without running Python
    bytecode and without calling the ptel core. It still carries the
    context's span for propagation. It does not refer to its Recorder, so
    that a Recorder is freed as soon as it is dropped (not by the cyclic
    garbage collector, which would keep the C recorder's memory longer)."""

    __slots__ = ("_source", "_sc")

    def __init__(self, source: Callable[[], SpanContext] | None) -> None:
        self._source = source  # computes the span context once, on demand
        self._sc: SpanContext | None = None

    def get_span_context(self) -> SpanContext:
        """The context's span (for propagation), or an invalid context."""
        sc = self._sc
        if sc is None:
            sc = self._sc = INVALID_SPAN_CONTEXT if self._source is None else self._source()
        return sc

    @property
    def traceparent(self) -> str:
        return self.get_span_context().traceparent

    def __repr__(self) -> str:
        return "<ptel.NonRecordingSpan>"


def _nonrecording_context(ctx: Context, ptr: Any, lock: Any, spanp: Any,
                          recording: bool) -> SpanContext:
    """What a recorder's non-recording span reports: a recording recorder's
    is the context's span; a disabled recorder's comes from the core."""
    if recording:
        return ctx.parent
    c = ffi.new("ptel_span_context *")
    with lock:
        lib.ptel_span_start(spanp, ptr, NULL, NULL, 0, 0, 0)
        lib.ptel_span_get_context(spanp[0], c)
    return SpanContext._from_c(c)


_NO_CONTEXT_SPAN = NonRecordingSpan(None)
_NO_CONTEXT_SPANS = span_returner(_NO_CONTEXT_SPAN)


def current_span() -> Span | NonRecordingSpan:
    """The span entered most recently in this thread or asyncio task (with
    ``with rec.span(...)``), or a non-recording span."""
    span = _current.get()
    return _NO_CONTEXT_SPAN if span is None else span


class Span(SpanBase):
    """A recording span. Created by ``Recorder.span``; a context manager
    that makes it the current span and ends it on exit. An exception leaving
    the block is recorded (an "exception" event and status ERROR) and then
    propagates unchanged.

    ``__enter__`` and ``__exit__`` (and the fields) are C, in the binding's
    ``ptel._speedups`` extension (SpanBase): they set the current span and
    call the core's ``ptel_span_end``, as the rest of this class does
    through CFFI."""

    __slots__ = ()

    def __init__(self, rec: Recorder, ptr: Any) -> None:
        self._rec = rec
        self._lock = rec._lock
        self._cptr = ptr
        self._addr = int(ffi.cast(_UPTR, ptr))

    @property
    def _ptr(self) -> Any:
        """The span as a CFFI ``ptel_span *``, made on first use (spans that
        are only entered and exited never need one)."""
        p = self._cptr
        if p is None:
            p = self._cptr = ffi.cast(_SPAN_P, self._addr)
        return p

    def _done(self, rc: int) -> None:
        if rc and self._rec._strict:
            raise error_for(rc)

    def _fail(self) -> None:
        """A Python-level error inside a call: re-raise when strict, else
        count it in the recorder's error counter."""
        rec = self._rec
        if rec._strict:
            raise
        rec._count_error()

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute (overwrites an existing key)."""
        self.set_attributes(((key, value),))

    def set_attributes(self, attributes: Attributes) -> None:
        """Set attributes, all in one C call."""
        rec = self._rec
        lock = rec._lock
        try:
            lock.acquire()
            try:
                arr, n = rec._packer.pack(attributes)
                rc = lib.ptel_span_set_attributes(self._ptr, arr, n)
            finally:
                lock.release()
            if rc:
                self._done(rc)
        except Exception:
            self._fail()

    def add_event(self, name: str, attributes: Attributes | None = None,
                  timestamp: int | None = None) -> None:
        """Add an event; ``timestamp`` in Unix nanoseconds, default now."""
        rec = self._rec
        lock = rec._lock
        try:
            nb, nl = _text(name)
            lock.acquire()
            try:
                arr, n = rec._packer.pack(attributes) if attributes else (NULL, 0)
                rc = lib.ptel_span_add_event(self._ptr, nb, nl, timestamp or 0, arr, n)
            finally:
                lock.release()
            if rc:
                self._done(rc)
        except Exception:
            self._fail()

    def add_link(self, context: Any, attributes: Attributes | None = None,
                 tracestate: str | None = None) -> None:
        """Link to another span: a ``ptel.SpanContext``, ptel span or
        Context, or an OpenTelemetry span or span context."""
        rec = self._rec
        lock = rec._lock
        try:
            sc, state = _as_span_context(context)
            if tracestate is not None:
                state = tracestate
            c = ffi.new("ptel_span_context *")
            sc._to_c(c)
            tb, tl = _text(state) if state else (NULL, 0)
            lock.acquire()
            try:
                arr, n = rec._packer.pack(attributes) if attributes else (NULL, 0)
                rc = lib.ptel_span_add_link(self._ptr, c, tb, tl, arr, n)
            finally:
                lock.release()
            if rc:
                self._done(rc)
        except Exception:
            self._fail()

    def set_status(self, code: Any, description: str | None = None) -> None:
        """Set the status (``ptel.StatusCode`` or OpenTelemetry's): UNSET is
        ignored, OK is final, the description is kept only for ERROR."""
        rec = self._rec
        try:
            db, dl = _text(description) if description else (NULL, 0)
            lock = rec._lock
            lock.acquire()
            try:
                rc = lib.ptel_span_set_status(self._ptr, code if type(code) is int else _status_value(code), db, dl)
            finally:
                lock.release()
            if rc:
                self._done(rc)
        except Exception:
            self._fail()

    def record_exception(self, exception: BaseException, timestamp: int | None = None) -> None:
        """Record an "exception" event (exception.type, .message and
        .stacktrace) and set status ERROR with the message."""
        rec = self._rec
        try:
            tb, tl = _text(_exception_type(exception))
            mb, ml = _text(_exception_message(exception))
            sb, sl = _text("".join(traceback.format_exception(
                type(exception), exception, exception.__traceback__)))
            with rec._lock:
                rc = lib.ptel_span_record_exception(self._ptr, tb, tl, mb, ml, sb, sl,
                                                    timestamp or 0)
            if rc:
                self._done(rc)
        except Exception:
            self._fail()

    def update_name(self, name: str) -> None:
        rec = self._rec
        try:
            nb, nl = _text(name)
            lock = rec._lock
            lock.acquire()
            try:
                rc = lib.ptel_span_update_name(self._ptr, nb, nl)
            finally:
                lock.release()
            if rc:
                self._done(rc)
        except Exception:
            self._fail()

    def end(self, end_time: int | None = None) -> None:
        """End the span (``end_time`` in Unix nanoseconds, default now).
        Ending twice is counted as an error; the span stays a valid parent."""
        rec = self._rec
        try:
            lock = rec._lock
            lock.acquire()
            try:
                rc = lib.ptel_span_end(self._ptr, end_time or 0)
            finally:
                lock.release()
            if rc:
                self._done(rc)
        except Exception:
            self._fail()

    def is_recording(self) -> bool:
        """True until the span ends."""
        with self._rec._lock:
            return bool(lib.ptel_span_is_recording(self._ptr))

    def get_span_context(self) -> SpanContext:
        c = ffi.new("ptel_span_context *")
        with self._rec._lock:
            lib.ptel_span_get_context(self._ptr, c)
        return SpanContext._from_c(c)

    @property
    def traceparent(self) -> str:
        """The span's ``traceparent``, for calls the plugin makes."""
        return self.get_span_context().traceparent

    def __repr__(self) -> str:
        sc = self.get_span_context()
        return f"<ptel.Span {sc.span_id_hex} recording={self.is_recording()}>"


class _Instrument:
    """An instrument of a Recorder. A measurement takes attributes (one C
    call) and the span it was taken in: ``span=`` or else the current span;
    when that span is sampled the measurement becomes the data point's
    exemplar. Ints within int64 are recorded as ints, floats as floats (an
    int instrument refuses floats, counted); a measurement that is not a
    number is refused and counted in ``metric_points``."""

    __slots__ = ("_rec", "_ptr", "name", "kind")

    def __init__(self, rec: Recorder, ptr: Any, name: str, kind: MetricKind) -> None:
        self._rec = rec
        self._ptr = ptr
        self.name = name
        self.kind = kind

    def _record(self, value: float, attributes: Attributes | None,
                span: Span | NonRecordingSpan | None) -> None:
        rec = self._rec
        ptr = self._ptr
        if ptr is None:
            return  # refused at creation (counted then) or no context
        lock = rec._lock
        try:
            cur = _current.get() if span is None else span
            span = cur._ptr if type(cur) is Span and cur._rec is rec else NULL
            t = type(value)
            lock.acquire()
            try:
                arr, n = rec._packer.pack(attributes) if attributes else (NULL, 0)
                if (t is int or t is bool) and INT64_MIN <= value <= INT64_MAX:
                    rc = lib.ptel_metric_record_int(ptr, value, arr, n, span)
                elif t is float:
                    rc = lib.ptel_metric_record_double(ptr, value, arr, n, span)
                else:
                    rc = self._record_other(value, arr, n, span)
            finally:
                lock.release()
            if rc and rec._strict:
                raise error_for(rc)
        except Exception:
            if rec._strict:
                raise
            rec._count_error()

    def _record_other(self, value: Any, arr: Any, n: int, span: Any) -> int:
        if isinstance(value, int):
            v = int(value)
            if INT64_MIN <= v <= INT64_MAX:
                return int(lib.ptel_metric_record_int(self._ptr, v, arr, n, span))
            # Beyond int64: a float (int instruments refuse it, counted).
            return int(lib.ptel_metric_record_double(self._ptr, float(v) if abs(v) < 2**1023
                                                     else float("inf") * (1 if v > 0 else -1),
                                                     arr, n, span))
        if isinstance(value, float):
            return int(lib.ptel_metric_record_double(self._ptr, float(value), arr, n, span))
        # Not a number: a refused measurement (attributes without a pointer),
        # counted in the metric_points drop counter.
        return int(lib.ptel_metric_record_int(self._ptr, 0, NULL, 1, NULL))

    def __repr__(self) -> str:
        return f"<ptel.{type(self).__name__} {self.name!r}>"


class Counter(_Instrument):
    """A monotonic sum; negative increments are refused (and counted)."""

    __slots__ = ()

    def add(self, value: float, attributes: Attributes | None = None, *,
            span: Span | NonRecordingSpan | None = None) -> None:
        self._record(value, attributes, span)


class UpDownCounter(_Instrument):
    """A non-monotonic sum."""

    __slots__ = ()

    def add(self, value: float, attributes: Attributes | None = None, *,
            span: Span | NonRecordingSpan | None = None) -> None:
        self._record(value, attributes, span)


class Gauge(_Instrument):
    """The last value per attribute set."""

    __slots__ = ()

    def set(self, value: float, attributes: Attributes | None = None, *,
            span: Span | NonRecordingSpan | None = None) -> None:
        self._record(value, attributes, span)


class Histogram(_Instrument):
    """An explicit-bucket histogram (count, sum, min, max, buckets)."""

    __slots__ = ()

    def record(self, value: float, attributes: Attributes | None = None, *,
            span: Span | NonRecordingSpan | None = None) -> None:
        self._record(value, attributes, span)


_I = TypeVar("_I", bound=_Instrument)


class Recorder:
    """Records one invocation's spans and metrics under a Context and
    returns them with ``finish()`` as PluginTelemetry bytes.

    Args:
        ctx: the invocation's Context, or None when the plugin got none (then
            everything is a no-op and ``finish()`` returns ``b""``).
        strict: raise ``ptel.PtelError`` (and Python errors) instead of
            counting them. For tests.
        clock: a ``ptel.Clock`` (None: the system clocks).
        id_generator: a ``ptel.IdGenerator`` (None: the core's generator).

    The Context is kept alive as long as the Recorder (the C recorder
    borrows it), and spans and instruments keep their Recorder alive.
    """

    # __dict__ holds only `span` and `start_span` of a disabled recorder (see
    # _disable), which shadow the methods.
    __slots__ = ("_ctx", "_ptr", "_strict", "_lock", "_recording", "_packer", "_noop",
                 "_spanp", "_payload", "_callbacks", "__weakref__", "__dict__")

    def __init__(self, ctx: Context | None, *, strict: bool = False,
                 clock: Clock | None = None, id_generator: IdGenerator | None = None) -> None:
        self._ctx = ctx
        self._strict = strict
        self._lock = Lock()  # as threading.Lock; the C span path takes it directly
        self._payload: bytes | None = None
        self._ptr: Any = None
        self._recording = False
        self._noop = _NO_CONTEXT_SPAN
        self._callbacks: Callbacks | None = None
        if ctx is None:
            self._packer = AttrPacker()
            self._disable(_NO_CONTEXT_SPANS)
            return
        opts = ffi.new("ptel_recorder_options *")
        lib.ptel_recorder_options_init(opts)
        opts.strict = strict
        if clock is not None or id_generator is not None:
            self._callbacks = Callbacks(clock, id_generator)
            self._callbacks.fill_clock(opts.clock)
            self._callbacks.fill_ids(opts.ids)
        out = ffi.new("ptel_recorder **")
        rc = lib.ptel_recorder_new(out, ctx._ptr, opts)
        self._packer = AttrPacker(*ctx._attribute_limits())
        if rc:
            if strict:
                raise error_for(rc)
            self._disable(_NO_CONTEXT_SPANS)
            return  # out of memory: a disabled recorder
        self._ptr = ffi.gc(out[0], lib.ptel_recorder_free)
        self._recording = bool(lib.ptel_recorder_is_recording(self._ptr))
        self._spanp = ffi.new(_SPAN_PP)
        self._noop = NonRecordingSpan(functools.partial(
            _nonrecording_context, ctx, self._ptr, self._lock, self._spanp, self._recording))
        if not self._recording:
            self._disable(span_returner(self._noop))
        elif not strict:  # strict mode raises from Python, in the method below
            self._bind_span(SpanStarter(
                rec=self, lock=self._lock, packer=self._packer.c_packer, noop=self._noop,
                span_cls=Span, slow=Recorder.span, recorder_addr=_address(self._ptr),
                out_addr=_address(self._spanp)))

    def _disable(self, spans: Callable[..., NonRecordingSpan]) -> None:
        """Bind `span` and `start_span` to a C callable that checks its
        arguments and returns the non-recording span: the disabled path then
        runs no Python bytecode (the method below would)."""
        self._bind_span(spans)

    def _bind_span(self, fn: Callable[..., Any]) -> None:
        """Shadow the `span` method with a C callable of the same signature
        (a recording recorder's does the common calls in C and passes the
        others to the method). A subclass that overrides `span` keeps it."""
        if type(self).span is Recorder.span:
            self.__dict__["span"] = self.__dict__["start_span"] = fn

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> Recorder:
        """A recorder for the environment carrier (``Context.from_env``); a
        disabled one when the environment has no valid context (unless
        ``strict=True``, which raises)."""
        try:
            ctx: Context | None = Context.from_env(env)
        except Exception:
            if kwargs.get("strict"):
                raise
            ctx = None
        return cls(ctx, **kwargs)

    # ---- state -----------------------------------------------------------

    @property
    def context(self) -> Context | None:
        return self._ctx

    @property
    def is_recording(self) -> bool:
        """False under a DROP decision or without a context: spans are then
        non-recording (metrics are still recorded with a context)."""
        return self._recording

    @property
    def strict(self) -> bool:
        return self._strict

    def now(self) -> int:
        """The time the recorder stamps now (Unix nanoseconds)."""
        if self._ptr is None:
            return 0
        with self._lock:
            return int(lib.ptel_recorder_now(self._ptr))

    @property
    def drops(self) -> DropCounts:
        """The drop counters so far."""
        if self._ptr is None:
            return DropCounts()
        d = ffi.new("ptel_drop_counts *")
        with self._lock:
            lib.ptel_recorder_drops(self._ptr, d)
        return DropCounts(d.spans, d.metrics, d.metric_points, d.errors)

    def _count_error(self) -> None:
        """Count one API error in the C recorder's `errors` drop counter: a
        span start without an output pointer is refused and counted."""
        if self._ptr is None:
            return
        with self._lock:
            lib.ptel_span_start(NULL, self._ptr, NULL, NULL, 0, 0, 0)

    # ---- spans -----------------------------------------------------------

    def span(self, name: str, *, kind: Any = 1, attributes: Attributes | None = None,
             parent: Span | NonRecordingSpan | None = None,
             start_time: int | None = None) -> Span | NonRecordingSpan:
        """Start a span; use it as a context manager (``with rec.span("x")
        as span:``) to make it current and end it, or call ``end()``.

        ``parent`` defaults to the current span when it belongs to this
        recorder, else the context's span. ``attributes`` are set in one C
        call. ``start_time`` in Unix nanoseconds, default now. Under a DROP
        decision or without a context this returns the recorder's shared
        NonRecordingSpan at once."""
        if not self._recording:
            return self._noop
        try:
            if parent is None:
                cur = _current.get()
                pptr = cur._ptr if type(cur) is Span and cur._rec is self else NULL
            elif type(parent) is Span and parent._rec is self:
                pptr = parent._ptr
            elif isinstance(parent, NonRecordingSpan):
                return self._noop  # children of non-recording spans do not record
            else:
                pptr = NULL
                self._count_error()
                if self._strict:
                    raise error_for(Status.E_INVALID_ARGUMENT)
            nb = _NAMES.get(name) if type(name) is str else None
            if nb is None:
                nb, nl = _text(name)
                if type(name) is str and len(_NAMES) < _NAMES_MAX:
                    _NAMES[name] = nb
            else:
                nl = len(nb)
            k = kind if type(kind) is int else _kind_value(kind)
            lock = self._lock
            spanp = self._spanp
            lock.acquire()
            try:
                if attributes:  # one C call: the start and the attributes
                    arr, n = self._packer.pack(attributes)
                    rc = _span_start_attrs(spanp, self._ptr, pptr, nb, nl, k, start_time or 0,
                                           arr, n)
                else:
                    rc = _span_start(spanp, self._ptr, pptr, nb, nl, k, start_time or 0)
                ptr = spanp[0]
            finally:
                lock.release()
            if rc and self._strict:
                raise error_for(rc)
            return Span(self, ptr)
        except Exception:
            if self._strict:
                raise
            self._count_error()
            return self._noop

    start_span = span

    def traced(self, name: str | None = None, *, kind: Any = 1,
               attributes: Attributes | None = None) -> Callable[[F], F]:
        """Decorator: run each call of the function (sync or async) inside
        ``self.span(name or the function's qualified name)``."""

        def decorate(fn: F) -> F:
            span_name = name or str(getattr(fn, "__qualname__", "function"))
            if inspect.iscoroutinefunction(fn):
                afn = cast(Callable[..., Awaitable[Any]], fn)

                @functools.wraps(fn)
                async def async_wrapper(*args: Any, **kw: Any) -> Any:
                    with self.span(span_name, kind=kind, attributes=attributes):
                        return await afn(*args, **kw)

                return cast(F, async_wrapper)

            @functools.wraps(fn)
            def wrapper(*args: Any, **kw: Any) -> Any:
                with self.span(span_name, kind=kind, attributes=attributes):
                    return fn(*args, **kw)

            return cast(F, wrapper)

        return decorate

    # ---- metrics ---------------------------------------------------------

    def _instrument(self, cls: type[_I], kind: MetricKind, name: str, unit: str,
                    description: str, value_type: type, bounds: Sequence[float] | None) -> _I:
        if self._ptr is None:
            return cls(self, None, name, kind)
        try:
            o = ffi.new("ptel_metric_options *")
            lib.ptel_metric_options_init(o)
            o.kind = kind
            o.number_type = NumberType.INT if value_type is int else NumberType.DOUBLE
            keep = []
            for field, value in (("name", name), ("unit", unit), ("description", description)):
                data, n = _text(value)
                if data is not NULL:
                    data = ffi.from_buffer(data)
                    keep.append(data)
                s = getattr(o, field)
                s.ptr = data
                s.len = n
            if bounds is not None:
                arr = ffi.new("double[]", [float(b) for b in bounds])
                keep.append(arr)
                o.bounds = arr
                o.bound_count = len(bounds)
            out = ffi.new("ptel_metric **")
            with self._lock:
                rc = lib.ptel_metric_get(out, self._ptr, o)
            if rc and self._strict:
                raise error_for(rc)
            return cls(self, out[0] if out[0] != NULL else None, name, kind)
        except Exception:
            if self._strict:
                raise
            self._count_error()
            return cls(self, None, str(name), kind)

    def counter(self, name: str, unit: str = "", description: str = "", *,
                value_type: type = float) -> Counter:
        """A monotonic counter. ``value_type`` int or float fixes the number
        type of its points; asking again with the same description returns
        the same instrument, a different one is a counted conflict."""
        return self._instrument(Counter, MetricKind.COUNTER, name, unit, description,
                                value_type, None)

    def up_down_counter(self, name: str, unit: str = "", description: str = "", *,
                        value_type: type = float) -> UpDownCounter:
        return self._instrument(UpDownCounter, MetricKind.UPDOWN_COUNTER, name, unit,
                                description, value_type, None)

    def gauge(self, name: str, unit: str = "", description: str = "", *,
              value_type: type = float) -> Gauge:
        return self._instrument(Gauge, MetricKind.GAUGE, name, unit, description, value_type,
                                None)

    def histogram(self, name: str, unit: str = "", description: str = "", *,
                  value_type: type = float, bounds: Sequence[float] | None = None) -> Histogram:
        """An explicit-bucket histogram; ``bounds`` strictly increasing
        (None: the OpenTelemetry default bounds)."""
        return self._instrument(Histogram, MetricKind.HISTOGRAM, name, unit, description,
                                value_type, bounds)

    # ---- finishing -------------------------------------------------------

    def finish(self) -> bytes:
        """Encode the invocation as PluginTelemetry bytes. Spans still open
        are reported as open spans; later recording calls are refused
        (counted). Calling it again returns the same bytes. Without a
        context, or if encoding fails in non-strict mode, returns ``b""``
        (which a host reads as "no telemetry")."""
        if self._payload is not None:
            return self._payload
        if self._ptr is None:
            return b""
        try:
            out = ffi.new("uint8_t **")
            n = ffi.new("size_t *")
            with self._lock:
                rc = lib.ptel_recorder_finish(self._ptr, out, n)
                if rc == 0:
                    self._payload = to_bytes(out[0], n[0])
            if rc:
                raise error_for(rc)
            return self._payload or b""
        except Exception:
            if self._strict:
                raise
            return b""

    def __repr__(self) -> str:
        state = "recording" if self._recording else "disabled"
        return f"<ptel.Recorder {state} ctx={self._ctx!r}>"
