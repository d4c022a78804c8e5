"""Instruments, decoded with the official OTLP Metric message."""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import TIME_BASE, TRACE_ID, attrs, decode, make_context
from opentelemetry.proto.metrics.v1 import metrics_pb2

import ptel

DELTA = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
DEFAULT_BOUNDS = [0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0,
                  5000.0, 7500.0, 10000.0]


def points(metric: metrics_pb2.Metric) -> dict[tuple[tuple[str, Any], ...], Any]:
    """Data points keyed by their attribute set."""
    data = getattr(metric, metric.WhichOneof("data"))
    return {tuple(sorted(attrs(p.attributes).items())): p for p in data.data_points}


def test_counter_int_and_double(rec: ptel.Recorder) -> None:
    c = rec.counter("pii.detections", "{detection}", "PII detections", value_type=int)
    assert rec.counter("pii.detections", "{detection}", "PII detections", value_type=int)
    c.add(1, {"pii.type": "email"})
    c.add(2, {"pii.type": "email"})
    c.add(5, {"pii.type": "phone"})
    c.add(True)
    d = rec.counter("bytes.scanned", "By")
    d.add(1.5)
    d.add(2)  # an int on a double counter
    tel = decode(rec.finish())
    m = tel.metric("pii.detections")
    assert (m.unit, m.description, m.WhichOneof("data")) == ("{detection}", "PII detections",
                                                             "sum")
    assert m.sum.is_monotonic and m.sum.aggregation_temporality == DELTA
    p = points(m)
    assert p[(("pii.type", "email"),)].as_int == 3
    assert p[(("pii.type", "phone"),)].as_int == 5
    assert p[()].as_int == 1
    for point in p.values():
        assert point.start_time_unix_nano == TIME_BASE
        assert point.time_unix_nano > point.start_time_unix_nano
    (dp,) = tel.metric("bytes.scanned").sum.data_points
    assert dp.WhichOneof("value") == "as_double" and dp.as_double == 3.5


def test_up_down_counter_and_gauge(rec: ptel.Recorder) -> None:
    u = rec.up_down_counter("queue.depth", "{item}", value_type=int)
    u.add(5)
    u.add(-7)
    g = rec.gauge("temperature", "Cel")
    g.set(20.5, {"room": "a"})
    g.set(19.25, {"room": "a"})
    g.set(float("nan"), {"room": "b"})  # gauges accept non-finite values
    tel = decode(rec.finish())
    s = tel.metric("queue.depth").sum
    assert not s.is_monotonic and s.aggregation_temporality == DELTA
    assert s.data_points[0].as_int == -2
    gp = points(tel.metric("temperature"))
    assert gp[(("room", "a"),)].as_double == 19.25
    assert math.isnan(gp[(("room", "b"),)].as_double)


def test_histogram_bounds_and_default(rec: ptel.Recorder) -> None:
    h = rec.histogram("scan.duration", "s", "Time to scan", bounds=[0.1, 1, 10])
    for v in (0.05, 0.5, 0.7, 5, 50):
        h.record(v, {"mode": "redact"})
    dflt = rec.histogram("size", "By", value_type=int)
    dflt.record(7)
    dflt.record(7000)
    tel = decode(rec.finish())
    hist = tel.metric("scan.duration").histogram
    assert hist.aggregation_temporality == DELTA
    (p,) = hist.data_points
    assert attrs(p.attributes) == {"mode": "redact"}
    assert list(p.explicit_bounds) == [0.1, 1, 10]
    assert list(p.bucket_counts) == [1, 2, 1, 1]
    assert (p.count, p.sum, p.min, p.max) == (5, 56.25, 0.05, 50)
    (q,) = tel.metric("size").histogram.data_points
    assert list(q.explicit_bounds) == DEFAULT_BOUNDS
    assert q.count == 2 and q.sum == 7007 and q.bucket_counts[2] == 1 and q.bucket_counts[13] == 1


def test_exemplar_from_current_or_given_span(rec: ptel.Recorder) -> None:
    c = rec.counter("c", value_type=int)
    h = rec.histogram("h")
    with rec.span("work") as work:
        c.add(4)
    h.record(2.5, span=work)  # ended spans still name the exemplar
    c2 = rec.counter("no.exemplar", value_type=int)
    c2.add(1)
    tel = decode(rec.finish())
    span_id = tel.span("work").span_id
    (ex,) = tel.metric("c").sum.data_points[0].exemplars
    assert (ex.span_id, ex.trace_id, ex.as_int) == (span_id, TRACE_ID, 4)
    assert ex.time_unix_nano > TIME_BASE
    (hx,) = tel.metric("h").histogram.data_points[0].exemplars
    assert hx.span_id == span_id and hx.as_double == 2.5
    assert not tel.metric("no.exemplar").sum.data_points[0].exemplars


def test_unsampled_span_gives_no_exemplar() -> None:
    rec = ptel.Recorder(make_context(trace_flags=0, decision=ptel.Decision.RECORD_ONLY))
    c = rec.counter("c", value_type=int)
    with rec.span("s"):
        c.add(1)
    assert not decode(rec.finish()).metric("c").sum.data_points[0].exemplars


def test_metrics_recorded_under_drop_decision() -> None:
    rec = ptel.Recorder(make_context(decision=ptel.Decision.DROP))
    with rec.span("not recorded"):
        rec.counter("c", value_type=int).add(3)
    tel = decode(rec.finish())
    assert not tel.spans
    assert tel.metric("c").sum.data_points[0].as_int == 3
    assert not tel.metric("c").sum.data_points[0].exemplars


def test_invalid_instruments_and_measurements_are_counted(ctx: ptel.Context) -> None:
    rec = ptel.Recorder(ctx)
    rec.counter("1bad name").add(1)  # refused at creation: one metrics drop
    rec.counter("ok", unit="ü").add(1)  # non-ASCII unit
    rec.histogram("h", bounds=[2, 1]).record(1)  # bounds not increasing
    rec.counter("c", value_type=int)
    rec.gauge("c")  # kind conflict
    c = rec.counter("c", value_type=int)
    c.add(-1)  # negative on a counter
    c.add(1.5)  # float on an int counter
    c.add("x")  # type: ignore[arg-type]  # not a number
    c.add(2**70)  # beyond int64: a float, refused by the int counter
    rec.histogram("h2").record(float("inf"))
    rec.counter(None)  # type: ignore[arg-type]
    tel = decode(rec.finish())
    assert not tel.metrics  # "c" has no point left, so it is not sent
    assert tel.dropped == {"metrics": 5, "metric_points": 5}


def test_big_values_on_double_instruments(rec: ptel.Recorder) -> None:
    g = rec.gauge("g")
    g.set(2**70)
    g.set(10**400, {"huge": True})
    tel = decode(rec.finish())
    p = points(tel.metric("g"))
    assert p[()].as_double == float(2**70)
    assert p[(("huge", True),)].as_double == float("inf")


@pytest.mark.parametrize("make", [
    lambda r: r.counter("1bad"),
    lambda r: r.histogram("h", bounds=[1, 1]),
    lambda r: (r.counter("c"), r.gauge("c")),
    lambda r: r.counter("c", value_type=int).add(-1),
    lambda r: r.counter("c", value_type=int).add(0.5),
    lambda r: r.histogram("h").record(float("nan")),
])
def test_strict_metrics_raise(rec: ptel.Recorder, make: Any) -> None:
    with pytest.raises(ptel.PtelError):
        make(rec)


def test_instrument_repr_and_identity(rec: ptel.Recorder) -> None:
    c = rec.counter("c")
    assert repr(c) == "<ptel.Counter 'c'>" and c.kind == ptel.MetricKind.COUNTER
    assert rec.up_down_counter("u").kind == ptel.MetricKind.UPDOWN_COUNTER
