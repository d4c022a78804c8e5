"""Where the gateway's telemetry goes. The host alone exports, through the
core's built-in exporter (ptel.Exporter) configured from the standard
OTEL_* variables: OTLP/JSON lines (the collector file exporter's format) in
out/otlp.jsonl by default, OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT when it
is set. Every request also goes into one combined trace request and a
metric aggregator that the core's console exporter prints as the trace
tree and metrics table at the end."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import ptel

from chain import Handled

GATEWAY_SCOPE = ("gateway", "0.1.0")


def resource_from_env(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The gateway's Resource: OTEL_RESOURCE_ATTRIBUTES, our defaults, then
    OTEL_SERVICE_NAME. It is passed to the exporter whole, so that the
    request spans (assembled here) and the invocations (assembled by the
    exporter) carry the same Resource."""
    env = dict(os.environ) if env is None else env
    listed: dict[str, Any] = {}
    for item in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, eq, value = item.partition("=")
        if eq and key.strip():
            listed[unquote(key.strip())] = unquote(value.strip())
    name = env.get("OTEL_SERVICE_NAME") or listed.pop("service.name", "ptel-gateway-demo")
    return {"service.name": name, "service.version": "0.1.0",
            "deployment.environment.name": "local", **listed}


class Output:
    """Exports what the gateway handled; `close` flushes and prints."""

    def __init__(self, out_dir: Path) -> None:
        self.resource = resource_from_env()
        out_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl = out_dir / "otlp.jsonl"
        self.jsonl.write_text("")  # the exporter appends
        try:
            self.exporter = ptel.Exporter.from_env(path=str(self.jsonl),
                                                   resource=self.resource)
        except ptel.PtelError as exc:  # e.g. no libcurl for OTLP/HTTP
            raise SystemExit(f"gateway: cannot export: {exc}") from exc
        self.aggregator = ptel.Aggregator()
        self._scope_spans: list[bytes] = []

    @property
    def destination(self) -> str:
        if self.exporter.kind == ptel.ExporterKind.OTLP_HTTP:
            return os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "the OTLP/HTTP endpoints"
        if self.exporter.kind == ptel.ExporterKind.NONE:
            return "nowhere (OTEL_SDK_DISABLED)"
        return str(self.jsonl)

    def add(self, done: Handled) -> None:
        """Export one handled request: its request span (scope "gateway")
        and every invocation (the exporter folds their metrics and counts
        their validation in its self-telemetry)."""
        assert done.request_span is not None
        request = done.request_span.export_scope_spans(
            self.resource, scope_name=GATEWAY_SCOPE[0], scope_version=GATEWAY_SCOPE[1])
        self.exporter.submit_traces(ptel.wrap_traces(request, self.resource))
        parts = [request]
        for _, inv in done.invocations:
            self.exporter.submit(inv)
            self.aggregator.add(inv)
            parts.append(inv.export_scope_spans(self.resource))
        self._scope_spans.append(b"".join(parts))

    def close(self, show_tree: bool = True) -> ptel.ExporterStats:
        """Flush and shut the exporter down; print the trace tree and the
        metrics table with the core's console exporter."""
        self.exporter.shutdown()
        stats = self.exporter.stats()
        self.exporter.close()
        if show_tree:
            sys.stdout.flush()  # the console exporter writes to fd 1 itself
            with ptel.Exporter("console", fd=sys.stdout.fileno(), self_telemetry=False) as con:
                con.submit_traces(ptel.wrap_traces(b"".join(self._scope_spans), self.resource))
                con.submit_metrics(self.aggregator.export(self.resource))
        return stats
