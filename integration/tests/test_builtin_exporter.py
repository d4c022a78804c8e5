"""The core's built-in OTLP/HTTP exporter (`ptel send`) against a real
collector: what arrives is the trace tree under the host's remote parent,
the plugin's scope, the host's resource, every plugin metric and the
exporter's self-telemetry."""

from __future__ import annotations

from pathlib import Path

import otlp
from collector import Collector, collector_env, wait_for
from ptelsend import require_send, send

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
REMOTE_PARENT = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{REMOTE_PARENT}-01"
SERVICE = "ptel-it-builtin"

# Every self-telemetry metric of export.h / export_self.c: name -> (unit,
# is a gauge). All sums are cumulative and monotonic.
SELF_METRICS = {
    "ptel.host.invocations": ("{invocation}", False),
    "ptel.host.payloads.rejected": ("{payload}", False),
    "ptel.host.spans.received": ("{span}", False),
    "ptel.host.spans.accepted": ("{span}", False),
    "ptel.host.spans.dropped": ("{span}", False),
    "ptel.host.points.received": ("{point}", False),
    "ptel.host.points.accepted": ("{point}", False),
    "ptel.host.points.dropped": ("{point}", False),
    "ptel.exporter.items.submitted": ("{item}", False),
    "ptel.exporter.items.sent": ("{item}", False),
    "ptel.exporter.exports": ("{request}", False),
    "ptel.exporter.retries": ("{retry}", False),
    "ptel.exporter.queue.size": ("{request}", True),
    "ptel.exporter.queue.bytes": ("By", True),
}


def by_attrs(m: otlp.Metric) -> dict[tuple[tuple[str, object], ...], int | float]:
    return {tuple(sorted(otlp.attrs(p.get("attributes")).items())): otlp.point_value(p)
            for p in m.points}


def test_send_one_invocation(collector: Collector, ptel_cli: Path) -> None:
    require_send(ptel_cli)
    env = collector_env(collector.endpoint, SERVICE)
    r = send(ptel_cli, env, "--traceparent", TRACEPARENT)
    assert r.returncode == 0, r.stderr
    assert r.trace_ids == [TRACE_ID]
    traces = r.stats["traces"]
    assert traces["submitted"] == 3 and traces["sent"] == 3 and traces["dropped"] == 0
    assert r.stats["metrics"]["dropped"] == 0

    # The collector acknowledged everything before `ptel send` exited; its
    # file exporter writes within its flush interval.
    def complete() -> bool:
        lines = collector.lines()
        names = {m.name for m in otlp.metrics(lines)}
        return len(otlp.spans(lines)) >= 3 and "pii.detections" in names \
            and "ptel.host.invocations" in names
    wait_for(complete, 10, "the collector's file")
    lines = collector.lines()
    spans = otlp.spans(lines)
    assert len(spans) == 3, [s.name for s in spans]

    tree = otlp.check_plugin_trace(spans, TRACE_ID, SERVICE)
    inv = tree["invocation"]
    assert inv.name == "plugin.execute"
    assert inv.parent == REMOTE_PARENT
    assert inv.raw.get("kind") == otlp.SPAN_KIND_INTERNAL
    # Sampled trace flags | HAS_IS_REMOTE | IS_REMOTE (PROTOCOL.md §7.5).
    assert inv.raw.get("flags") == 0x301
    assert inv.scope.get("name") == "ptel" and inv.scope.get("version")
    assert {k: inv.attributes[k] for k in
            ("plugin.name", "plugin.hook", "plugin.version", "plugin.outcome")} == {
        "plugin.name": "pii_filter", "plugin.hook": "tool_pre_invoke",
        "plugin.version": "1.0.0", "plugin.outcome": "ok"}
    assert "error.type" not in inv.attributes
    assert inv.raw.get("status", {}).get("code", 0) != 2  # not ERROR

    ms = otlp.metrics(lines)
    otlp.check_plugin_metrics(ms, SERVICE, invocations=1)
    check_self_telemetry(ms, invocations=1)


def check_self_telemetry(ms: list[otlp.Metric], invocations: int) -> None:
    """The host's counts are taken at submit time, so their last export is
    exact; the exporter's own outcome counters are exported at the start of
    the metric cycle that carries them, so they may lag by that cycle."""
    for name, (unit, gauge) in SELF_METRICS.items():
        m = otlp.last(ms, name, "ptel")
        assert m.raw["unit"] == unit, name
        assert m.resource.get("service.name") == SERVICE
        if gauge:
            assert m.kind == "gauge", name
        else:
            assert m.kind == "sum", name
            assert m.raw["sum"]["isMonotonic"] is True, name
            assert m.raw["sum"]["aggregationTemporality"] == otlp.TEMPORALITY_CUMULATIVE
    plugin = (("plugin.name", "pii_filter"),)
    n = invocations
    assert by_attrs(otlp.last(ms, "ptel.host.invocations", "ptel")) == {plugin: n}
    assert by_attrs(otlp.last(ms, "ptel.host.spans.received", "ptel")) == {plugin: 2 * n}
    assert by_attrs(otlp.last(ms, "ptel.host.spans.accepted", "ptel")) == {plugin: 2 * n}
    assert by_attrs(otlp.last(ms, "ptel.host.spans.dropped", "ptel")) == {plugin: 0}
    assert by_attrs(otlp.last(ms, "ptel.host.points.received", "ptel")) == {plugin: 4 * n}
    assert by_attrs(otlp.last(ms, "ptel.host.points.accepted", "ptel")) == {plugin: 4 * n}
    assert by_attrs(otlp.last(ms, "ptel.host.points.dropped", "ptel")) == {plugin: 0}
    assert by_attrs(otlp.last(ms, "ptel.host.payloads.rejected", "ptel")) == {plugin: 0}
    submitted = by_attrs(otlp.last(ms, "ptel.exporter.items.submitted", "ptel"))
    assert submitted[(("signal", "traces"),)] == 3 * n
    sent = by_attrs(otlp.last(ms, "ptel.exporter.items.sent", "ptel"))
    assert 0 <= sent[(("signal", "traces"),)] <= 3 * n
    assert not any(m.name == "ptel.exporter.items.dropped" and m.points
                   for m in ms), "nothing was dropped"
