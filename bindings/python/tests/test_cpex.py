"""ptel.cpex: plugin metrics as the flat result.metadata["<plugin>"] dict
that cpex 0.1.x gateways read; every test compares an exact dictionary."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest

import ptel
import ptel.cpex

from conftest import make_context

DEMO = {
    "pii.detections-pii.kind-email": 2,
    "pii.inflight": 1,
    "pii.buffer.size": 128,
    "pii.scan.duration.count": 2,
    "pii.scan.duration.sum": 8.5,
    "pii.scan.duration.min": 1.5,
    "pii.scan.duration.max": 7.0,
}


def demo_workload(rec: ptel.Recorder) -> None:
    """The metrics of the contract's pii_filter workload."""
    rec.counter("pii.detections", "{detection}", value_type=int).add(2, {"pii.kind": "email"})
    rec.up_down_counter("pii.inflight", "{request}", value_type=int).add(1)
    rec.gauge("pii.buffer.size", "By", value_type=int).set(128)
    h = rec.histogram("pii.scan.duration", "ms")
    h.record(1.5)
    h.record(7.0)


def payload_of(record: Callable[[ptel.Recorder], None]) -> bytes:
    rec = ptel.Recorder(make_context(), strict=True)
    record(rec)
    return rec.finish()


def test_payload_demo() -> None:
    got = ptel.cpex.metadata(payload_of(demo_workload), "pii_filter")
    assert got == {"pii_filter": DEMO}
    assert list(got["pii_filter"]) == list(DEMO)  # the order of the metrics
    assert [type(v) for v in got["pii_filter"].values()] == [int, int, int, int, float, float,
                                                              float]
    assert json.loads(json.dumps(got)) == got


def test_invocation_uses_validated_metrics_and_plugin_name() -> None:
    inv = ptel.Invocation.begin(plugin="pii_filter", version="1.0.0", hook="tool_pre_invoke")
    rec = ptel.Recorder(inv.context)
    demo_workload(rec)
    inv.end(rec.finish())
    assert ptel.cpex.metadata(inv) == {"pii_filter": DEMO}
    assert ptel.cpex.metadata(inv, "renamed") == {"renamed": DEMO}
    assert ptel.cpex.flatten(inv) == DEMO


def test_invocation_after_host_validation() -> None:
    """The payload path shows what the plugin recorded, the invocation path
    what the host accepted: here a data-point attribute key it reserves."""
    policy = ptel.HostPolicy(reserved_keys=["secret."])
    inv = ptel.Invocation.begin(plugin="p", policy=policy)
    rec = ptel.Recorder(inv.context)
    rec.counter("hits", value_type=int).add(4, {"secret.x": 1, "route": "a"})
    payload = rec.finish()
    report = inv.end(payload)
    assert report.reasons == {"reserved_key": 1}
    assert ptel.cpex.metadata(payload, "p") == {"p": {"hits-route-a-secret.x-1": 4}}
    assert ptel.cpex.metadata(inv) == {"p": {"hits-route-a": 4}}


def test_attribute_rendering_and_order() -> None:
    def record(rec: ptel.Recorder) -> None:
        c = rec.counter("calls", value_type=int)
        c.add(1, {"z": True, "a": 7, "m": 0.5})
        c.add(2, {"s": "a b/c", "neg": -3})
        c.add(3, {"b": b"\x00\x01"})
        c.add(4, {"arr": ["x", 1]})
        c.add(5, {"kv": {"k": "v"}})
        rec.gauge("io/bytes", "By").set(2.25)
        rec.counter("ratio").add(1.0)

    got = ptel.cpex.flatten(payload_of(record))
    assert got == {
        "calls-a-7-m-0.5-z-true": 1,
        "calls-neg--3-s-a_b_c": 2,
        "calls-b-AAE_": 3,
        "calls-arr-x_1": 4,
        "calls-kv-k_v": 5,
        "io_bytes": 2.25,
        "ratio": 1.0,
    }
    assert isinstance(got["ratio"], float)


def test_long_keys_are_hashed() -> None:
    name = "a" * 61  # with "-k-v": 65 characters

    def record(rec: ptel.Recorder) -> None:
        rec.counter(name, value_type=int).add(1, {"k": "v"})
        rec.counter("b" * 64, value_type=int).add(2)

    got = ptel.cpex.flatten(payload_of(record))
    assert got == {"a" * 55 + "-a844be3e": 1, "b" * 64: 2}
    assert all(len(k) <= 64 for k in got)


def test_collisions_non_finite_and_max_keys() -> None:
    def record(rec: ptel.Recorder) -> None:
        rec.counter("a/b", value_type=int).add(1)
        rec.counter("a_b", value_type=int).add(2)  # same key: left out
        rec.gauge("g").set(math.nan)  # not JSON: left out
        rec.gauge("h").set(math.inf)
        rec.counter("c", value_type=int).add(3)
        rec.histogram("d").record(1.0)

    payload = payload_of(record)
    assert ptel.cpex.flatten(payload) == {"a_b": 1, "c": 3, "d.count": 1, "d.sum": 1.0,
                                          "d.min": 1.0, "d.max": 1.0, "ptel.dropped": 3}
    # a histogram's entries come whole or not at all
    assert ptel.cpex.flatten(payload, max_keys=4) == {"a_b": 1, "c": 3, "ptel.dropped": 4}
    assert ptel.cpex.flatten(payload, max_keys=0) == {"ptel.dropped": 6}


def test_empty_and_malformed_payloads() -> None:
    assert ptel.cpex.metadata(b"", "p") == {"p": {}}
    assert ptel.cpex.metadata(b"\x0a\xff\xff", "p") == {"p": {}}
    assert ptel.cpex.metadata(payload_of(lambda rec: None), "p") == {"p": {}}
    with rec_spans_only() as payload:
        assert ptel.cpex.metadata(payload, "p") == {"p": {}}
    with pytest.raises(TypeError, match="plugin="):
        ptel.cpex.metadata(b"")


class rec_spans_only:
    """A payload with a span and no metric."""

    def __enter__(self) -> bytes:
        rec = ptel.Recorder(make_context())
        with rec.span("only"):
            pass
        return rec.finish()

    def __exit__(self, *exc: object) -> None:
        return None


def test_ended_invocation_without_metrics() -> None:
    inv = ptel.Invocation.begin(plugin="quiet")
    inv.end(b"")
    assert ptel.cpex.metadata(inv) == {"quiet": {}}
    with pytest.raises(ptel.StateError):
        ptel.cpex.metadata(ptel.Invocation.begin(plugin="open"))  # not ended yet


def test_gateway_field_names_pass_through() -> None:
    def record(rec: ptel.Recorder) -> None:
        rec.counter("total_detections", value_type=int).add(3)
        rec.counter("total_masked", value_type=int).add(2)

    assert ptel.cpex.metadata(payload_of(record), "pii_filter") == {
        "pii_filter": {"total_detections": 3, "total_masked": 2}}
