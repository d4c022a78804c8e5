"""Shared fixtures: deterministic clocks and ids, contexts, and decoders of
PluginTelemetry built on the official opentelemetry-proto package (Span and
Metric messages) plus our own proto/ptel/v1 compiled with protoc at test
time (the PluginTelemetry and PluginContext envelopes)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

import ptel

ROOT = Path(__file__).resolve().parents[3]
TRACE_ID = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
PARENT_ID = bytes.fromhex("00f067aa0ba902b7")
TP_SAMPLED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TP_UNSAMPLED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
TIME_BASE = 1_700_000_000_000_000_000

# Keep hypothesis' example database out of the source tree.
settings.register_profile("ptel", database=DirectoryBasedExampleDatabase(
    str(ROOT / "build" / "python" / "hypothesis")))
settings.load_profile("ptel")


class StepClock(ptel.Clock):
    """Monotonic time advancing `step` ns per reading from 0 and a fixed
    wall clock: the clock of `ptel demo-plugin --deterministic`."""

    def __init__(self, step: int = 1000, realtime: int = TIME_BASE) -> None:
        self.mono = 0
        self.step = step
        self.realtime = realtime

    def monotonic_ns(self) -> int:
        self.mono += self.step
        return self.mono

    def realtime_ns(self) -> int:
        return self.realtime


class CounterIds(ptel.IdGenerator):
    """Id number k (from 1) is the bytes k, k+1, ... (mod 256): the id
    generator of `ptel demo-plugin --deterministic`."""

    def __init__(self) -> None:
        self.count = 0

    def generate(self, n: int) -> bytes:
        self.count += 1
        return bytes((self.count + i) & 0xFF for i in range(n))


def make_context(**kw: Any) -> ptel.Context:
    fields: dict[str, Any] = dict(trace_id=TRACE_ID, parent_span_id=PARENT_ID, trace_flags=1,
                                  is_remote=True, time_base_unix_nano=TIME_BASE,
                                  plugin_name="pii", plugin_version="1.2.3", hook="pre_invoke")
    fields.update(kw)
    return ptel.Context.new(**fields)


@pytest.fixture
def ctx() -> ptel.Context:
    return make_context()


@pytest.fixture
def rec(ctx: ptel.Context) -> ptel.Recorder:
    """A strict recorder with the deterministic clock and ids."""
    return ptel.Recorder(ctx, strict=True, clock=StepClock(), id_generator=CounterIds())


# ---- wire-level helpers --------------------------------------------------------------


def varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields_of(data: bytes) -> list[tuple[int, Any]]:
    """Top-level (field number, value) pairs of a protobuf message: varints as
    ints, length-delimited fields as their raw bytes."""
    out: list[tuple[int, Any]] = []
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(data, i)
        elif wire == 2:
            n, i = varint(data, i)
            value = data[i : i + n]
            assert len(value) == n, "truncated field"
            i += n
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        out.append((num, value))
    return out


@dataclass
class Telemetry:
    """A PluginTelemetry decoded: spans and metrics by the official OTLP
    messages (their exact bytes kept too), drop counters as a dict."""

    protocol_version: int = 0
    spans: list[trace_pb2.Span] = field(default_factory=list)
    span_bytes: list[bytes] = field(default_factory=list)
    metrics: list[metrics_pb2.Metric] = field(default_factory=list)
    open_spans: list[trace_pb2.Span] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)

    def span(self, name: str) -> trace_pb2.Span:
        (found,) = [s for s in self.spans + self.open_spans if s.name == name]
        return found

    def metric(self, name: str) -> metrics_pb2.Metric:
        (found,) = [m for m in self.metrics if m.name == name]
        return found


DROP_FIELDS = {1: "spans", 2: "metrics", 3: "metric_points", 4: "errors"}


def decode(payload: bytes) -> Telemetry:
    t = Telemetry()
    for num, value in fields_of(payload):
        if num == 1:
            t.protocol_version = value
        elif num == 2:
            t.span_bytes.append(value)
            t.spans.append(trace_pb2.Span.FromString(value))
        elif num == 3:
            t.metrics.append(metrics_pb2.Metric.FromString(value))
        elif num == 4:
            t.open_spans.append(trace_pb2.Span.FromString(value))
        elif num == 5:
            t.dropped = {DROP_FIELDS[n]: v for n, v in fields_of(value)}
        else:
            raise AssertionError(f"unknown PluginTelemetry field {num}")
    return t


def any_value(v: common_pb2.AnyValue) -> Any:
    """An official AnyValue as the Python value the SDK takes."""
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(e) for e in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind)


def attrs(kvs: Any) -> dict[str, Any]:
    out = {}
    for kv in kvs:
        assert kv.key not in out, f"duplicate key {kv.key}"
        out[kv.key] = any_value(kv.value)
    return out


# ---- our own schema, compiled at test time -----------------------------------------


@pytest.fixture(scope="session")
def ptel_pb(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Message classes of proto/ptel/v1 (PluginContext, PluginTelemetry),
    compiled with protoc into a descriptor set."""
    protoc = shutil.which("protoc")
    if protoc is None:
        pytest.skip("protoc is not installed (scripts/bootstrap.sh installs it)")
    out = tmp_path_factory.mktemp("proto") / "ptel.desc"
    subprocess.run([protoc, f"-I{ROOT / 'proto'}", "--include_imports",
                    f"--descriptor_set_out={out}", "ptel/v1/plugin.proto"], check=True)
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)

    class Messages:
        PluginContext = message_factory.GetMessageClass(
            pool.FindMessageTypeByName("ptel.v1.PluginContext"))
        PluginTelemetry = message_factory.GetMessageClass(
            pool.FindMessageTypeByName("ptel.v1.PluginTelemetry"))

    return Messages
