"""The matrix plugin in Python (conformance/matrix/README.md).

usage: plugin.py [ok|crash|garbage|invalid]"""

from __future__ import annotations

import os
import sys

import ptel

from common import CountingIds, ManualClock, frame, unframe


def scenario(rec: ptel.Recorder, clock: ManualClock) -> None:
    scan = rec.span("pii_filter.scan", kind=ptel.SpanKind.INTERNAL,
                    attributes={"pii.detector": "pattern", "pii.input.bytes": 72,
                                "pii.ratio": 0.25, "pii.redact": True,
                                "pii.types": ["email", "phone"],
                                "pii.digest": b"\xde\xad\x00\xef",
                                "pii.config": {"mode": "redact", "max": 32}})
    clock.mono = 1000
    scan.add_event("pii.detected", {"pii.type": "email", "pii.offset": 8})
    det = rec.counter("pii.detections", "{detection}", "PII detections by type",
                      value_type=int)
    det.add(2, {"pii.type": "email"}, span=scan)
    clock.mono = 2000
    redact = rec.span("pii_filter.redact", kind=ptel.SpanKind.INTERNAL, parent=scan)
    redact.set_attributes({"pii.redacted.count": 2})
    clock.mono = 3000
    redact.end()
    clock.mono = 4000
    scan.set_status(ptel.StatusCode.OK)
    scan.end()
    det.add(1, {"pii.type": "phone"})
    dur = rec.histogram("pii.scan.duration", "s", "Time to scan one input",
                        bounds=[0.001, 0.01, 0.1, 1])
    dur.record(0.004, {"pii.mode": "redact"})
    clock.mono = 5000


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
    body = unframe(sys.stdin.buffer.read(), 65536)
    if body is None:
        return 2
    try:
        env_ctx = ptel.Context.from_env()
        ctx = ptel.Context.from_bytes(body)
    except ptel.PtelError:
        return 3
    if env_ctx.to_bytes() != ctx.to_bytes() or ctx.to_bytes() != body:
        return 3
    out = sys.stdout.buffer
    if mode == "crash":
        out.write(b"\x40\x00\x00\x00\x0a\x10")
        out.flush()
        os._exit(70)
    if mode == "invalid":
        out.write(frame(b"\x0a\xff\xff\xff\xff\x0f"))
        out.flush()
        return 0
    if mode == "garbage":
        out.write(b"\xff\xff\xff\x7fgarbage")
        out.flush()
        return 0
    clock = ManualClock()
    rec = ptel.Recorder(ctx, clock=clock, id_generator=CountingIds())
    scenario(rec, clock)
    out.write(frame(rec.finish()))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
