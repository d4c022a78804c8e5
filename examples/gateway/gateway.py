"""make demo: a gateway-like host in Python runs tool calls through a chain
of plugins written in C, Go, Rust and Python, in process and as
subprocesses, each recording its own spans and metrics with ptel; the host
validates every payload, aggregates the metrics and exports (see
examples/gateway/README.md).

    python examples/gateway/gateway.py [--plugins build/gateway] [--out out] [--pii wasm]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import ptel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "plugins" / "python"))

import url_reputation  # noqa: E402
from chain import Handled, handle  # noqa: E402
from output import Output  # noqa: E402
from runners import NativeRunner, PythonRunner, Runner, SubprocessRunner, WasmRunner  # noqa: E402

REQUESTS: list[dict[str, Any]] = [
    {"id": "req-1", "client": "agent-7", "tool": "send_email",
     "arguments": {"text": "Send the Q3 report to jane.doe@example.com; the draft is at "
                           "https://docs.example.com/q3 and https://bit.ly/3xQ9k."}},
    {"id": "req-2", "client": "agent-7", "tool": "deploy_service",
     "arguments": {"text": "Deploy billing with key sk-live-4f9a8b7c6d5e4f3a2b1c0d9e and "
                           "page ops@example.com if it fails."}},
]


def build_chain(plugins: Path, pii: str, wasm_dir: Path, state: Path) -> list[Runner]:
    """rate limiter (Go, subprocess) -> PII filter (C, in process: native
    or WASM) -> secrets detector (Rust, subprocess) -> URL reputation
    (Python, in process)."""
    pii_runner: Runner
    if pii == "wasm":
        sys.path.insert(0, str(HERE.parent.parent / "wasm" / "hosts" / "python"))
        pii_runner = WasmRunner(wasm_dir / "pii_filter.wasm")
    else:
        pii_runner = NativeRunner(plugins / "libpii_filter.so")
    return [
        SubprocessRunner([str(plugins / "rate_limiter"), "-state", str(state)],
                         "rate_limiter", "1.0.0", "go"),
        pii_runner,
        SubprocessRunner([str(plugins / "secrets_detector")], "secrets_detector", "1.0.0",
                         "rust"),
        PythonRunner(url_reputation),
    ]


def describe(done: Handled) -> None:
    r = done.request
    print(f"== {r['id']}: {r['tool']} from {r['client']}  trace {done.trace_id}")
    for runner, inv in done.invocations:
        rep = inv.report
        assert rep is not None
        where = f"{runner.language}, {runner.transport}"
        print(f"   {runner.name:<17} ({where:<18}) spans {rep.spans_accepted} accepted"
              f" {rep.spans_dropped} dropped, points {rep.points_accepted} accepted"
              f"{'  rejected: ' + str(rep.first_reason) if rep.rejected else ''}")
    if done.action == "block":
        print(f"   BLOCKED by {done.blocked_by}: {done.reason}")
    else:
        print(f"   allowed; the tool receives: {done.text}")


def summary(done: Handled) -> dict[str, Any]:
    """One request's outcome as the test reads it (--summary)."""
    return {
        "id": done.request["id"], "trace_id": done.trace_id, "action": done.action,
        "blocked_by": done.blocked_by, "reason": done.reason, "text": done.text,
        "plugins": [{"name": r.name, "report": json.loads(inv.report.to_json())}
                    for r, inv in done.invocations if inv.report is not None],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plugins", type=Path, default=Path("build/gateway"),
                    help="directory of the built plugins (examples/gateway/build.sh)")
    ap.add_argument("--out", type=Path, default=Path("out"))
    ap.add_argument("--pii", choices=("native", "wasm"), default="native",
                    help="run the C PII filter as a native library or as WASM")
    ap.add_argument("--wasm-dir", type=Path, default=Path("build/wasm"))
    ap.add_argument("--no-tree", action="store_true")
    ap.add_argument("--summary", type=Path, help="write the outcomes as JSON here")
    args = ap.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    state = args.out / "ratelimit.json"
    state.unlink(missing_ok=True)  # every run starts with full buckets
    chain = build_chain(args.plugins, args.pii, args.wasm_dir, state)
    out = Output(args.out)
    parent = None
    try:  # a caller's trace to continue; an invalid one starts a new trace, as W3C says
        parent = ptel.SpanContext.from_traceparent(os.environ.get("TRACEPARENT", ""))
    except ptel.PtelError:
        pass
    handled = []
    for request in REQUESTS:
        done = handle(request, chain, parent)
        describe(done)
        out.add(done)
        handled.append(done)
    print()
    stats = out.close(show_tree=not args.no_tree)
    t, m = stats.traces, stats.metrics
    print(f"\nexported to {out.destination}: {t.items_sent} spans and {m.items_sent} metric "
          f"points sent, {stats.dropped} dropped")
    if args.summary:
        args.summary.write_text(json.dumps([summary(d) for d in handled], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
