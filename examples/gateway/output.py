"""Where the gateway's telemetry goes. The host alone exports: it hands
each validated invocation to the output, which writes OTLP/JSON lines (the
collector file exporter's format) under out/ by default, and keeps one
combined request of every trace and the aggregated metrics for the console
trace tree."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ptel

from chain import Handled

GATEWAY_SCOPE = ("gateway", "0.1.0")


class Output:
    """Collects what the gateway handled and writes it out at `close`."""

    def __init__(self, out_dir: Path, resource: Mapping[str, Any], cli: str) -> None:
        self.out_dir, self.resource, self.cli = out_dir, dict(resource), cli
        out_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl = out_dir / "otlp.jsonl"
        self.jsonl.write_text("")
        self.aggregator = ptel.Aggregator()
        self._scope_spans: list[bytes] = []

    def add(self, done: Handled) -> None:
        """Take one handled request: its request span and every invocation
        (spans exported as one OTLP request per trace, metrics folded)."""
        assert done.request_span is not None
        parts = [done.request_span.export_scope_spans(
            self.resource, scope_name=GATEWAY_SCOPE[0], scope_version=GATEWAY_SCOPE[1])]
        for _, inv in done.invocations:
            parts.append(inv.export_scope_spans(self.resource))
            self.aggregator.add(inv)
        trace = b"".join(parts)
        self._scope_spans.append(trace)
        self._write_line(ptel.wrap_traces(trace, self.resource), ptel.JsonMessage.TRACES_DATA)

    def _write_line(self, request: bytes, message: int) -> None:
        if request:
            with self.jsonl.open("a") as f:
                f.write(ptel.render_json(request, message) + "\n")

    def close(self, show_tree: bool = True) -> None:
        """Write the cumulative metrics line, the protobuf files behind the
        tree, and print the tree."""
        metrics = self.aggregator.export(self.resource)
        self._write_line(metrics, ptel.JsonMessage.METRICS_DATA)
        traces = ptel.wrap_traces(b"".join(self._scope_spans), self.resource)
        (self.out_dir / "traces.binpb").write_bytes(traces)
        (self.out_dir / "metrics.binpb").write_bytes(metrics)
        if show_tree:
            sys.stdout.flush()
            subprocess.run([self.cli, "tree", str(self.out_dir / "traces.binpb"),
                            str(self.out_dir / "metrics.binpb")], check=True)
