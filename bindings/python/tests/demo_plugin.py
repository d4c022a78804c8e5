"""The C CLI's example plugin (tools/ptel/cmd_demo_plugin.c) written with the
Python SDK: the same scan, the same recording calls in the same order, so
that with the same clock and ids it yields the same PluginTelemetry bytes."""

from __future__ import annotations

import ptel

DEFAULT_INPUT = ("Contact jane.doe@example.com or call 415-555-0132; "
                 "escalate to ops@example.org.")
SECONDS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1]


def _email_char(c: int) -> bool:
    return chr(c).isascii() and (chr(c).isalnum() or chr(c) in "._-+")


def _digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def scan(text: bytes) -> list[tuple[str, int, int]]:
    """(type, offset, length) of e-mail addresses and phone numbers."""
    hits: list[tuple[str, int, int]] = []
    n, i = len(text), 0
    while i < n and len(hits) < 32:
        if text[i] == ord("@"):
            a, b = i, i + 1
            while a > 0 and _email_char(text[a - 1]):
                a -= 1
            while b < n and _email_char(text[b]):
                b += 1
            while b > i + 1 and text[b - 1] == ord("."):
                b -= 1  # sentence punctuation
            if a < i and b"." in text[i:b]:
                hits.append(("email", a, b - a))
                i = b
                continue
        if _digit(text[i]):
            b = i
            digits = 0
            while b < n and (_digit(text[b]) or text[b] == ord("-")):
                digits += _digit(text[b])
                b += 1
            if digits >= 10:
                hits.append(("phone", i, b - i))
            i = b
            continue
        i += 1
    return hits


def run(rec: ptel.Recorder, text: str = DEFAULT_INPUT) -> str:
    """The plugin: returns the redacted text; everything goes through `rec`."""
    data = text.encode()
    t0 = rec.now()
    with rec.span("pii_filter.detect", kind=ptel.SpanKind.INTERNAL) as span:
        hits = scan(data)
        detections = rec.counter("pii.detections", "{detection}", "PII detections by type",
                                 value_type=int)
        for kind, offset, _ in hits:
            span.add_event("pii.detected", {"pii.type": kind, "pii.offset": offset})
            detections.add(1, {"pii.type": kind})
        redacted = bytearray(data)
        with rec.span("pii_filter.redact") as redact:
            for _, offset, length in hits:
                redacted[offset : offset + length] = b"*" * length
            redact.set_attribute("pii.redacted.count", len(hits))
        kinds = [k for k in ("email", "phone") if any(h[0] == k for h in hits)]
        span.set_attributes({"pii.detector": "pattern", "pii.input.bytes": len(data),
                             "pii.detections": len(hits), "pii.types": kinds,
                             "pii.redacted": len(hits) > 0})
    duration = rec.histogram("pii.scan.duration", "s", "Time to scan one input",
                             bounds=SECONDS)
    duration.record((rec.now() - t0) / 1e9, {"pii.mode": "redact"}, span=span)
    return redacted.decode()
