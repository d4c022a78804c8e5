"""The same recording through the C CLI (`ptel demo-plugin --deterministic`)
and through Python gives byte-identical PluginTelemetry."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import demo_plugin
import pytest
from conftest import ROOT, CounterIds, StepClock, attrs, decode, make_context

import ptel

CLI = Path(os.environ.get("PTEL_CLI", ROOT / "build" / "bin" / "ptel"))


def cli_demo(tmp_path: Path, ctx: ptel.Context, text: str | None) -> bytes:
    if not CLI.exists():
        pytest.skip(f"{CLI} not built (make build, or set PTEL_CLI)")
    ctx_file, out = tmp_path / "context.bin", tmp_path / "telemetry.bin"
    ctx_file.write_bytes(ctx.to_bytes())
    args = [str(CLI), "demo-plugin", "--context", str(ctx_file), "--deterministic", "-o",
            str(out)]
    if text is not None:
        args += ["--input", text]
    subprocess.run(args, check=True, capture_output=True)
    return out.read_bytes()


def python_demo(ctx: ptel.Context, text: str | None) -> tuple[bytes, str]:
    rec = ptel.Recorder(ptel.Context.from_bytes(ctx.to_bytes()), strict=True,
                        clock=StepClock(), id_generator=CounterIds())
    redacted = demo_plugin.run(rec, demo_plugin.DEFAULT_INPUT if text is None else text)
    return rec.finish(), redacted


@pytest.mark.parametrize("text", [None, "no pii here", "call 555-123-4567-89 or a@b.c.",
                                  "x@y.z"])
@pytest.mark.parametrize("ctx_args", [{}, {"tracestate": "v=1", "trace_flags": 3},
                                      {"decision": ptel.Decision.DROP}])
def test_cli_and_python_payloads_are_identical(tmp_path: Path, text: str | None,
                                               ctx_args: dict[str, object]) -> None:
    ctx = make_context(**ctx_args)
    c_payload = cli_demo(tmp_path, ctx, text)
    py_payload, _ = python_demo(ctx, text)
    assert py_payload == c_payload


def test_demo_content(tmp_path: Path) -> None:
    payload, redacted = python_demo(make_context(), None)
    assert redacted == ("Contact ******************** or call ************; "
                        "escalate to ***************.")
    tel = decode(payload)
    detect = tel.span("pii_filter.detect")
    assert attrs(detect.attributes) == {
        "pii.detector": "pattern", "pii.input.bytes": 79, "pii.detections": 3,
        "pii.types": ["email", "phone"], "pii.redacted": True}
    assert [attrs(e.attributes) for e in detect.events] == [
        {"pii.type": "email", "pii.offset": 8}, {"pii.type": "phone", "pii.offset": 37},
        {"pii.type": "email", "pii.offset": 63}]
    assert tel.span("pii_filter.redact").parent_span_id == detect.span_id
    (hist,) = tel.metric("pii.scan.duration").histogram.data_points
    assert hist.exemplars[0].span_id == detect.span_id
