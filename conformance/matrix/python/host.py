"""The matrix host in Python (conformance/matrix/README.md).

usage: host.py -- PLUGIN-COMMAND [ARGS...]"""

from __future__ import annotations

import os
import subprocess
import sys

import ptel

from common import MAX_PAYLOAD, TIME_BASE, CountingIds, ManualClock, frame, unframe

CARRIER = ("TRACEPARENT", "TRACESTATE", "BAGGAGE", "PTEL_CONTEXT")


def run_plugin(cmd: list[str], env: dict[str, str], request: bytes) -> bytes | None:
    """The payload, or None when the plugin crashed or broke the framing."""
    child_env = {k: v for k, v in os.environ.items() if k not in CARRIER}
    child_env.update(env)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(request)
    except BrokenPipeError:
        pass
    try:
        proc.stdin.close()
    except BrokenPipeError:
        pass
    data = proc.stdout.read(MAX_PAYLOAD + 5)
    if len(data) > MAX_PAYLOAD + 4:
        while proc.stdout.read(65536):
            pass
    proc.stdout.close()
    if proc.wait() != 0:
        return None
    return unframe(data)


def main() -> int:
    if len(sys.argv) < 3 or sys.argv[1] != "--":
        print("usage: host.py -- PLUGIN-COMMAND [ARGS...]", file=sys.stderr)
        return 2
    clock = ManualClock()
    parent = ptel.SpanContext(bytes.fromhex("0af7651916cd43dd8448eb211c80319c"),
                              bytes.fromhex("b7ad6b7169203331"), 1, True)
    inv = ptel.Invocation.begin(
        parent, plugin="pii_filter", version="1.0.0", hook="prompt_pre_fetch",
        decision=ptel.Decision.RECORD_AND_SAMPLE,
        tracestate="rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
        baggage="tenant=acme,user.tier=gold", span_id=bytes.fromhex("a1a2a3a4a5a6a7a8"),
        start_time=TIME_BASE, context_is_remote=True, clock=clock,
        id_generator=CountingIds(0xEE))
    payload = run_plugin(sys.argv[2:], inv.context.to_env(), frame(inv.context.to_bytes()))
    clock.mono = 1_000_000
    if payload is None:
        report = inv.end(None, outcome=ptel.Outcome.CRASH)
    else:
        report = inv.end(payload, outcome=ptel.Outcome.OK)
    resource = {"service.name": "matrix-host", "service.version": "1.0.0"}
    export = {"scope_name": "matrix-host", "scope_version": "1.0.0"}
    out = sys.stdout
    out.write("report " + report.to_json() + "\n")
    out.write("traces " + inv.export_traces(resource, **export).hex() + "\n")
    out.write("metrics " + inv.export_metrics(resource, **export).hex() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
