"""Benchmarks of the Python binding against opentelemetry-sdk, in one run.

Cases (each "ptel" line has an "sdk" line for the same work):

  span5       ``with rec.span(name, attributes=<5 attributes>)`` start -> end,
              vs ``with tracer.start_as_current_span(name, attributes=...)``
  span_full   the C benchmark's span (bench/c/bench_core.c): 10 attributes
              of mixed types, one event with 2 attributes, status ERROR with
              a message
  disabled    the same ``with`` + span5 attributes under a DROP decision
              (ptel's shared non-recording span) vs the SDK with the
              ALWAYS_OFF sampler (its non-recording span)
  noop_ops    set_attribute + add_event on the non-recording span, both sides

ptel's numbers include recorder creation and ``finish()`` (the encoded
PluginTelemetry) amortised over one invocation of BATCH spans; the SDK's
TracerProvider has no span processor at all, which flatters the SDK (it
exports nothing). Each sample times BATCH spans (1000 operations for the
disabled cases); samples of all cases are interleaved and the fastest per
case is reported, which filters out other load on the machine.

Usage: python bench_ptel.py [--samples N] [--json FILE]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from collections.abc import Callable

import ptel
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import Status as OtelStatus
from opentelemetry.trace import StatusCode as OtelStatusCode

BATCH = 64  # spans per sample; for ptel one invocation (recorder + finish)
TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TP_DROP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"

ATTRS5 = {"pii.detector": "pattern", "pii.input.bytes": 1024, "pii.ratio": 0.25,
          "pii.redacted": True, "peer.service": "mailer"}
ATTRS10 = dict(ATTRS5, **{"pii.types": ["email", "phone"], "pii.detections": 3,
                          "pii.mode": "redact", "http.status_code": 200,
                          "pii.score": 0.875})
EVENT_ATTRS = {"pii.type": "email", "pii.offset": 8}


CTX = ptel.Context.from_traceparent(TP)
DROP_CTX = ptel.Context.from_traceparent(TP_DROP)


def ptel_span5(n: int) -> float:
    t0 = time.perf_counter()
    rec = ptel.Recorder(CTX)
    span = rec.span
    for _ in range(n):
        with span("pii_filter.scan", attributes=ATTRS5):
            pass
    rec.finish()
    return time.perf_counter() - t0


def sdk_span5(n: int) -> float:
    tracer = TracerProvider().get_tracer("bench")
    start = tracer.start_as_current_span
    t0 = time.perf_counter()
    for _ in range(n):
        with start("pii_filter.scan", attributes=ATTRS5):
            pass
    return time.perf_counter() - t0


def ptel_full(n: int) -> float:
    error = ptel.StatusCode.ERROR
    t0 = time.perf_counter()
    rec = ptel.Recorder(CTX)
    for _ in range(n):
        with rec.span("pii_filter.scan", attributes=ATTRS10) as s:
            s.add_event("pii.detected", EVENT_ATTRS)
            s.set_status(error, "policy violation")
    rec.finish()
    return time.perf_counter() - t0


def sdk_full(n: int) -> float:
    tracer = TracerProvider().get_tracer("bench")
    status = OtelStatus(OtelStatusCode.ERROR, "policy violation")
    t0 = time.perf_counter()
    for _ in range(n):
        with tracer.start_as_current_span("pii_filter.scan", attributes=ATTRS10) as s:
            s.add_event("pii.detected", EVENT_ATTRS)
            s.set_status(status)
    return time.perf_counter() - t0


def ptel_disabled(n: int) -> float:
    rec = ptel.Recorder(DROP_CTX)
    span = rec.span
    t0 = time.perf_counter()
    for _ in range(n):
        with span("pii_filter.scan", attributes=ATTRS5):
            pass
    return time.perf_counter() - t0


def sdk_disabled(n: int) -> float:
    tracer = TracerProvider(sampler=ALWAYS_OFF).get_tracer("bench")
    start = tracer.start_as_current_span
    t0 = time.perf_counter()
    for _ in range(n):
        with start("pii_filter.scan", attributes=ATTRS5):
            pass
    return time.perf_counter() - t0


def ptel_noop_ops(n: int) -> float:
    rec = ptel.Recorder(DROP_CTX)
    s = rec.span("pii_filter.scan")
    t0 = time.perf_counter()
    for _ in range(n):
        s.set_attribute("pii.detections", 3)
        s.add_event("pii.detected", EVENT_ATTRS)
    return time.perf_counter() - t0


def sdk_noop_ops(n: int) -> float:
    tracer = TracerProvider(sampler=ALWAYS_OFF).get_tracer("bench")
    s = tracer.start_span("pii_filter.scan")
    t0 = time.perf_counter()
    for _ in range(n):
        s.set_attribute("pii.detections", 3)
        s.add_event("pii.detected", EVENT_ATTRS)
    return time.perf_counter() - t0


def empty_loop(n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        pass
    return time.perf_counter() - t0


# (name, ptel, sdk, operations per sample)
CASES: list[tuple[str, Callable[[int], float], Callable[[int], float], int]] = [
    ("span5", ptel_span5, sdk_span5, BATCH),
    ("span_full", ptel_full, sdk_full, BATCH),
    ("disabled", ptel_disabled, sdk_disabled, 1000),
    ("noop_ops", ptel_noop_ops, sdk_noop_ops, 1000),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=200,
                    help="timed samples per case and side; the minimum is reported")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()

    best: dict[str, float] = {}
    loop_ns = min(empty_loop(1000) for _ in range(200)) / 1000 * 1e9
    for _, pfn, sfn, n in CASES:  # warm up
        pfn(n)
        sfn(n)
    gc.collect()
    gc.disable()  # collections would land in random samples
    try:
        for _ in range(args.samples):
            for name, pfn, sfn, n in CASES:
                for side, fn in (("ptel", pfn), ("sdk", sfn)):
                    ns = fn(n) / n * 1e9
                    key = f"{name}.{side}"
                    best[key] = min(best.get(key, float("inf")), ns)
    finally:
        gc.enable()

    print(f"python {platform.python_version()} ({sys.implementation.name}), "
          f"ptel {ptel.__version__}, opentelemetry-sdk "
          f"{__import__('opentelemetry.sdk.version', fromlist=['x']).__version__}; "
          f"best of {args.samples} samples; empty loop {loop_ns:.0f} ns/iteration")
    print(f"{'case':<12}{'ptel ns/op':>12}{'sdk ns/op':>12}{'ptel/sdk':>10}")
    results = {}
    for name, *_ in CASES:
        p, s = best[f"{name}.ptel"], best[f"{name}.sdk"]
        results[name] = {"ptel_ns": round(p, 1), "sdk_ns": round(s, 1), "ratio": round(p / s, 4)}
        print(f"{name:<12}{p:>12.0f}{s:>12.0f}{p / s:>10.3f}")
    print("targets: span5 ptel/sdk <= 0.2 (stretch 0.05); disabled <= 100 ns (stretch 40)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
