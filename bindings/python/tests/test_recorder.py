"""The plugin SDK's spans, decoded with the official OTLP Span message."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from conftest import (PARENT_ID, TIME_BASE, TRACE_ID, CounterIds, StepClock, attrs, decode,
                      make_context)
from opentelemetry.proto.trace.v1 import trace_pb2

import ptel
from ptel import recorder as recorder_module

ID1 = bytes(range(1, 9))  # the first id of CounterIds
ID2 = bytes(range(2, 10))
REMOTE_PARENT_FLAGS = 0x01 | 0x100 | 0x200  # sampled, has-is-remote, is-remote
LOCAL_PARENT_FLAGS = 0x01 | 0x100


def t(k: int) -> int:
    """The k-th clock reading after the recorder's creation (StepClock)."""
    return TIME_BASE + 1000 * k


def test_nested_spans_ids_parents_times(rec: ptel.Recorder) -> None:
    with rec.span("outer", kind=ptel.SpanKind.SERVER) as outer:
        assert ptel.current_span() is outer
        with rec.span("inner") as inner:
            assert ptel.current_span() is inner
        assert ptel.current_span() is outer
    assert not isinstance(ptel.current_span(), ptel.Span)
    tel = decode(rec.finish())
    assert tel.protocol_version == 1
    assert [s.name for s in tel.spans] == ["inner", "outer"]  # end order
    o, i = tel.span("outer"), tel.span("inner")
    assert o.trace_id == i.trace_id == TRACE_ID
    assert o.span_id == ID1 and i.span_id == ID2
    assert o.parent_span_id == PARENT_ID and i.parent_span_id == ID1
    assert o.kind == trace_pb2.Span.SPAN_KIND_SERVER
    assert i.kind == trace_pb2.Span.SPAN_KIND_INTERNAL
    assert (o.start_time_unix_nano, i.start_time_unix_nano) == (t(1), t(2))
    assert (i.end_time_unix_nano, o.end_time_unix_nano) == (t(3), t(4))
    assert o.flags == REMOTE_PARENT_FLAGS and i.flags == LOCAL_PARENT_FLAGS
    assert o.trace_state == "" and not o.attributes and not o.events and not o.links
    assert o.status.code == trace_pb2.Status.STATUS_CODE_UNSET
    assert tel.dropped == {} and not tel.open_spans and not tel.metrics


def test_every_attribute_type(rec: ptel.Recorder) -> None:
    values: dict[str, Any] = {
        "str": "héllo", "empty_str": "", "bool": True, "false": False, "int": -42,
        "int_max": 2**63 - 1, "int_min": -(2**63), "float": 2.5, "inf": float("inf"),
        "bytes": b"\x00\xff", "bytearray": bytearray(b"ab"), "memoryview": memoryview(b"cd"),
        "none": None, "list": [1, "two", 3.0, False, None, b"x"], "tuple": ("a", "b"),
        "empty_list": [], "dict": {"k": "v", "n": {"deep": [1, 2]}}, "empty_dict": {},
    }
    with rec.span("s", attributes=values):
        pass
    span = decode(rec.finish()).span("s")
    got = attrs(span.attributes)
    expected = dict(values, bytearray=b"ab", memoryview=b"cd", list=[1, "two", 3.0, False, None,
                                                                      b"x"], tuple=["a", "b"])
    assert got == expected
    kinds = {kv.key: kv.value.WhichOneof("value") for kv in span.attributes}
    assert kinds["int"] == "int_value" and kinds["float"] == "double_value"
    assert kinds["bool"] == "bool_value" and kinds["bytes"] == "bytes_value"
    assert kinds["empty_list"] == "array_value" and kinds["empty_dict"] == "kvlist_value"
    assert kinds["none"] is None
    assert [kv.key for kv in span.attributes] == list(values)  # order kept


def test_big_ints_become_decimal_strings(rec: ptel.Recorder) -> None:
    """The documented rule: an int outside int64 is its decimal string."""
    with rec.span("s", attributes={"big": 2**64, "neg": -(2**63) - 1, "nested": [2**100]}):
        pass
    got = attrs(decode(rec.finish()).span("s").attributes)
    assert got == {"big": "18446744073709551616", "neg": "-9223372036854775809",
                   "nested": [str(2**100)]}


def test_int_and_str_subclasses(rec: ptel.Recorder) -> None:
    class Name(str):
        pass

    with rec.span("s", attributes={Name("key"): Name("value"), "kind": ptel.SpanKind.CLIENT,
                                   "flag": ptel.Decision.DROP}):
        pass
    got = attrs(decode(rec.finish()).span("s").attributes)
    assert got == {"key": "value", "kind": 3, "flag": 0}


def test_attributes_overwrite_and_pairs(rec: ptel.Recorder) -> None:
    with rec.span("s", attributes=[("a", 1), ("b", 2)]) as s:
        s.set_attribute("a", "one")
        s.set_attributes({"c": 3.5})
    got = decode(rec.finish()).span("s").attributes
    assert [(kv.key, kv.value.WhichOneof("value")) for kv in got] == [
        ("a", "string_value"), ("b", "int_value"), ("c", "double_value")]


def test_events_links_status_name(rec: ptel.Recorder) -> None:
    linked = ptel.SpanContext(bytes(range(16, 32)), bytes(range(40, 48)), 0x01, True)
    with rec.span("s") as s:  # start t(1)
        s.add_event("first", {"n": 1})  # t(2)
        s.add_event("second", timestamp=TIME_BASE + 7)
        s.add_link(linked, {"why": "batch"}, tracestate="k=v")
        s.add_link(make_context())  # a Context links to its parent span
        s.set_status(ptel.StatusCode.ERROR, "bad")
        s.update_name("renamed")
    span = decode(rec.finish()).span("renamed")
    assert [(e.name, e.time_unix_nano, attrs(e.attributes)) for e in span.events] == [
        ("first", t(2), {"n": 1}), ("second", TIME_BASE + 7, {})]
    l0, l1 = span.links
    assert (l0.trace_id, l0.span_id, l0.trace_state) == (linked.trace_id, linked.span_id, "k=v")
    assert attrs(l0.attributes) == {"why": "batch"}
    assert l0.flags == 0x01 | 0x100 | 0x200
    assert (l1.trace_id, l1.span_id, l1.flags) == (TRACE_ID, PARENT_ID, REMOTE_PARENT_FLAGS)
    assert span.status.code == trace_pb2.Status.STATUS_CODE_ERROR
    assert span.status.message == "bad"


def test_status_rules(rec: ptel.Recorder) -> None:
    with rec.span("ok") as s:
        s.set_status(ptel.StatusCode.OK, "ignored for OK")
        s.set_status(ptel.StatusCode.ERROR, "OK is final")
    with rec.span("unset") as s:
        s.set_status(ptel.StatusCode.UNSET)
    tel = decode(rec.finish())
    assert tel.span("ok").status.code == trace_pb2.Status.STATUS_CODE_OK
    assert tel.span("ok").status.message == ""
    assert not tel.span("unset").HasField("status")


def test_otel_enums_and_span_contexts_are_accepted(rec: ptel.Recorder) -> None:
    from opentelemetry import trace as otel_trace
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("host") as host:
        with rec.span("s", kind=otel_trace.SpanKind.CLIENT) as s:
            s.add_link(host)
            s.add_link(host.get_span_context())
            s.set_status(otel_trace.StatusCode.ERROR, "x")
    span = decode(rec.finish()).span("s")
    sc = host.get_span_context()
    assert span.kind == trace_pb2.Span.SPAN_KIND_CLIENT
    assert [lk.span_id for lk in span.links] == [sc.span_id.to_bytes(8, "big")] * 2
    assert span.status.code == trace_pb2.Status.STATUS_CODE_ERROR


def test_exception_is_recorded_and_reraised_unchanged(rec: ptel.Recorder) -> None:
    err = ValueError("boom")
    with pytest.raises(ValueError) as info:
        with rec.span("s"):
            raise err
    assert info.value is err
    span = decode(rec.finish()).span("s")
    (event,) = span.events
    a = attrs(event.attributes)
    assert event.name == "exception"
    assert a["exception.type"] == "ValueError" and a["exception.message"] == "boom"
    assert a["exception.stacktrace"].endswith("ValueError: boom\n")
    assert "test_exception_is_recorded" in a["exception.stacktrace"]
    assert span.status.code == trace_pb2.Status.STATUS_CODE_ERROR
    assert span.status.message == "boom"
    assert span.end_time_unix_nano > 0


def test_record_exception_qualified_type_and_broken_str(rec: ptel.Recorder) -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    with rec.span("s") as s:
        s.record_exception(Broken())
    event = decode(rec.finish()).span("s").events[0]
    a = attrs(event.attributes)
    assert a["exception.type"] == f"{__name__}.{Broken.__qualname__}"
    assert a["exception.message"].startswith("<")


def test_explicit_parent_and_start_span(rec: ptel.Recorder) -> None:
    root = rec.start_span("root", start_time=TIME_BASE + 5)
    child = rec.span("child", parent=root, start_time=TIME_BASE + 6)
    child.end(TIME_BASE + 8)
    root.end(TIME_BASE + 9)
    tel = decode(rec.finish())
    assert tel.span("child").parent_span_id == tel.span("root").span_id
    assert tel.span("root").parent_span_id == PARENT_ID
    assert (tel.span("root").start_time_unix_nano, tel.span("root").end_time_unix_nano) == (
        TIME_BASE + 5, TIME_BASE + 9)
    assert tel.span("child").end_time_unix_nano == TIME_BASE + 8


def test_span_context_and_traceparent(rec: ptel.Recorder) -> None:
    with rec.span("s") as s:
        sc = s.get_span_context()
        assert s.is_recording()
    assert not s.is_recording()
    assert sc == ptel.SpanContext(TRACE_ID, ID1, 0x01, False)
    assert s.traceparent == f"00-{TRACE_ID.hex()}-{ID1.hex()}-01"
    assert "ptel.Span" in repr(s)


def test_traced_decorator_sync(rec: ptel.Recorder) -> None:
    @rec.traced()
    def work(x: int) -> int:
        """Doc kept."""
        assert isinstance(ptel.current_span(), ptel.Span)
        return x * 2

    @rec.traced("named", kind=ptel.SpanKind.CLIENT, attributes={"a": 1})
    def fail() -> None:
        raise KeyError("k")

    assert work(21) == 42
    assert work.__doc__ == "Doc kept."
    with pytest.raises(KeyError):
        fail()
    tel = decode(rec.finish())
    assert tel.span("test_traced_decorator_sync.<locals>.work").kind == 1
    named = tel.span("named")
    assert named.kind == 3 and attrs(named.attributes) == {"a": 1}
    assert named.status.code == trace_pb2.Status.STATUS_CODE_ERROR


def test_traced_decorator_async_and_contextvars(rec: ptel.Recorder) -> None:
    seen: dict[str, bytes] = {}

    @rec.traced("task")
    async def task(name: str) -> str:
        mine = ptel.current_span()
        await asyncio.sleep(0)
        with rec.span(f"child-{name}"):
            await asyncio.sleep(0)
            assert isinstance(mine, ptel.Span)
        assert ptel.current_span() is mine
        seen[name] = mine.get_span_context().span_id
        return name

    async def main() -> list[str]:
        return list(await asyncio.gather(task("a"), task("b"), task("c")))

    assert asyncio.run(main()) == ["a", "b", "c"]
    tel = decode(rec.finish())
    for name in "abc":
        assert tel.span(f"child-{name}").parent_span_id == seen[name]
    assert sorted(s.parent_span_id for s in tel.spans if s.name == "task") == [PARENT_ID] * 3


def test_threads_share_a_recorder(ctx: ptel.Context) -> None:
    rec = ptel.Recorder(ctx, strict=True)

    def work(n: int) -> None:
        for i in range(100):
            with rec.span(f"t{n}", attributes={"i": i, "s": "x" * i}) as s:
                s.add_event("e", {"n": n})
                with rec.span("child"):
                    pass

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    tel = decode(rec.finish())
    assert len(tel.spans) == 800
    assert len({s.span_id for s in tel.spans}) == 800
    by_id = {s.span_id: s for s in tel.spans}
    for s in tel.spans:
        if s.name == "child":  # parent is a span of the same thread
            assert by_id[s.parent_span_id].name.startswith("t")


def test_open_spans_are_reported(rec: ptel.Recorder) -> None:
    with rec.span("done"):
        pass
    rec.span("left open", attributes={"a": 1})
    tel = decode(rec.finish())
    assert [s.name for s in tel.spans] == ["done"]
    (open_span,) = tel.open_spans
    assert open_span.name == "left open" and open_span.end_time_unix_nano == 0
    assert attrs(open_span.attributes) == {"a": 1}


def test_finish_is_idempotent_and_refuses_later_calls(ctx: ptel.Context) -> None:
    rec = ptel.Recorder(ctx)
    with rec.span("s"):
        pass
    first = rec.finish()
    with rec.span("late") as late:  # refused by the core, counted
        late.set_attribute("a", 1)
    assert rec.finish() == first
    assert rec.drops.errors >= 1
    strict = ptel.Recorder(ctx, strict=True)
    strict.finish()
    with pytest.raises(ptel.StateError):
        strict.span("late")


def test_limits_span_count_value_length_depth() -> None:
    limits = ptel.Limits(span_count=2, attribute_value_length=4, attribute_depth=2,
                         attribute_count=3)
    rec = ptel.Recorder(make_context(limits=limits))
    for i in range(3):
        with rec.span(f"s{i}", attributes={"str": "abcdef", "b": b"123456", "nest": [[[1]], [2]],
                                           "d": "four"}) as s:
            s.set_attribute("e", "over the count limit")
    tel = decode(rec.finish())
    assert [s.name for s in tel.spans] == ["s0", "s1"]
    assert tel.dropped == {"spans": 1}
    span = tel.span("s0")
    assert attrs(span.attributes) == {"str": "abcd", "b": b"1234", "nest": [[None], [2]]}
    assert span.dropped_attributes_count == 2


def test_truncation_counts_code_points() -> None:
    rec = ptel.Recorder(make_context(limits=ptel.Limits(attribute_value_length=3)))
    with rec.span("s", attributes={"a": "ééééé", "k" * 10: "x"}):
        pass
    got = attrs(decode(rec.finish()).span("s").attributes)
    assert got == {"a": "ééé", "k" * 10: "x"}  # keys are never cut


def test_cyclic_containers_are_bounded(rec: ptel.Recorder) -> None:
    loop: list[Any] = []
    loop.append(loop)
    with rec.span("s", attributes={"loop": loop}):
        pass
    value = attrs(decode(rec.finish()).span("s").attributes)["loop"]
    depth = 0
    while value:
        (value,) = value
        depth += 1
    assert depth == 8  # the default attribute_depth; deeper is an empty value


def test_non_strict_errors_are_counted_not_raised(ctx: ptel.Context) -> None:
    rec = ptel.Recorder(ctx)
    with rec.span("s", attributes={"ok": 1, "bad": object(), "": 2, 3: "non-str key",
                                   "surrogate": "\ud800"}) as s:
        s.add_event("e", {"bad": {1, 2}})
        s.add_link("not a span context")  # type: ignore[arg-type]
        s.set_status(99)
        s.set_status("nonsense")  # type: ignore[arg-type]
        s.add_event(None)  # type: ignore[arg-type]
    s.end()  # twice
    rec.span(12345)  # type: ignore[arg-type]
    rec.span("k", kind=99)
    rec.span("p", parent="not a span")  # type: ignore[arg-type]
    tel = decode(rec.finish())
    span = tel.span("s")
    assert attrs(span.attributes) == {"ok": 1}
    assert span.dropped_attributes_count == 4
    assert [e.name for e in span.events] == ["e", ""]
    assert span.events[0].dropped_attributes_count == 1
    # One error per refused call: the attribute batch of span(), add_event's
    # batch, add_link, two set_status, add_event(None), the second end, the
    # int name, kind 99 and the foreign parent.
    assert tel.dropped["errors"] == 10
    assert "" in [s.name for s in tel.spans + tel.open_spans]  # the non-str name


@pytest.mark.parametrize("call", [
    lambda r, s: s.set_attributes({"bad": object()}),
    lambda r, s: s.set_attribute("", 1),
    lambda r, s: s.add_event("e", {"x": "\udcff"}),
    lambda r, s: s.set_status(7),
    lambda r, s: s.add_link(ptel.SpanContext(bytes(16), bytes(8))),
    lambda r, s: r.span("x", kind=6),
    lambda r, s: r.span(b"\xff"),
])
def test_strict_mode_raises(rec: ptel.Recorder, call: Any) -> None:
    with rec.span("s") as s:
        with pytest.raises(ptel.PtelError) as info:
            call(rec, s)
    assert info.value.status < 0


def test_strict_mode_raises_python_errors(rec: ptel.Recorder) -> None:
    with rec.span("s") as s:
        with pytest.raises(AttributeError):
            s.set_status("nonsense")  # type: ignore[arg-type]
        with pytest.raises(AttributeError):
            s.add_link(42)


def test_disabled_path_makes_no_c_call(monkeypatch: pytest.MonkeyPatch) -> None:
    for ctx in (make_context(decision=ptel.Decision.DROP), None):
        rec = ptel.Recorder(ctx, strict=True)
        assert not rec.is_recording

        class NoC:
            def __getattr__(self, name: str) -> Any:
                raise AssertionError(f"C call {name} on the disabled path")

        monkeypatch.setattr(recorder_module, "lib", NoC())
        span = rec.span("s", attributes={"a": 1})
        assert span is rec.span("other") and isinstance(span, ptel.NonRecordingSpan)
        with span as s:
            s.set_attribute("a", 1)
            s.set_attributes({"b": 2})
            s.add_event("e", {"c": 3})
            s.add_link(ptel.SpanContext(TRACE_ID, PARENT_ID))
            s.set_status(ptel.StatusCode.ERROR, "x")
            s.record_exception(ValueError())
            s.update_name("n")
            s.end()
            assert not s.is_recording()

        @rec.traced("f")
        def f() -> int:
            return 1

        assert f() == 1
        monkeypatch.undo()


def test_non_recording_span_propagates_context() -> None:
    rec = ptel.Recorder(make_context(decision=ptel.Decision.DROP, trace_flags=0))
    span = rec.span("s")
    sc = span.get_span_context()
    assert (sc.trace_id, sc.span_id, sc.sampled) == (TRACE_ID, PARENT_ID, False)
    assert span.traceparent == f"00-{TRACE_ID.hex()}-{PARENT_ID.hex()}-00"
    payload = decode(rec.finish())
    assert payload.protocol_version == 1 and not payload.spans


def test_recorder_without_context() -> None:
    rec = ptel.Recorder(None)
    span = rec.span("s")
    assert isinstance(span, ptel.NonRecordingSpan)
    assert span.get_span_context() == ptel.SpanContext(bytes(16), bytes(8))
    assert not span.get_span_context().is_valid
    rec.counter("c").add(1)
    assert rec.finish() == b"" and rec.now() == 0 and rec.drops == ptel.DropCounts()
    assert rec.context is None and "disabled" in repr(rec)


def test_recorder_from_env() -> None:
    rec = ptel.Recorder.from_env({"TRACEPARENT": "00-" + TRACE_ID.hex() + "-"
                                  + PARENT_ID.hex() + "-01"})
    assert rec.is_recording and rec.context is not None
    assert rec.context.trace_id == TRACE_ID
    assert not ptel.Recorder.from_env({}).is_recording
    assert not ptel.Recorder.from_env({"TRACEPARENT": "garbage"}).is_recording
    with pytest.raises(ptel.NotFoundError):
        ptel.Recorder.from_env({}, strict=True)


def test_clock_and_id_callbacks_failing_fall_back() -> None:
    class BadClock(ptel.Clock):
        def monotonic_ns(self) -> int:
            raise RuntimeError("clock broke")

    class BadIds(ptel.IdGenerator):
        def generate(self, n: int) -> bytes:
            raise RuntimeError("ids broke")

    class ShortIds(ptel.IdGenerator):
        def generate(self, n: int) -> bytes:
            return b"\x07"

    for ids in (BadIds(), ShortIds()):
        rec = ptel.Recorder(make_context(), clock=BadClock(), id_generator=ids)
        with rec.span("s"):
            pass
        span = decode(rec.finish()).span("s")
        assert len(span.span_id) == 8 and any(span.span_id)
        assert span.start_time_unix_nano == TIME_BASE  # the broken clock reads 0


def test_partial_clock_uses_system_realtime() -> None:
    class MonoOnly:
        def __init__(self) -> None:
            self.n = 0

        def monotonic_ns(self) -> int:
            self.n += 5
            return self.n

    rec = ptel.Recorder(make_context(time_base_unix_nano=0), clock=MonoOnly())  # type: ignore
    with rec.span("s"):
        pass
    span = decode(rec.finish()).span("s")
    assert span.end_time_unix_nano - span.start_time_unix_nano == 5
    assert span.start_time_unix_nano > TIME_BASE  # the system wall clock


def test_recorder_keeps_context_alive() -> None:
    import gc
    import weakref

    ctx = make_context()
    ref = weakref.ref(ctx)
    rec = ptel.Recorder(ctx, clock=StepClock(), id_generator=CounterIds())
    del ctx
    gc.collect()
    assert ref() is not None
    span = rec.span("s")
    del rec
    gc.collect()
    span.end()  # the span keeps its recorder, which keeps the context
    assert ref() is not None
    del span
    gc.collect()
    assert ref() is None


def test_now_and_strict_property(rec: ptel.Recorder) -> None:
    assert rec.strict and not ptel.Recorder(make_context()).strict
    assert rec.now() == t(1) and rec.now() == t(2)  # each reading advances the clock


def test_unhashable_key_in_pairs_drops_only_that_attribute(rec: ptel.Recorder) -> None:
    rec2 = ptel.Recorder(make_context())
    with rec2.span("s", attributes=[(["unhashable"], 1), ("ok", 2)]):
        pass
    span = decode(rec2.finish()).span("s")
    assert attrs(span.attributes) == {"ok": 2} and span.dropped_attributes_count == 1
