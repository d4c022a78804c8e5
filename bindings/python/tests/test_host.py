"""The host API, with exports decoded by the official OTLP collector messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import (PARENT_ID, TIME_BASE, TP_SAMPLED, TRACE_ID, CounterIds, StepClock, attrs,
                      decode)
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

import ptel

INV_ID = bytes(range(1, 9))  # the invocation span's id from CounterIds


def begin(**kw: Any) -> ptel.Invocation:
    args: dict[str, Any] = dict(plugin="pii", version="1.2.3", hook="pre_invoke",
                                start_time=TIME_BASE, clock=StepClock(),
                                id_generator=CounterIds())
    args.update(kw)
    return ptel.Invocation.begin(TP_SAMPLED, **args)


def run_plugin(inv: ptel.Invocation) -> bytes:
    rec = ptel.Recorder(inv.context, strict=True)
    with rec.span("plugin.work", attributes={"a": 1}) as s:
        s.add_event("e")
        rec.counter("hits", "{hit}", value_type=int).add(2, {"k": "v"})
    return rec.finish()


def traces(data: bytes) -> trace_service_pb2.ExportTraceServiceRequest:
    return trace_service_pb2.ExportTraceServiceRequest.FromString(data)


def test_begin_context_end_export_traces() -> None:
    inv = begin(attributes={"plugin.mode": "enforce"})
    assert inv.span_context == ptel.SpanContext(TRACE_ID, INV_ID, 1, False)
    ctx = inv.context
    assert (ctx.trace_id, ctx.parent_span_id) == (TRACE_ID, INV_ID)
    assert (ctx.plugin_name, ctx.plugin_version, ctx.hook) == ("pii", "1.2.3", "pre_invoke")
    assert ctx.time_base_unix_nano == TIME_BASE and ctx.decision == 2
    assert ctx.traceparent == f"00-{TRACE_ID.hex()}-{INV_ID.hex()}-01"
    assert ptel.Context.from_bytes(ctx.to_bytes()) == ctx
    assert ptel.Context.from_env(ctx.to_env()) == ctx
    payload = run_plugin(inv)
    assert inv.report is None
    report = inv.end(payload)
    assert inv.report is report and report.status == 0 and not report.rejected
    assert (report.spans_accepted, report.spans_dropped, report.metrics_accepted,
            report.points_accepted) == (1, 0, 1, 1)
    assert report.reasons == {} and report.first_reason is None
    exported = inv.export_traces({"service.name": "gateway", "n": 1}, schema_url="s://x")
    assert decode(payload).span_bytes[0] in exported  # spliced verbatim
    req = traces(exported)
    (rs,) = req.resource_spans
    assert attrs(rs.resource.attributes) == {"service.name": "gateway", "n": 1}
    assert rs.schema_url == "s://x"
    host_scope, plugin_scope = rs.scope_spans
    assert (host_scope.scope.name, host_scope.scope.version) == ("ptel", ptel.__version__)
    (inv_span,) = host_scope.spans
    assert (inv_span.trace_id, inv_span.span_id, inv_span.parent_span_id) == (
        TRACE_ID, INV_ID, PARENT_ID)
    assert inv_span.name == "plugin.execute" and inv_span.start_time_unix_nano == TIME_BASE
    a = attrs(inv_span.attributes)
    assert a["plugin.name"] == "pii" and a["plugin.hook"] == "pre_invoke"
    assert a["plugin.outcome"] == "ok" and a["plugin.mode"] == "enforce"
    assert (plugin_scope.scope.name, plugin_scope.scope.version) == ("pii", "1.2.3")
    (pspan,) = plugin_scope.spans
    assert pspan == decode(payload).spans[0]
    assert pspan.parent_span_id == INV_ID and attrs(pspan.attributes) == {"a": 1}


def test_export_options_scope_and_invocation_span() -> None:
    inv = begin()
    inv.end(run_plugin(inv))
    req = traces(inv.export_traces(scope_name="gw", scope_version="9",
                                   include_invocation_span=False))
    (rs,) = req.resource_spans
    assert [ss.scope.name for ss in rs.scope_spans] == ["pii"]
    req = traces(inv.export_traces(scope_name="gw", scope_version="9"))
    assert req.resource_spans[0].scope_spans[0].scope.name == "gw"


def test_export_metrics_and_json() -> None:
    inv = begin()
    inv.end(run_plugin(inv))
    data = inv.export_metrics({"service.name": "gateway"})
    req = metrics_service_pb2.ExportMetricsServiceRequest.FromString(data)
    (rm,) = req.resource_metrics
    assert attrs(rm.resource.attributes) == {"service.name": "gateway"}
    (sm,) = rm.scope_metrics
    assert sm.scope.name == "pii"
    (m,) = sm.metrics
    assert m.name == "hits" and m.unit == "{hit}"
    assert m.sum.data_points[0].as_int == 2
    doc = json.loads(inv.to_json("metrics", resource={"service.name": "gateway"}))
    assert doc["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["name"] == "hits"
    tdoc = json.loads(inv.to_json())
    assert tdoc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] == TRACE_ID.hex()
    assert ptel.render_json(data, ptel.JsonMessage.METRICS_DATA) == inv.to_json(
        "metrics", resource={"service.name": "gateway"})
    with pytest.raises(ptel.InvalidArgumentError):
        inv.to_json("logs")


def test_outcomes_and_error_type() -> None:
    for outcome, error_type, want in [(ptel.Outcome.ERROR, "ValueError", "ValueError"),
                                      (ptel.Outcome.TIMEOUT, None, "timeout"),
                                      (ptel.Outcome.CRASH, "", "crash")]:
        inv = begin()
        inv.end(b"", outcome=outcome, error_type=error_type)
        (span,) = traces(inv.export_traces()).resource_spans[0].scope_spans[0].spans
        a = attrs(span.attributes)
        assert a["plugin.outcome"] == outcome.name.lower() and a["error.type"] == want
        assert span.status.code == 2


def test_open_spans_are_closed_by_the_host() -> None:
    inv = begin()
    rec = ptel.Recorder(inv.context)
    rec.span("never ended")
    report = inv.end(rec.finish(), outcome=ptel.Outcome.TIMEOUT)
    assert report.open_spans == 1 and report.reasons == {"open_span": 1}
    spans = traces(inv.export_traces()).resource_spans[0].scope_spans[1].spans
    assert spans[0].name == "never ended" and spans[0].status.code == 2
    assert attrs(spans[0].attributes)["error.type"] == "timeout"


def test_rejected_payload_is_a_report_not_an_exception() -> None:
    inv = begin()
    report = inv.end(b"\x08\x01\x12\x7f")
    assert report.rejected and report.status == ptel.Status.E_REJECTED
    assert report.reasons == {"malformed": 1} and report.first_reason == "malformed"
    assert report.first_status == ptel.Status.E_TRUNCATED
    assert report.first_offset > 0 and report.first_message
    doc = json.loads(report.to_json())
    assert doc["reasons"] == {"malformed": 1}
    assert len(traces(inv.export_traces()).resource_spans[0].scope_spans) == 1


def test_validation_reasons_and_policy() -> None:
    policy = ptel.HostPolicy(limits=ptel.Limits(span_count=1), reserved_keys=["secret."],
                             time_policy=ptel.TimePolicy.CLAMP, time_slack_ns=0)
    inv = begin(policy=policy)
    assert inv.context.limits.span_count == 1
    rec = ptel.Recorder(ptel.Context.new(trace_id=TRACE_ID, parent_span_id=INV_ID,
                                         time_base_unix_nano=TIME_BASE))  # not the host's limits
    with rec.span("a", attributes={"secret.key": 1, "ok": 2}):
        pass
    with rec.span("b"):
        pass
    report = inv.end(rec.finish())
    assert report.spans_accepted == 1 and report.spans_dropped == 1
    assert report.reasons["span_count"] == 1 and report.reasons["reserved_key"] == 1
    assert report.spans_modified == 1


def test_payload_from_another_trace_is_dropped() -> None:
    inv = begin()
    other = ptel.Recorder(ptel.Context.from_traceparent(
        "00-11111111111111111111111111111111-2222222222222222-01"))
    with other.span("foreign"):
        pass
    report = inv.end(other.finish())
    assert report.spans_dropped == 1 and report.reasons == {"trace_id_mismatch": 1}


def test_state_errors_and_close() -> None:
    inv = begin()
    with pytest.raises(ptel.StateError):
        inv.export_traces()
    with pytest.raises(ptel.StateError):
        ptel.Aggregator().add(inv)
    inv.end(None)
    with pytest.raises(ptel.StateError):
        inv.end(b"")
    assert inv.export_traces()  # the invocation span alone
    with inv:
        pass
    with pytest.raises(ptel.StateError):
        inv.export_traces()
    with pytest.raises(ptel.StateError):
        _ = inv.span_context
    inv.close()  # twice is fine
    with pytest.raises(ptel.InvalidArgumentError):
        begin().end(b"", outcome=9)
    with pytest.raises(ptel.InvalidIdError):
        begin(span_id=b"short")
    with pytest.raises(ptel.InvalidArgumentError):
        begin(decision=5)
    with pytest.raises(ptel.InvalidArgumentError):
        begin(attributes={"": 1})


def test_parents() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    assert ptel.Invocation.begin(None).span_context.is_valid  # a new trace
    sc = ptel.SpanContext(TRACE_ID, PARENT_ID, 1, True)
    inv = ptel.Invocation.begin(sc, span_id=bytes(range(8, 16)), context_is_remote=True,
                                span_name="hook.run", tracestate="v=1", baggage="b=2")
    assert inv.span_context.span_id == bytes(range(8, 16))
    ctx = inv.context
    assert ctx.is_remote and ctx.tracestate == "v=1" and ctx.baggage == "b=2"
    assert ptel.Invocation.begin(ctx).context.trace_id == TRACE_ID
    tracer = TracerProvider().get_tracer("host")
    with tracer.start_as_current_span("request") as span:
        for inv in (ptel.Invocation.begin(span), ptel.Invocation.begin(span.get_span_context()),
                    ptel.Invocation.begin_from_otel(plugin="p")):
            assert inv.span_context.trace_id == span.get_span_context().trace_id.to_bytes(
                16, "big")
    with pytest.raises(ptel.TraceparentError):
        ptel.Invocation.begin("garbage")


def test_scope_spans_batching_and_wrap() -> None:
    invs = []
    for _ in range(2):
        inv = begin()
        inv.end(run_plugin(inv))
        invs.append(inv)
    spans = b"".join(inv.export_scope_spans() for inv in invs)
    req = traces(ptel.wrap_traces(spans, {"service.name": "gw"}))
    (rs,) = req.resource_spans
    assert len(rs.scope_spans) == 4 and attrs(rs.resource.attributes) == {"service.name": "gw"}
    metrics = b"".join(inv.export_scope_metrics() for inv in invs)
    mreq = metrics_service_pb2.ExportMetricsServiceRequest.FromString(
        ptel.wrap_metrics(metrics, schema_url="u"))
    assert len(mreq.resource_metrics[0].scope_metrics) == 2
    assert ptel.wrap_traces(b"") == b"" and ptel.wrap_metrics(b"") == b""


def test_aggregator() -> None:
    agg = ptel.Aggregator(clock=StepClock(realtime=TIME_BASE + 10**9))
    assert agg.export() == b""
    for _ in range(3):
        inv = begin()
        inv.end(run_plugin(inv))
        agg.add(inv)
        inv.close()
    stats = agg.stats()
    assert (stats.invocations, stats.points_added, stats.metrics, stats.streams) == (3, 3, 1, 1)
    req = metrics_service_pb2.ExportMetricsServiceRequest.FromString(
        agg.export({"service.name": "gw"}))
    (m,) = req.resource_metrics[0].scope_metrics[0].metrics
    assert m.sum.aggregation_temporality == ptel.Temporality.CUMULATIVE
    assert m.sum.data_points[0].as_int == 6
    delta = metrics_service_pb2.ExportMetricsServiceRequest.FromString(
        agg.export(temporality=ptel.Temporality.DELTA))
    assert delta.resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[0].as_int == 6
    assert agg.export(temporality=ptel.Temporality.DELTA) == b""  # no change since
    limited = ptel.Aggregator(cardinality_limit=2, metric_limit=1)
    assert limited.stats().streams == 0


def test_render_json_errors() -> None:
    with pytest.raises(ptel.TruncatedError) as info:
        ptel.render_json(b"\x0a\x02ab\x12\x05ab", ptel.JsonMessage.SPAN)
    assert (info.value.offset, info.value.field) == (4, 2) and info.value.reason
    with pytest.raises(ptel.InvalidArgumentError):
        ptel.render_json(b"", 99)
    assert ptel.render_json(b"", ptel.JsonMessage.SPAN) == "{}"


def test_time_policy_reject_drops_spans_outside_the_window() -> None:
    policy = ptel.HostPolicy(time_policy=ptel.TimePolicy.REJECT, time_slack_ns=0)
    for time_policy, kept in ((ptel.TimePolicy.REJECT, 0), (ptel.TimePolicy.CLAMP, 1)):
        inv = begin(policy=ptel.HostPolicy(time_policy=time_policy, time_slack_ns=0))
        rec = ptel.Recorder(inv.context)
        rec.span("early", start_time=TIME_BASE - 10**9).end(TIME_BASE - 10**9 + 1)
        report = inv.end(rec.finish())
        assert report.spans_accepted == kept and report.reasons["time_window"] >= 1
    assert policy.time_policy == ptel.TimePolicy.REJECT
