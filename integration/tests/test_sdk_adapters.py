"""Each SDK adapter program (contract item 2) exporting through its own
OpenTelemetry SDK's OTLP/HTTP exporters into a real collector: the host's
`gateway.request` is the root, the invocation span is a span of that SDK
under it, and the plugin's spans and metrics follow with the plugin's scope
and the host's resource."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import otlp
from collector import Collector, collector_env, wait_for
from conftest import ROOT

# language -> (the program's file, its command line, the SDK's
# telemetry.sdk.language). The Python program runs with the interpreter of
# this test (the project venv, where `make test-integration` installed ptel).
ADAPTERS = {
    "python": ("examples/adapters/python/adapter_demo.py",
               [sys.executable, "examples/adapters/python/adapter_demo.py"], "python"),
    "go": ("examples/adapters/go/main.go",
           [os.environ.get("GO", "go"), "run", "./examples/adapters/go"], "go"),
    "rust": ("examples/adapters/rust/run.sh",
             ["bash", "examples/adapters/rust/run.sh"], "rust"),
}


@pytest.mark.parametrize("lang", sorted(ADAPTERS))
def test_adapter_into_collector(lang: str, collector: Collector) -> None:
    path, argv, sdk_language = ADAPTERS[lang]
    if not (ROOT / path).exists():
        pytest.skip(f"{path} does not exist yet")
    service = f"ptel-it-{lang}"
    p = subprocess.run(argv, cwd=ROOT, env=collector_env(collector.endpoint, service),
                       capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    ids = re.findall(r"^trace_id=([0-9a-f]{32})$", p.stdout, re.M)
    assert len(ids) == 1, p.stdout
    trace_id = ids[0]

    def complete() -> bool:
        lines = collector.lines()
        names = {s.name for s in otlp.spans(lines) if s.trace_id == trace_id}
        mnames = {m.name for m in otlp.metrics(lines)}
        return {"gateway.request", "pii_filter.scan", "pii_filter.redact"} <= names and \
            {"pii.detections", "pii.inflight", "pii.buffer.size", "pii.scan.duration"} <= mnames
    wait_for(complete, 15, f"the {lang} adapter's telemetry in the collector's file")
    lines = collector.lines()
    spans = [s for s in otlp.spans(lines) if s.trace_id == trace_id]
    assert len(spans) == 4, [s.name for s in spans]

    tree = otlp.check_plugin_trace(spans, trace_id, service)
    inv = tree["invocation"]
    (root,) = [s for s in spans if s.name == "gateway.request"]
    assert root.parent == ""
    assert root.raw.get("kind") == otlp.SPAN_KIND_SERVER
    assert inv.parent == root.span_id
    # The invocation span is the host SDK's: exported by that SDK with its
    # resource and the host's tracer scope, not the plugin's.
    for s in (root, inv):
        assert s.resource.get("telemetry.sdk.language") == sdk_language, s.resource
        assert s.resource.get("telemetry.sdk.name") == "opentelemetry", s.resource
        assert s.resource.get("service.name") == service
    assert inv.scope.get("name") != "pii_filter"
    assert {k: inv.attributes.get(k) for k in ("plugin.name", "plugin.hook", "plugin.version")} \
        == {"plugin.name": "pii_filter", "plugin.hook": "tool_pre_invoke",
            "plugin.version": "1.0.0"}
    assert int(root.raw["startTimeUnixNano"]) <= int(inv.raw["startTimeUnixNano"])
    assert int(inv.raw["endTimeUnixNano"]) <= int(root.raw["endTimeUnixNano"])
    for s in tree.values():
        assert s.resource == inv.resource  # one host resource for all

    otlp.check_plugin_metrics(otlp.metrics(lines), service, invocations=1)
