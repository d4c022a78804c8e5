"""ptel.Context, ptel.SpanContext, ptel.Limits and the error hierarchy."""

from __future__ import annotations

import base64
import pickle
from typing import Any

import pytest
from conftest import PARENT_ID, TIME_BASE, TP_SAMPLED, TP_UNSAMPLED, TRACE_ID, make_context

import ptel


def test_from_traceparent() -> None:
    ctx = ptel.Context.from_traceparent(TP_SAMPLED, "vendor=abc,other=1", "k=v;p,k2=%20")
    assert ctx.traceparent == TP_SAMPLED
    assert (ctx.trace_id, ctx.parent_span_id, ctx.trace_flags) == (TRACE_ID, PARENT_ID, 1)
    assert ctx.is_remote and ctx.decision == ptel.Decision.RECORD_AND_SAMPLE
    assert ctx.tracestate == "vendor=abc,other=1" and ctx.baggage == "k=v;p,k2=%20"
    assert ctx.parent == ptel.SpanContext(TRACE_ID, PARENT_ID, 1, True)
    assert ctx.protocol_version == 1 and ctx.features == 0 and ctx.time_base_unix_nano == 0
    assert (ctx.plugin_name, ctx.plugin_version, ctx.hook) == ("", "", "")
    assert ctx.limits == ptel.Limits()
    unsampled = ptel.Context.from_traceparent(TP_UNSAMPLED)
    assert unsampled.decision == ptel.Decision.DROP and unsampled.tracestate == ""


def test_from_traceparent_drops_invalid_tracestate_and_baggage() -> None:
    ctx = ptel.Context.from_traceparent(TP_SAMPLED, "UPPER=bad", "no equals sign")
    assert (ctx.tracestate, ctx.baggage) == ("", "")


@pytest.mark.parametrize("tp, offset", [
    ("", 0),
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", None),
    ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),
    ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", None),
    ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None),
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", None),
])
def test_from_traceparent_invalid(tp: str, offset: int | None) -> None:
    with pytest.raises(ptel.TraceparentError) as info:
        ptel.Context.from_traceparent(tp)
    err = info.value
    assert err.status == ptel.Status.E_TRACEPARENT and err.name == "E_TRACEPARENT"
    assert err.message == "invalid traceparent" and err.reason
    if offset is not None:
        assert err.offset == offset
    assert isinstance(err, ptel.PtelError)


def test_bytes_round_trip_and_schema(ptel_pb: Any) -> None:
    limits = ptel.Limits(attribute_count=16, span_count=4, payload_bytes=65536)
    ctx = make_context(tracestate="a=1", baggage="user=x", limits=limits,
                       decision=ptel.Decision.RECORD_ONLY, features=ptel.FEATURE_SPANS)
    data = ctx.to_bytes()
    msg = ptel_pb.PluginContext.FromString(data)
    assert msg.protocol_version == 1 and msg.trace_id == TRACE_ID
    assert msg.parent_span_id == PARENT_ID and msg.trace_flags == 1 and msg.is_remote
    assert (msg.trace_state, msg.baggage, msg.decision) == ("a=1", "user=x", 1)
    assert (msg.limits.attribute_count, msg.limits.span_count, msg.limits.payload_bytes) == (
        16, 4, 65536)
    assert msg.time_base_unix_nano == TIME_BASE
    assert (msg.plugin_name, msg.plugin_version, msg.hook) == ("pii", "1.2.3", "pre_invoke")
    assert msg.features == ptel.FEATURE_SPANS
    back = ptel.Context.from_bytes(data)
    assert back == ctx and hash(back) == hash(ctx) and back.to_bytes() == data
    assert back.limits == limits and back.limits.resolved().link_count == 128
    assert ptel.Context.from_bytes(bytearray(data)) == ctx
    assert ptel.Context.from_bytes(memoryview(data)) == ctx
    assert ctx != object()


@pytest.mark.parametrize("data, error", [
    (b"", ptel.VersionError),
    (b"\x08\x02", ptel.VersionError),
    (b"\x08\x01\x12", ptel.TruncatedError),
    (b"\x08\x01\x12\x05ab", ptel.TruncatedError),
    (b"\x08\x01\x12\x02ab", ptel.InvalidIdError),
    (b"\x08", ptel.TruncatedError),
    (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", ptel.PtelError),
])
def test_from_bytes_invalid(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        ptel.Context.from_bytes(data)
    assert isinstance(info.value, ptel.PtelError)


def test_from_bytes_reports_offset() -> None:
    data = make_context().to_bytes()
    with pytest.raises(ptel.TruncatedError) as info:
        ptel.Context.from_bytes(data[:-1])
    assert 0 < info.value.offset <= len(data) and info.value.reason
    assert "at byte" in str(info.value)


def test_env_round_trip() -> None:
    ctx = make_context(tracestate="a=1", baggage="b=2")
    env = ctx.to_env()
    assert list(env) == ["TRACEPARENT", "TRACESTATE", "BAGGAGE", "PTEL_CONTEXT"]
    assert env["TRACEPARENT"] == ctx.traceparent
    assert base64.b64decode(env["PTEL_CONTEXT"]) == ctx.to_bytes()
    assert ptel.Context.from_env(env) == ctx  # PTEL_CONTEXT wins
    w3c = ptel.Context.from_env({k: env[k] for k in ("TRACEPARENT", "TRACESTATE", "BAGGAGE")})
    assert (w3c.trace_id, w3c.tracestate, w3c.baggage) == (TRACE_ID, "a=1", "b=2")
    assert w3c.plugin_name == ""
    assert list(make_context().to_env()) == ["TRACEPARENT", "PTEL_CONTEXT"]


def test_from_env_errors_and_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ptel.NotFoundError):
        ptel.Context.from_env({"TRACESTATE": "a=1"})
    with pytest.raises(ptel.TraceparentError):
        ptel.Context.from_env({"TRACEPARENT": "nope"})
    with pytest.raises(ptel.PtelError):
        ptel.Context.from_env({"PTEL_CONTEXT": "!!!not base64"})
    monkeypatch.delenv("PTEL_CONTEXT", raising=False)
    monkeypatch.setenv("TRACEPARENT", TP_SAMPLED)
    assert ptel.Context.from_env().traceparent == TP_SAMPLED


def test_new_validates() -> None:
    with pytest.raises(ptel.InvalidIdError):
        make_context(trace_id=bytes(16))
    with pytest.raises(ptel.InvalidIdError):
        make_context(parent_span_id=b"short")
    with pytest.raises(ptel.PtelValueError):
        make_context(decision=7)
    with pytest.raises(ptel.InvalidArgumentError):
        make_context(trace_flags=256)
    with pytest.raises(ptel.TracestateError):
        make_context(tracestate="Bad=1")
    with pytest.raises(ptel.BaggageError):
        make_context(baggage="no equals")
    with pytest.raises(ptel.Utf8Error):
        make_context(plugin_name="\udc80")
    with pytest.raises(ptel.InvalidArgumentError):
        make_context(limits=ptel.Limits(span_count=-1))
    with pytest.raises(ptel.InvalidArgumentError):
        make_context(time_base_unix_nano=-1)


def test_from_otel() -> None:
    from opentelemetry import baggage, context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    tracer = TracerProvider().get_tracer("host")
    token = context.attach(baggage.set_baggage("user id", "a b", baggage.set_baggage("k", "v")))
    try:
        with tracer.start_as_current_span("host span") as span:
            ctx = ptel.Context.from_otel(plugin_name="p")
            sc = span.get_span_context()
            assert ctx.trace_id == sc.trace_id.to_bytes(16, "big")
            assert ctx.parent_span_id == sc.span_id.to_bytes(8, "big")
            assert ctx.decision == ptel.Decision.RECORD_AND_SAMPLE
            assert not ctx.is_remote and ctx.plugin_name == "p"
            assert ctx.baggage == "k=v"  # "user id" is not a W3C token: left out
            assert ptel.Context.from_otel(span, decision=ptel.Decision.DROP).decision == 0
    finally:
        context.detach(token)
    off = TracerProvider(sampler=ALWAYS_OFF).get_tracer("off")
    with off.start_as_current_span("unsampled"):
        assert ptel.Context.from_otel().decision == ptel.Decision.DROP
    with pytest.raises(ptel.NotFoundError):
        ptel.Context.from_otel()  # no current span


def test_from_otel_record_only_and_tracestate() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
    from opentelemetry.trace import TraceState

    class RecordOnly(Sampler):
        def should_sample(self, *args: Any, **kw: Any) -> SamplingResult:
            return SamplingResult(Decision.RECORD_ONLY, None, TraceState([("vendor", "x")]))

        def get_description(self) -> str:
            return "record-only"

    tracer = TracerProvider(sampler=RecordOnly()).get_tracer("t")
    with tracer.start_as_current_span("s"):
        ctx = ptel.Context.from_otel()
    assert ctx.decision == ptel.Decision.RECORD_ONLY and ctx.tracestate == "vendor=x"
    assert not ctx.parent.sampled


def test_span_context() -> None:
    sc = ptel.SpanContext.from_traceparent(TP_SAMPLED)
    assert sc == ptel.SpanContext(TRACE_ID, PARENT_ID, 1, True)
    assert sc.is_valid and sc.sampled and sc.traceparent == TP_SAMPLED
    assert sc.trace_id_hex == TRACE_ID.hex() and sc.span_id_hex == PARENT_ID.hex()
    assert ptel.SpanContext.from_traceparent(TP_SAMPLED, is_remote=False).is_remote is False
    odd = ptel.SpanContext(TRACE_ID, PARENT_ID, 0xFF)
    assert odd.traceparent.endswith("-03")  # only the known flag bits are written
    assert not ptel.SpanContext(bytes(16), PARENT_ID).is_valid
    assert not ptel.SpanContext(b"x", PARENT_ID).is_valid
    with pytest.raises(ptel.TraceparentError):
        ptel.SpanContext.from_traceparent("00-xyz")
    from opentelemetry.trace import SpanContext as OtelSpanContext

    otel = OtelSpanContext(int.from_bytes(TRACE_ID, "big"), int.from_bytes(PARENT_ID, "big"),
                           is_remote=False, trace_flags=1)
    assert ptel.SpanContext.from_otel(otel) == ptel.SpanContext(TRACE_ID, PARENT_ID, 1, False)


def test_limits() -> None:
    d = ptel.Limits.defaults()
    assert (d.attribute_count, d.attribute_value_length, d.attribute_depth, d.span_count,
            d.metric_count, d.metric_cardinality, d.payload_bytes) == (
        128, 4096, 8, 1024, 256, 2000, 4 * 1024 * 1024)
    assert ptel.Limits(span_count=3).resolved() == ptel.Limits(**{**vars_of(d), "span_count": 3})


def vars_of(limits: ptel.Limits) -> dict[str, int]:
    import dataclasses

    return {f.name: getattr(limits, f.name) for f in dataclasses.fields(limits)}


def test_context_repr() -> None:
    assert repr(make_context()) == f"<ptel.Context {TP_SAMPLED} decision=2>"


# ---- errors -----------------------------------------------------------------------


def test_one_exception_class_per_status() -> None:
    errors = [row for row in ptel.STATUS_TABLE if row[1] != 0]
    assert len(ptel.ERRORS_BY_STATUS) == len(errors) == 22
    for name, value, message in errors:
        cls = ptel.ERRORS_BY_STATUS[value]
        assert issubclass(cls, ptel.PtelError) and cls.status_code == value
        assert getattr(ptel, cls.__name__) is cls
        assert cls.__name__ not in ("NameError", "ValueError")  # no builtin shadowed
        assert ptel.Status[name] == value
        assert cls.__doc__ and message.lower() in cls.__doc__.lower()
    assert ptel.ERRORS_BY_STATUS[-15].__name__ == "PtelNameError"
    assert ptel.ERRORS_BY_STATUS[-20].__name__ == "PtelValueError"


def test_exception_fields_and_pickle() -> None:
    with pytest.raises(ptel.TraceparentError) as info:
        ptel.Context.from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x")
    err = info.value
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is ptel.TraceparentError
    assert (clone.status, clone.name, clone.offset, clone.field, clone.reason) == (
        err.status, err.name, err.offset, err.field, err.reason)
    assert str(clone) == str(err)
    assert str(ptel.PtelError(-1, "E_X", "msg")) == "msg (E_X)"


def test_reason_table_matches_core() -> None:
    assert len(ptel.REASON_TABLE) == ptel.Reason.COUNT == 33
    for name, value, snake, _ in ptel.REASON_TABLE:
        assert ptel.Reason[name] == value
        assert ptel._ffi.string(ptel._lib.ptel_reason_name(value)).decode() == snake
