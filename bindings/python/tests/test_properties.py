"""Property tests: random sequences of SDK calls never raise in non-strict
mode, never crash, and always give a payload that the host validates and
the official OTLP decoder reads."""

from __future__ import annotations

from typing import Any

from conftest import decode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

import ptel

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True), st.text(max_size=20), st.binary(max_size=20),
    st.sampled_from(["\ud800", "é", "", "x" * 300]), st.just(object()),
    st.sampled_from([ptel.SpanKind.SERVER, ptel.Decision.DROP]))
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.tuples(children, children),
                               st.dictionaries(st.one_of(st.text(max_size=5), st.integers()),
                                               children, max_size=4)),
    max_leaves=12)
keys = st.one_of(st.sampled_from(["a", "b", "http.method", "", "k\udcff"]), st.text(max_size=8),
                 st.integers())
attributes = st.one_of(st.none(), st.dictionaries(keys, values, max_size=6),
                       st.lists(st.tuples(keys, values), max_size=4))
names = st.one_of(st.text(max_size=12), st.sampled_from(["op", "\udc80", ""]), st.none(),
                  st.integers(), st.binary(max_size=4))
numbers = st.one_of(st.integers(), st.floats(allow_nan=True), st.booleans(), st.text(max_size=3),
                    st.integers(min_value=2**63, max_value=2**70))
metric_names = st.one_of(st.sampled_from(["requests", "latency", "a.b-c/d", "Requests"]),
                         st.text(max_size=10))

ops = st.lists(st.one_of(
    st.tuples(st.just("span"), names, st.integers(-1, 7), attributes, st.booleans()),
    st.tuples(st.just("end"), st.integers(0, 20)),
    st.tuples(st.just("attr"), st.integers(0, 20), keys, values),
    st.tuples(st.just("attrs"), st.integers(0, 20), attributes),
    st.tuples(st.just("event"), st.integers(0, 20), names, attributes),
    st.tuples(st.just("link"), st.integers(0, 20), st.binary(min_size=0, max_size=17),
              st.binary(min_size=0, max_size=9), attributes),
    st.tuples(st.just("status"), st.integers(0, 20), st.integers(-1, 4), names),
    st.tuples(st.just("exception"), st.integers(0, 20)),
    st.tuples(st.just("rename"), st.integers(0, 20), names),
    st.tuples(st.just("metric"), st.sampled_from(["counter", "up_down_counter", "gauge",
                                                  "histogram"]),
              metric_names, st.sampled_from([int, float]), numbers, attributes),
    st.tuples(st.just("with"), names, attributes, st.booleans()),
), max_size=25)


def play(rec: ptel.Recorder, program: list[tuple[Any, ...]]) -> None:
    spans: list[Any] = []

    def pick(i: int) -> Any:
        return spans[i % len(spans)] if spans else rec.span("fallback")

    for op in program:
        kind = op[0]
        if kind == "span":
            _, name, k, a, nested = op
            parent = spans[-1] if nested and spans else None
            spans.append(rec.span(name, kind=k, attributes=a, parent=parent))
        elif kind == "end":
            pick(op[1]).end()
        elif kind == "attr":
            pick(op[1]).set_attribute(op[2], op[3])
        elif kind == "attrs":
            pick(op[1]).set_attributes(op[2] or {})
        elif kind == "event":
            pick(op[1]).add_event(op[2], op[3])
        elif kind == "link":
            pick(op[1]).add_link(ptel.SpanContext(op[2], op[3], 1), op[4])
        elif kind == "status":
            pick(op[1]).set_status(op[2], op[3])
        elif kind == "exception":
            pick(op[1]).record_exception(RuntimeError("x"))
        elif kind == "rename":
            pick(op[1]).update_name(op[2])
        elif kind == "metric":
            _, mkind, name, vtype, value, a = op
            inst = getattr(rec, mkind)(name, value_type=vtype)
            getattr(inst, {"counter": "add", "up_down_counter": "add", "gauge": "set",
                           "histogram": "record"}[mkind])(value, a)
        elif kind == "with":
            _, name, a, fail = op
            try:
                with rec.span(name, attributes=a) as s:
                    s.add_event("inside")
                    if fail:
                        raise ValueError("planned")
            except ValueError:
                pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=ops, decision=st.sampled_from(list(ptel.Decision)),
       limits=st.sampled_from([None, ptel.Limits(span_count=3, attribute_count=2,
                                                 attribute_value_length=5, event_count=1,
                                                 metric_count=2, metric_cardinality=2,
                                                 attribute_depth=1)]))
def test_random_programs_never_raise_and_validate(program: list[tuple[Any, ...]],
                                                  decision: ptel.Decision,
                                                  limits: ptel.Limits | None) -> None:
    policy = ptel.HostPolicy(limits=limits, accept_record_only=True)
    inv = ptel.Invocation.begin(None, plugin="prop", decision=decision, policy=policy)
    rec = ptel.Recorder(inv.context)
    play(rec, program)
    payload = rec.finish()
    tel = decode(payload)  # the official decoder reads every span and metric
    assert tel.protocol_version == 1
    report = inv.end(payload)
    assert not report.rejected
    # What the recorder wrote is valid: nothing dropped for a wire, id, parent,
    # UTF-8 or type problem (only limits and host policy may drop).
    allowed = {"span_count", "attribute_count", "event_count", "link_count", "string_length",
               "depth", "metric_count", "cardinality", "open_span", "not_sampled"}
    assert set(report.reasons) <= allowed, report.reasons
    traces = trace_service_pb2.ExportTraceServiceRequest.FromString(inv.export_traces())
    metrics = metrics_service_pb2.ExportMetricsServiceRequest.FromString(inv.export_metrics())
    exported = sum(len(ss.spans) for rs in traces.resource_spans for ss in rs.scope_spans)
    host_span = 0 if decision == ptel.Decision.DROP else 1  # the invocation span
    assert exported == report.spans_accepted + host_span
    assert sum(len(sm.metrics) for rm in metrics.resource_metrics
               for sm in rm.scope_metrics) == report.metrics_accepted
    inv.to_json()
    inv.to_json("metrics")


@settings(max_examples=60, deadline=None)
@given(program=ops)
def test_random_programs_without_context(program: list[tuple[Any, ...]]) -> None:
    rec = ptel.Recorder(None)
    play(rec, program)
    assert rec.finish() == b""
