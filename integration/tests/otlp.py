"""Reading the collector file exporter's OTLP/JSON lines: spans and metric
data points flattened with their resource and scope, and the checks every
exporter path shares (the plugin workload of contract item 2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

# OTLP enums as the collector's JSON writes them (numbers).
SPAN_KIND_INTERNAL, SPAN_KIND_SERVER = 1, 2
TEMPORALITY_DELTA, TEMPORALITY_CUMULATIVE = 1, 2
# The OpenTelemetry SDKs' default explicit histogram bounds.
DEFAULT_BOUNDS = [0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0,
                  2500.0, 5000.0, 7500.0, 10000.0]


def attrs(kvs: list[dict[str, Any]] | None) -> dict[str, Any]:
    """OTLP/JSON KeyValue list -> {key: python value}."""
    out: dict[str, Any] = {}
    for kv in kvs or []:
        v = kv.get("value", {})
        if "stringValue" in v:
            out[kv["key"]] = v["stringValue"]
        elif "intValue" in v:
            out[kv["key"]] = int(v["intValue"])  # int64 is a JSON string
        elif "doubleValue" in v:
            out[kv["key"]] = float(v["doubleValue"])
        elif "boolValue" in v:
            out[kv["key"]] = bool(v["boolValue"])
        else:
            out[kv["key"]] = v
    return out


@dataclass
class Item:
    """A span or metric as written (`raw`), with its resource attributes
    and instrumentation scope."""

    raw: dict[str, Any]
    resource: dict[str, Any]
    scope: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.raw["name"])


class Span(Item):
    @property
    def trace_id(self) -> str:
        return str(self.raw["traceId"])

    @property
    def span_id(self) -> str:
        return str(self.raw["spanId"])

    @property
    def parent(self) -> str:
        return str(self.raw.get("parentSpanId", ""))

    @property
    def attributes(self) -> dict[str, Any]:
        return attrs(self.raw.get("attributes"))


class Metric(Item):
    @property
    def kind(self) -> str:
        for k in ("sum", "gauge", "histogram", "exponentialHistogram", "summary"):
            if k in self.raw:
                return k
        raise AssertionError(f"metric {self.name} has no data")

    @property
    def points(self) -> list[dict[str, Any]]:
        return list(self.raw[self.kind].get("dataPoints", []))


T = TypeVar("T", bound=Item)


def _walk(lines: list[dict[str, Any]], cls: type[T], top: str, mid: str, leaf: str) -> list[T]:
    out: list[T] = []
    for line in lines:
        for r in line.get(top, []):
            res = attrs(r.get("resource", {}).get("attributes"))
            for sc in r.get(mid, []):
                out.extend(cls(x, res, sc.get("scope", {})) for x in sc.get(leaf, []))
    return out


def spans(lines: list[dict[str, Any]]) -> list[Span]:
    return _walk(lines, Span, "resourceSpans", "scopeSpans", "spans")


def metrics(lines: list[dict[str, Any]]) -> list[Metric]:
    return _walk(lines, Metric, "resourceMetrics", "scopeMetrics", "metrics")


def by_trace(all_spans: list[Span]) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = {}
    for s in all_spans:
        out.setdefault(s.trace_id, []).append(s)
    return out


def last(ms: list[Metric], name: str, scope: str) -> Metric:
    """The last export of metric `name` in scope `scope` (cumulative streams
    are exported on every cycle; the last one has the final values)."""
    found = [m for m in ms if m.name == name and m.scope.get("name") == scope]
    assert found, f"no metric {name} in scope {scope}; have " \
                  f"{sorted({(m.scope.get('name'), m.name) for m in ms})}"
    return found[-1]


def point_value(p: dict[str, Any]) -> int | float:
    if "asInt" in p:
        return int(p["asInt"])
    return float(p["asDouble"])


def check_plugin_trace(all_spans: list[Span], trace_id: str, service: str) -> dict[str, Span]:
    """The plugin spans of contract item 2 in trace `trace_id`, checked
    against each other: scan under the invocation span, redact under scan
    with its event, the plugin's scope and the host's resource. Returns the
    spans by name, with the invocation span under "invocation"."""
    tr = [s for s in all_spans if s.trace_id == trace_id]
    by_name: dict[str, list[Span]] = {}
    for s in tr:
        by_name.setdefault(s.name, []).append(s)
    assert set(by_name) >= {"pii_filter.scan", "pii_filter.redact"}, sorted(by_name)
    scan, = by_name["pii_filter.scan"]
    redact, = by_name["pii_filter.redact"]
    by_id = {s.span_id: s for s in tr}
    assert scan.parent in by_id, "the scan span's parent (the invocation span) is missing"
    inv = by_id[scan.parent]

    assert scan.raw.get("kind") == SPAN_KIND_INTERNAL
    assert scan.attributes.get("pii.count") == 2
    assert redact.parent == scan.span_id
    events = redact.raw.get("events", [])
    assert [e["name"] for e in events] == ["pii.detected"]
    assert attrs(events[0].get("attributes")) == {"pii.kind": "email"}
    for s in (scan, redact):
        assert s.scope.get("name") == "pii_filter", s.scope
        assert s.scope.get("version") == "1.0.0", s.scope
    for s in (inv, scan, redact):
        assert s.resource.get("service.name") == service, s.resource
        assert s.resource.get("deployment.environment") == "it", s.resource
        assert s.resource.get("host.name") == "ptel-it", s.resource
        # Children lie within the invocation span's time.
        assert int(inv.raw["startTimeUnixNano"]) <= int(s.raw["startTimeUnixNano"])
        assert int(s.raw["endTimeUnixNano"]) <= int(inv.raw["endTimeUnixNano"])
    return {"invocation": inv, "pii_filter.scan": scan, "pii_filter.redact": redact}


def check_plugin_metrics(ms: list[Metric], service: str, invocations: int,
                         temporality: int = TEMPORALITY_CUMULATIVE) -> None:
    """The four plugin instruments of contract item 2 after `invocations`
    invocations, as cumulative streams (the last export of each)."""
    det = last(ms, "pii.detections", "pii_filter")
    assert det.kind == "sum" and det.raw["unit"] == "{detection}"
    assert det.raw["sum"].get("isMonotonic") is True
    assert det.raw["sum"]["aggregationTemporality"] == temporality
    (p,) = det.points
    assert attrs(p.get("attributes")) == {"pii.kind": "email"}
    assert point_value(p) == 2 * invocations

    inflight = last(ms, "pii.inflight", "pii_filter")
    assert inflight.kind == "sum" and inflight.raw["unit"] == "{request}"
    assert not inflight.raw["sum"].get("isMonotonic", False)
    assert inflight.raw["sum"]["aggregationTemporality"] == TEMPORALITY_CUMULATIVE
    (p,) = inflight.points
    assert attrs(p.get("attributes")) == {}
    assert point_value(p) == invocations

    buf = last(ms, "pii.buffer.size", "pii_filter")
    assert buf.kind == "gauge" and buf.raw["unit"] == "By"
    (p,) = buf.points
    assert attrs(p.get("attributes")) == {}
    assert point_value(p) == 128 and "asInt" in p

    hist = last(ms, "pii.scan.duration", "pii_filter")
    assert hist.kind == "histogram" and hist.raw["unit"] == "ms"
    assert hist.raw["histogram"]["aggregationTemporality"] == temporality
    (p,) = hist.points
    assert attrs(p.get("attributes")) == {}
    assert int(p["count"]) == 2 * invocations
    assert float(p["sum"]) == 8.5 * invocations
    assert float(p["min"]) == 1.5 and float(p["max"]) == 7.0
    assert [float(b) for b in p["explicitBounds"]] == DEFAULT_BOUNDS
    buckets = [int(c) for c in p["bucketCounts"]]
    assert buckets == [0, invocations, invocations] + [0] * 13

    for m in (det, inflight, buf, hist):
        assert m.scope.get("name") == "pii_filter" and m.scope.get("version") == "1.0.0"
        assert m.resource.get("service.name") == service
        assert m.resource.get("deployment.environment") == "it"
