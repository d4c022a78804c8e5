"""The C parts of the binding (ptel/_speedups.c): the disabled path runs no
Python bytecode yet behaves like the Python signatures it replaces, and the
attribute packer writes exactly the ptel_attr structs the rules ask for,
also for hostile inputs."""

from __future__ import annotations

import gc
import inspect
import sys
import weakref
from collections.abc import Iterator, Mapping
from types import FrameType
from typing import Any

import pytest
from conftest import TIME_BASE, TP_SAMPLED, TP_UNSAMPLED, CounterIds, StepClock, decode, \
    make_context
from hypothesis import HealthCheck, given, settings
from test_properties import ops, play

import ptel
from ptel import _speedups
from ptel._attrs import AttrPacker
from ptel._native import ffi

DROP = ptel.Context.from_traceparent(TP_UNSAMPLED)
SAMPLED = ptel.Context.from_traceparent(TP_SAMPLED)

# Argument lists tried on every no-op method and on Recorder.span: each must
# be accepted exactly when Python would bind it to the recording method.
CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}), (("a",), {}), (("a", 1), {}), (("a", 1, 2), {}), (("a", 1, 2, 3), {}),
    ((), {"name": "a"}), (("a",), {"name": "b"}), ((), {"key": "k", "value": 1}),
    (("k",), {"value": 1}), ((), {"attributes": {}}), (("a",), {"attributes": {"x": 1}}),
    (("a",), {"timestamp": 5}), ((), {"context": None}), (("c",), {"tracestate": "x=1"}),
    ((1,), {"description": "d"}), ((), {"code": 1}), ((ValueError(),), {"timestamp": 1}),
    ((), {"exception": ValueError()}), ((), {"end_time": 3}), ((3,), {"end_time": 3}),
    (("a",), {"kind": 2, "parent": None, "start_time": 1}), (("a",), {"bogus": 1}),
    ((), {"exc_type": None, "exc": None, "tb": None}), ((None, None, None), {}),
]
NOOP_METHODS = ["set_attribute", "set_attributes", "add_event", "add_link", "set_status",
                "record_exception", "update_name", "end", "is_recording", "__exit__"]


def binds(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    try:
        inspect.signature(fn).bind(None, *args, **kwargs)
    except TypeError:
        return False
    return True


def accepts(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    try:
        fn(*args, **kwargs)
    except TypeError:
        return False
    return True


@pytest.mark.parametrize("method", NOOP_METHODS)
def test_noop_methods_take_the_recording_span_signatures(method: str) -> None:
    span = ptel.Recorder(DROP).span("s")
    reference = getattr(ptel.Span, method)
    for args, kwargs in CALLS:
        assert accepts(getattr(span, method), args, kwargs) == binds(reference, args, kwargs), \
            (method, args, kwargs)
    assert span.is_recording() is False


def test_disabled_span_callable_takes_the_span_signature() -> None:
    for rec in (ptel.Recorder(DROP), ptel.Recorder(None)):
        assert rec.span.__self__ is rec.span("x") and rec.start_span is rec.span
        for args, kwargs in CALLS:
            assert accepts(rec.span, args, kwargs) == binds(ptel.Recorder.span, args, kwargs), \
                (args, kwargs)
        assert rec.span("x") is rec.span(name="y", kind=3)
        assert isinstance(rec.span("x"), ptel.NonRecordingSpan)


def test_which_span_callable_a_recorder_binds() -> None:
    rec = ptel.Recorder(SAMPLED)
    assert isinstance(rec.span, _speedups.SpanStarter) and rec.start_span is rec.span
    assert isinstance(rec.span("s"), ptel.Span)
    strict = ptel.Recorder(SAMPLED, strict=True)  # raises from Python: the method
    assert "span" not in strict.__dict__ and isinstance(strict.span("s"), ptel.Span)

    class Mine(ptel.Recorder):
        def span(self, *args: Any, **kw: Any) -> Any:
            return "mine"

    assert Mine(SAMPLED).span("x") == "mine" and Mine(DROP).span("x") == "mine"


def test_span_starter_takes_the_span_signature() -> None:
    rec = ptel.Recorder(SAMPLED)
    for args, kwargs in CALLS:
        assert accepts(rec.span, args, kwargs) == binds(ptel.Recorder.span, args, kwargs), \
            (args, kwargs)


def test_recording_path_runs_no_python_code() -> None:
    rec = ptel.Recorder(SAMPLED)  # the system clock and ids: no Python callback
    span = rec.span
    attrs = {"a": 1, "b": "x", "c": [1.5, None]}
    calls: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        with span("outer", attributes=attrs):
            with span("inner", kind=3, start_time=TIME_BASE + 1):
                pass
    finally:
        sys.setprofile(None)
    assert calls == []
    tel = decode(rec.finish())
    outer_span, inner = tel.span("outer"), tel.span("inner")
    assert inner.parent_span_id == outer_span.span_id and inner.kind == 3
    assert inner.start_time_unix_nano == TIME_BASE + 1
    assert [kv.key for kv in outer_span.attributes] == ["a", "b", "c"]


def deterministic(use_c: bool) -> ptel.Recorder:
    rec = ptel.Recorder(make_context(), clock=StepClock(), id_generator=CounterIds())
    if not use_c:  # back to the Python method
        del rec.__dict__["span"], rec.__dict__["start_span"]
    return rec


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=ops)
def test_c_span_path_writes_the_python_path_bytes(program: list[tuple[Any, ...]]) -> None:
    results = []
    for use_c in (True, False):
        rec = deterministic(use_c)
        play(rec, program)
        results.append((rec.finish(), rec.drops))
    assert results[0] == results[1]


@pytest.mark.parametrize("call", [
    lambda rec: rec.span(b"bytes name"), lambda rec: rec.span("\udc80"),
    lambda rec: rec.span(None), lambda rec: rec.span("k", kind=ptel.SpanKind.SERVER),
    lambda rec: rec.span("k", kind=-1), lambda rec: rec.span("k", kind=2**40),
    lambda rec: rec.span("s", start_time=-5), lambda rec: rec.span("s", start_time=2**64),
    lambda rec: rec.span("s", start_time=0), lambda rec: rec.span("s", attributes=[("a", 1)]),
    lambda rec: rec.span("s", attributes=Frozen(a=1)), lambda rec: rec.span("s", attributes={}),
    lambda rec: rec.span("s", parent=rec.span("p")), lambda rec: rec.span("s", parent=42),
    lambda rec: rec.span("s", parent=ptel.Recorder(None).span("x")),
    lambda rec: rec.span("s", attributes={"a": object(), 3: 4, "": 5}),
])
def test_unusual_span_calls_match_the_python_path(call: Any) -> None:
    results = []
    for use_c in (True, False):
        rec = deterministic(use_c)
        span = call(rec)
        with span:
            pass
        results.append((type(span), rec.finish(), rec.drops))
    assert results[0] == results[1]


def test_exit_records_the_exception_and_restores_the_current_span() -> None:
    rec = deterministic(True)
    before = ptel.current_span()
    err = KeyError("k")
    with pytest.raises(KeyError) as info:
        with rec.span("fails") as s:
            assert ptel.current_span() is s
            raise err
    assert info.value is err and ptel.current_span() is before
    span = decode(rec.finish()).span("fails")
    assert span.status.code == 2 and [e.name for e in span.events] == ["exception"]


def test_exit_in_another_context_is_ignored() -> None:
    import contextvars
    rec = deterministic(True)
    span = rec.span("s")
    mine = contextvars.copy_context()
    mine.run(span.__enter__)
    contextvars.Context().run(span.__exit__, None, None, None)
    assert mine.run(ptel.current_span) is span  # the other context could not reset it
    assert not span.is_recording()  # but the span ended
    with pytest.raises(TypeError):
        span.__exit__(None, None)  # type: ignore[call-arg]


def test_disabled_path_runs_no_python_code() -> None:
    rec = ptel.Recorder(DROP)
    span = rec.span
    attrs = {"a": 1, "b": "x"}
    error = ptel.StatusCode.ERROR
    calls: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":  # a Python frame; C functions report "c_call"
            calls.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        with span("pii.scan", attributes=attrs) as s:
            s.set_attribute("k", 1)
            s.add_event("e", attrs)
            s.set_status(error, "x")
            s.end()
    finally:
        sys.setprofile(None)
    assert calls == []


def test_with_returns_the_span_and_lets_exceptions_through() -> None:
    rec = ptel.Recorder(DROP)
    shared = rec.span("s")
    with shared as s:
        assert s is shared
    err = ValueError("boom")
    with pytest.raises(ValueError) as info:
        with rec.span("s"):
            raise err
    assert info.value is err
    assert ptel.NonRecordingSpan.__enter__(shared) is shared
    assert ptel.NonRecordingSpan.__exit__(shared, None, None, None) is None
    with pytest.raises(TypeError):
        ptel.NonRecordingSpan.__enter__(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ptel.NonRecordingSpan.__exit__(shared, None)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        vars(_speedups.NonRecordingSpanBase)["__enter__"].__get__(42, int)


def test_disabled_span_is_not_made_current() -> None:
    before = ptel.current_span()
    with ptel.Recorder(DROP).span("s"):
        assert ptel.current_span() is before


# ---- the packer -----------------------------------------------------------

def read_value(v: Any) -> Any:
    """A ptel_value back as (type, payload), recursively."""
    t = int(v.type)
    if t in (1, 5):
        return t, ffi.unpack(ffi.cast("char *", v.str.ptr), v.str.len) if v.str.len else b""
    if t in (2, 3):
        return t, int(v.i)
    if t == 4:
        return t, float(v.d)
    if t == 6:
        return t, [read_value(v.array[i]) for i in range(v.count)]
    if t == 7:
        return t, read_attrs(v.kvlist, v.count)
    return t, None


def read_attrs(arr: Any, n: int) -> list[tuple[bytes | None, Any]]:
    out = []
    for i in range(n):
        key = arr[i].key
        k = None if key.ptr == ffi.NULL else ffi.unpack(ffi.cast("char *", key.ptr), key.len)
        out.append((k, read_value(arr[i].value)))
    return out


def pack(attrs: Any, max_len: int = 4096, max_depth: int = 8) -> list[Any]:
    packer = AttrPacker(max_len, max_depth)
    arr, n = packer.pack(attrs)
    return read_attrs(arr, n)


class Color(int):
    pass


class Ratio(float):
    def __float__(self) -> float:
        return 0.5


class Frozen(Mapping[str, Any]):
    def __init__(self, **kw: Any) -> None:
        self._d = kw

    def __getitem__(self, k: str) -> Any:
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)


def test_packer_writes_every_type() -> None:
    got = pack({"s": "é", "b": True, "i": -3, "f": 1.5, "y": b"\x00\x01", "n": None,
                "big": 2**64, "arr": [1, "x", (2.0,)], "kv": {"a": 1}, "o": object(),
                "ba": bytearray(b"ab"), "mv": memoryview(b"cd"), "e": Color(7), "r": Ratio(2),
                "m": Frozen(z=False), "empty": [], 5: "non-str key"})
    assert got == [
        (b"s", (1, "é".encode())), (b"b", (2, 1)), (b"i", (3, -3)), (b"f", (4, 1.5)),
        (b"y", (5, b"\x00\x01")), (b"n", (0, None)), (b"big", (1, b"18446744073709551616")),
        (b"arr", (6, [(3, 1), (1, b"x"), (6, [(4, 2.0)])])), (b"kv", (7, [(b"a", (3, 1))])),
        (b"o", (0xFFFF, None)), (b"ba", (5, b"ab")), (b"mv", (5, b"cd")), (b"e", (3, 7)),
        (b"r", (4, 0.5)), (b"m", (7, [(b"z", (2, 0))])), (b"empty", (6, [])),
        (None, (1, b"non-str key")),
    ]


def test_packer_cuts_values_not_keys_and_keeps_surrogates() -> None:
    got = pack([("k" * 50, "é" * 10), ("b", b"x" * 20), ("d", "\ud800"),
                ("m", memoryview(bytes(range(20))).cast("H"))], max_len=4)
    assert got == [(b"k" * 50, (1, "éééé".encode())), (b"b", (5, b"xxxx")),
                   (b"d", (1, b"\xed\xa0\x80")), (b"m", (5, bytes(range(8))))]


def test_packer_depth_and_cycles() -> None:
    cyc: list[Any] = []
    cyc.append(cyc)
    assert pack({"c": cyc}, max_depth=2) == [(b"c", (6, [(6, [(6, [])])]))]
    assert pack({"d": {"a": {"b": 1}}}, max_depth=1) == [(b"d", (7, [(b"a", (7, []))]))]


def test_packer_regrows_and_reuses() -> None:
    packer = AttrPacker(1 << 20, 8)
    big = {f"key{i}": "v" * 1000 for i in range(300)}
    arr, n = packer.pack(big)
    assert n == 300 and read_attrs(arr, n)[299] == (b"key299", (1, b"v" * 1000))
    arr, n = packer.pack({"a": 1})
    assert read_attrs(arr, n) == [(b"a", (3, 1))]
    assert packer.pack({}) == (ffi.NULL, 0) and packer.pack([]) == (ffi.NULL, 0)


def test_packer_survives_mutation_during_conversion() -> None:
    attrs: dict[str, Any] = {}
    items: list[Any] = [1, 2, 3]

    class Shrinks(int):
        def __int__(self) -> int:
            items.clear()
            attrs.clear()
            return 1

    items.insert(0, Shrinks(0))
    assert pack({"l": items}) == [(b"l", (6, [(3, 1)]))]  # what was left was converted
    attrs.update(a=Shrinks(0), b=2)
    with pytest.raises(RuntimeError):
        AttrPacker().pack(attrs)


def test_packer_refuses_reentry_and_bad_input() -> None:
    packer = AttrPacker()

    class Sneaky(Frozen):
        def items(self) -> Any:
            packer.pack({"inner": 1})
            return super().items()

    with pytest.raises(RuntimeError):
        packer.pack({"m": Sneaky(a=1)})
    assert read_attrs(*packer.pack({"ok": 1})) == [(b"ok", (3, 1))]
    with pytest.raises(TypeError):
        _speedups.Packer(10, 2).pack((("a", 1),))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        packer.pack([("a", 1, 2)])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        _speedups.Packer(-1, 2)


def test_recorder_counts_a_failed_conversion() -> None:
    rec = ptel.Recorder(ptel.Context.from_traceparent(TP_UNSAMPLED.replace("-00", "-01")))
    attrs: dict[str, Any] = {}

    class Clears(int):
        def __int__(self) -> int:
            attrs.clear()
            return 1

    attrs.update(a=Clears(1), b=2)
    span = rec.span("s", attributes=attrs)
    assert isinstance(span, ptel.NonRecordingSpan) and rec.drops.errors == 1


class TickClock(ptel.Clock):
    def monotonic_ns(self) -> int:
        return 1


@pytest.mark.parametrize("ctx, kwargs", [
    (SAMPLED, {}), (DROP, {}), (None, {}), (SAMPLED, {"strict": True}),
    (SAMPLED, {"clock": TickClock(), "id_generator": CounterIds()}),
])
def test_a_dropped_recorder_is_freed_at_once(ctx: ptel.Context | None,
                                             kwargs: dict[str, Any]) -> None:
    """No reference cycle through the recorder (its span callable and its
    non-recording span refer to it weakly or not at all): it and its C
    memory go when the last reference does, not at the next collection."""
    gc.disable()
    try:
        rec = ptel.Recorder(ctx, **kwargs)
        with rec.span("s", attributes={"a": 1}) as s:
            s.add_event("e")
        rec.span("t").get_span_context()
        rec.finish()
        ref = weakref.ref(rec)
        del rec, s
        assert ref() is None
    finally:
        gc.enable()


def test_span_callable_outliving_its_recorder() -> None:
    span = ptel.Recorder(SAMPLED).span  # nothing can finish() that recorder now
    s = span("late", attributes={"a": 1})
    assert isinstance(s, ptel.NonRecordingSpan) and s.get_span_context() == SAMPLED.parent
    with pytest.raises(TypeError):
        span()  # type: ignore[call-arg]


def test_non_recording_span_outliving_its_recorder_keeps_the_context() -> None:
    span = ptel.Recorder(DROP).span("s")
    gc.collect()
    assert span.get_span_context() == ptel.Recorder(DROP).span("t").get_span_context()
    assert span.traceparent == TP_UNSAMPLED


def test_lock_behaves_like_threading_lock() -> None:
    lock = _speedups.Lock()
    assert not lock.locked() and lock.acquire() is True and lock.locked()
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()
    with pytest.raises(ValueError):
        with lock:
            raise ValueError("propagates")
    assert not lock.locked()
    with pytest.raises(TypeError):
        _speedups.Lock(1)  # type: ignore[call-arg]


def test_threads_mix_the_c_and_cffi_paths() -> None:
    """C starts and ends spans holding the GIL; CFFI calls release it while
    holding the recorder's lock: both take the same lock, so the recorder
    sees one call at a time and every span arrives whole."""
    import threading
    rec = ptel.Recorder(SAMPLED)
    hist = rec.histogram("h")

    def work(n: int) -> None:
        for i in range(200):
            with rec.span(f"t{n}", attributes={"i": i}) as s:
                s.set_attribute("k", "v" * (i % 7))  # CFFI, GIL released
                s.add_event("e", {"n": n})
                hist.record(i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tel = decode(rec.finish())
    assert len(tel.spans) + tel.dropped.get("spans", 0) == 800
    assert all(len(s.attributes) == 2 and len(s.events) == 1 for s in tel.spans)


def test_c_types_refuse_misuse_without_crashing() -> None:
    with pytest.raises(RuntimeError):
        _speedups.SpanBase().__exit__(None, None, None)  # no recorder, no lock
    span = ptel.Span.__new__(ptel.Span)
    assert span._rec is None and span._addr == 0
    with pytest.raises(RuntimeError):
        with span:
            pass
    rec = ptel.Recorder(SAMPLED)
    good = dict(rec=rec, lock=rec._lock, packer=rec._packer.c_packer, noop=rec._noop,
                span_cls=ptel.Span, slow=ptel.Recorder.span, recorder_addr=1, out_addr=1)
    for bad in (dict(span_cls=int), dict(packer=object()), dict(recorder_addr=0),
                dict(out_addr="x")):
        with pytest.raises((TypeError, ValueError)):
            _speedups.SpanStarter(**{**good, **bad})
    with pytest.raises(TypeError):
        _speedups.bind_core(current=None, span_start=1, span_start_with_attributes=1,
                            span_end=1)  # type: ignore[arg-type]
