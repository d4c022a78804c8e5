"""The built-in exporter under faults: nothing is lost while the queue has
room, and every drop beyond it is counted. `ptel send --count N --stats`
exports N invocations (3 spans each: the invocation span and two plugin
spans) and prints the exporter's stats; the collector's file says what
arrived."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

import otlp
from collector import Collector, collector_env, wait_for
from faultproxy import Fault, FaultProxy
from ptelsend import SendResult, finish, require_send, running_after, send, start

SERVICE = "ptel-it-faults"
SPANS_PER_INVOCATION = 3
# Generous: a retried batch waits up to 1 + 2 + 4 + ... s (full jitter).
DEADLINE = ["--deadline-ms", "45000"]


@pytest.fixture
def proxy(collector: Collector) -> Iterator[FaultProxy]:
    with FaultProxy(("127.0.0.1", collector.port)) as p:
        yield p


def arrived(c: Collector, result: SendResult) -> list[otlp.Span]:
    """Wait for every span the exporter says it sent, then return them."""
    want = result.stats["traces"]["sent"]
    wait_for(lambda: len(otlp.spans(c.lines())) >= want, 15,
             f"{want} spans in the collector's file")
    return otlp.spans(c.lines())


def check_nothing_lost(c: Collector, r: SendResult, n: int) -> None:
    """Every invocation's spans arrived exactly once, the metrics add up to
    n invocations and the stats show no drop."""
    assert r.returncode == 0, r.stderr
    assert len(r.trace_ids) == n
    t = r.stats["traces"]
    assert (t["submitted"], t["sent"], t["dropped"]) == (SPANS_PER_INVOCATION * n,
                                                         SPANS_PER_INVOCATION * n, 0)
    assert r.stats["metrics"]["dropped"] == 0
    spans = arrived(c, r)
    assert sorted({s.trace_id for s in spans}) == sorted(r.trace_ids)
    assert len(spans) == SPANS_PER_INVOCATION * n, "a span arrived twice"
    for tid in r.trace_ids:
        otlp.check_plugin_trace(spans, tid, SERVICE)
    wait_for(lambda: any(m.name == "pii.detections" for m in otlp.metrics(c.lines())), 10,
             "the metrics")
    otlp.check_plugin_metrics(otlp.metrics(c.lines()), SERVICE, invocations=n)


def retries(r: SendResult) -> int:
    return int(r.stats["traces"]["retries"]) + int(r.stats["metrics"]["retries"])


def test_collector_down_at_start(stopped_collector: Collector, ptel_cli: Path) -> None:
    """The collector comes up 2 s after the exporter started: the queued
    data waits and is retried until it arrives."""
    require_send(ptel_cli)
    c = stopped_collector
    env = collector_env(c.endpoint, SERVICE)
    proc = start(ptel_cli, env, "--count", "5", *DEADLINE)
    assert running_after(proc, 2.0), "ptel send finished while the collector was down"
    c.start()
    r = finish(proc)
    check_nothing_lost(c, r, 5)
    assert retries(r) >= 1


def test_collector_killed_mid_run(collector: Collector, ptel_cli: Path) -> None:
    """The collector stops while the first batch is on its way (the proxy
    holds it) and comes back once that batch has met the stopped
    collector; the proxy passes the refusals on as dropped connections."""
    require_send(ptel_cli)
    with FaultProxy(("127.0.0.1", collector.port), upstream_error="drop") as proxy:
        proxy.arm(Fault("delay", 1, delay_ms=1500))
        env = collector_env(proxy.url, SERVICE)
        proc = start(ptel_cli, env, "--count", "10", *DEADLINE)
        wait_for(lambda: proxy.arrivals() >= 1, 30, "the first export")
        collector.stop()
        wait_for(lambda: any(s.action == "upstream_error" for s in proxy.seen()), 30,
                 "a request to meet the stopped collector")
        collector.start()
        r = finish(proc)
        check_nothing_lost(collector, r, 10)
        failed = sum(s.action == "upstream_error" for s in proxy.seen())
        assert retries(r) >= failed >= 1


def test_503_then_ok(collector: Collector, proxy: FaultProxy, ptel_cli: Path) -> None:
    require_send(ptel_cli)
    proxy.arm(Fault("status", 3, status=503))
    r = send(ptel_cli, collector_env(proxy.url, SERVICE), "--count", "3", *DEADLINE)
    check_nothing_lost(collector, r, 3)
    # Each 503 costs exactly one retry of the batch it answered.
    assert [s.status for s in proxy.seen()][:3] == [503, 503, 503]
    assert retries(r) == 3


def test_429_honours_retry_after(collector: Collector, proxy: FaultProxy,
                                 ptel_cli: Path) -> None:
    require_send(ptel_cli)
    proxy.arm(Fault("status", 1, status=429, retry_after="1"))
    r = send(ptel_cli, collector_env(proxy.url, SERVICE), *DEADLINE)
    check_nothing_lost(collector, r, 1)
    assert retries(r) == 1
    seen = proxy.seen()
    first = seen[0]
    assert first.status == 429
    (again,) = [s for s in seen[1:] if s.path == first.path][:1]
    # The retry waited at least the second Retry-After asked for.
    assert again.time - first.time >= 1.0, again.time - first.time
    assert again.status == 200


def test_dropped_connections_then_ok(collector: Collector, proxy: FaultProxy,
                                     ptel_cli: Path) -> None:
    require_send(ptel_cli)
    proxy.arm(Fault("drop", 2))
    r = send(ptel_cli, collector_env(proxy.url, SERVICE), "--count", "2", *DEADLINE)
    check_nothing_lost(collector, r, 2)
    assert retries(r) == 2


def test_slow_collector_times_out_and_retries(collector: Collector, proxy: FaultProxy,
                                              ptel_cli: Path) -> None:
    """A response slower than OTEL_EXPORTER_OTLP_TIMEOUT is a timeout, so
    the batch is sent again. The slow request still reaches the collector
    later: OTLP export is at-least-once, so its spans may arrive twice."""
    require_send(ptel_cli)
    proxy.arm(Fault("delay", 1, delay_ms=2500))
    env = collector_env(proxy.url, SERVICE, {"OTEL_EXPORTER_OTLP_TIMEOUT": "1000"})
    r = send(ptel_cli, env, "--count", "2", *DEADLINE)
    assert r.returncode == 0, r.stderr
    t = r.stats["traces"]
    assert (t["sent"], t["dropped"]) == (6, 0)
    assert retries(r) >= 1
    # Wait for the delayed copy too, then every span arrived at least once.
    wait_for(lambda: any(s.action == "delayed" for s in proxy.seen()), 15,
             "the delayed request")
    spans = arrived(collector, r)
    assert {s.trace_id for s in spans} == set(r.trace_ids)
    for tid in r.trace_ids:
        ids = {s.span_id for s in spans if s.trace_id == tid}
        assert len(ids) == SPANS_PER_INVOCATION


def test_queue_too_small_counts_every_drop(stopped_collector: Collector,
                                           ptel_cli: Path) -> None:
    """A burst of 2000 invocations while the collector is down overflows a
    queue of 64 requests per signal: what does not fit is dropped and
    counted exactly, per signal, and everything else arrives. (With the
    default 2048 requests the burst had to be over before the collector
    came up, which a loaded machine did not always manage.)"""
    require_send(ptel_cli)
    c = stopped_collector
    n = 2000
    proc = start(ptel_cli, collector_env(c.endpoint, SERVICE), "--count", str(n),
                 "--max-queue-requests", "64", *DEADLINE)
    assert running_after(proc, 1.5), "ptel send finished while the collector was down"
    c.start()
    r = finish(proc)
    assert r.returncode == 1, "ptel send exits 1 when it dropped something"
    assert len(r.trace_ids) == n
    t, m = r.stats["traces"], r.stats["metrics"]
    dropped = t["dropped_by"]["queue_full"]
    assert dropped > 0 and dropped % SPANS_PER_INVOCATION == 0
    for sig in (t, m):
        # Every item is sent or dropped for want of room, nothing else.
        assert sig["sent"] + sig["dropped_by"]["queue_full"] == sig["submitted"], sig
        assert sig["dropped"] == sig["dropped_by"]["queue_full"], sig
    assert t["submitted"] == SPANS_PER_INVOCATION * n

    spans = arrived(c, r)
    assert len(spans) == t["sent"]
    traces = otlp.by_trace(spans)
    assert set(traces) <= set(r.trace_ids)
    assert len(traces) == n - dropped // SPANS_PER_INVOCATION
    for tid, tr in traces.items():
        otlp.check_plugin_trace(tr, tid, SERVICE)
    # The metric points that arrived are exactly those counted as sent.
    if m["sent"]:
        wait_for(lambda: sum(len(x.points) for x in otlp.metrics(c.lines())) >= m["sent"], 10,
                 "the metrics")
    assert sum(len(x.points) for x in otlp.metrics(c.lines())) == m["sent"]
