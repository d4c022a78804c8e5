"""Bridge to today's CPEX gateway: plugin metrics as ``result.metadata``.

cpex 0.1.x merges each plugin's ``PluginResult.metadata`` into the hook's
combined result (``dict.update``), and the gateway reads
``result.metadata["<plugin>"]`` as one flat dictionary of that plugin's
metrics (scalar values; it checks keys against ``[A-Za-z0-9_.-]{1,64}``
and inspects at most the first 32 keys). A ptel-based plugin can return::

    payload = rec.finish()
    return ToolPreInvokeResult(metadata=ptel.cpex.metadata(payload, "pii_filter"))

and a host that runs ptel invocations can hand the same dictionary to
code that expects it: ``ptel.cpex.metadata(invocation)`` (after ``end``:
the validated metrics, under the plugin's invocation name).

The gateway treats the dictionary as untrusted: it keeps booleans, finite
numbers and short low-cardinality strings, and recent versions keep a
number only under a field name they know (``total_detections``,
``total_masked``, ``total_blocked``, ``total_checked``, ``allowed``,
``throttled``, ``retry_count``, ``retry_delay_ms``). A plugin that wants
its numbers shown there records them under those names without attributes:
a counter ``total_detections`` becomes the key ``total_detections``.

## Flattening rule

Each data point, in the order of the metrics and of their points, gives
one or more entries:

* key = the metric name, then for each attribute in key order
  ``"-" + key + "-" + value`` (a string as it is, a bool as ``true`` /
  ``false``, an int in decimal, a double in Python's shortest ``repr``,
  bytes as base64, an array as its elements joined by ``,``, a map as
  ``key=value`` joined by ``,``, an empty value as nothing); every character outside ``[A-Za-z0-9_.-]`` becomes ``_``,
  and a key longer than 64 characters becomes its first 55 characters,
  ``-`` and the first 8 hex digits of the SHA-256 of the whole key;
* counter, up-down counter, gauge: ``key`` = the point's value (int or
  float, as recorded; for a payload, the plugin's per-invocation delta);
* histogram: ``key + ".count"`` (int) and ``key + ".sum"``, ``".min"``,
  ``".max"`` (floats; min and max only when recorded).

A point whose key is already taken, a non-finite value, and (with
``max_keys``) entries beyond that many are left out; their number is the
last entry, ``"ptel.dropped"``, present only when not zero. Values are
JSON-serialisable; the output is the same for the same input.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Union

from ._errorbase import PtelError
from ._generated import JsonMessage
from .host import Invocation, render_json

__all__ = ["metadata", "flatten", "Value", "DROPPED_KEY"]

Value = Union[int, float]
DROPPED_KEY = "ptel.dropped"
_MAX_KEY = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _key(raw: str) -> str:
    key = _UNSAFE.sub("_", raw) or "_"
    if len(key) <= _MAX_KEY:
        return key
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{key[:_MAX_KEY - 9]}-{digest}"


def _render(value: Mapping[str, Any]) -> str:
    """An OTLP/JSON AnyValue as the text that goes into a key."""
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return "true" if value["boolValue"] else "false"
    if "intValue" in value:
        return str(int(value["intValue"]))
    if "doubleValue" in value:
        return repr(_double(value["doubleValue"]))
    if "bytesValue" in value:
        return str(value["bytesValue"])
    if "arrayValue" in value:
        return ",".join(_render(v) for v in value["arrayValue"].get("values", []))
    if "kvlistValue" in value:
        return ",".join(f"{kv.get('key', '')}={_render(kv.get('value', {}))}"
                        for kv in value["kvlistValue"].get("values", []))
    return ""


def _double(v: Any) -> float:
    # OTLP/JSON writes non-finite doubles as the strings "NaN", "Infinity", ...
    return float(v)


def _point_key(name: str, attributes: Iterable[Mapping[str, Any]]) -> str:
    parts = [name]
    for kv in sorted(attributes, key=lambda kv: str(kv.get("key", ""))):
        parts += ["-", str(kv.get("key", "")), "-", _render(kv.get("value", {}))]
    return _key("".join(parts))


def _number(point: Mapping[str, Any]) -> Value:
    if "asInt" in point:
        return int(point["asInt"])
    return _double(point.get("asDouble", 0.0))


class _Flat:
    def __init__(self, max_keys: int | None) -> None:
        self.out: dict[str, Value] = {}
        self.dropped = 0
        self.max_keys = max_keys

    def put(self, entries: list[tuple[str, Value]]) -> None:
        """All entries of one point, or none of them."""
        full = self.max_keys is not None and len(self.out) + len(entries) > self.max_keys
        if full or any(k in self.out for k, _ in entries) or any(
                isinstance(v, float) and not math.isfinite(v) for _, v in entries):
            self.dropped += 1
            return
        self.out.update(entries)

    def metric(self, m: Mapping[str, Any]) -> None:
        name = str(m.get("name", ""))
        for kind in ("sum", "gauge"):
            for p in m.get(kind, {}).get("dataPoints", []):
                self.put([(_point_key(name, p.get("attributes", [])), _number(p))])
        for p in m.get("histogram", {}).get("dataPoints", []):
            key = _point_key(name, p.get("attributes", []))
            entries: list[tuple[str, Value]] = [(key + ".count", int(p.get("count", 0))),
                                                (key + ".sum", _double(p.get("sum", 0.0)))]
            entries += [(f"{key}.{f}", _double(p[f])) for f in ("min", "max") if f in p]
            self.put(entries)

    def result(self) -> dict[str, Value]:
        if self.dropped:
            self.out[DROPPED_KEY] = self.dropped
        return self.out


def _metrics(source: bytes | bytearray | memoryview | Invocation) -> list[Mapping[str, Any]]:
    """The OTLP/JSON metrics of the source (rendered by the core)."""
    if isinstance(source, Invocation):
        data = source.export_metrics()
        if not data:
            return []
        doc = json.loads(render_json(data, JsonMessage.METRICS_DATA))
        return [m for rm in doc.get("resourceMetrics", []) for sm in rm.get("scopeMetrics", [])
                for m in sm.get("metrics", [])]
    raw = bytes(source)
    if not raw:
        return []
    try:
        doc = json.loads(render_json(raw, JsonMessage.PLUGIN_TELEMETRY))
    except PtelError:
        return []  # a malformed payload has no metrics to show
    return list(doc.get("metrics", []))


def flatten(source: bytes | bytearray | memoryview | Invocation, *,
            max_keys: int | None = None) -> dict[str, Value]:
    """One plugin's metrics as the flat dictionary of the module's rule.
    ``source`` is the plugin's PluginTelemetry payload (a malformed one
    gives an empty dictionary, never an exception) or an ended
    ``ptel.Invocation`` (its validated metrics)."""
    flat = _Flat(max_keys)
    for m in _metrics(source):
        flat.metric(m)
    return flat.result()


def metadata(source: bytes | bytearray | memoryview | Invocation, plugin: str | None = None,
             *, max_keys: int | None = None) -> dict[str, dict[str, Value]]:
    """``{plugin: flatten(source)}``, for ``PluginResult.metadata``.
    ``plugin`` is required with a payload (it does not name its plugin) and
    defaults to the invocation's plugin name with an Invocation."""
    if plugin is None:
        if not isinstance(source, Invocation):
            raise TypeError("a PluginTelemetry payload does not name its plugin: pass plugin=")
        plugin = source.context.plugin_name
    return {plugin: flatten(source, max_keys=max_keys)}
