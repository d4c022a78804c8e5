"""The gateway demo's URL reputation check: an in-process plugin in Python.

It finds the URLs in the tool arguments, looks each host up in a small
reputation table (a stand-in for a reputation service) and blocks the
request when one is known to be malicious. It records its spans and metrics
with its own ptel Recorder under the context the host hands it, and returns
its decision with the PluginTelemetry bytes; the host validates them like
any other plugin's.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import ptel

NAME = "url_reputation"
VERSION = "1.0.0"

# host -> verdict; subdomains inherit their domain's verdict.
REPUTATION = {
    "example.com": "trusted",
    "docs.python.org": "trusted",
    "bit.ly": "suspicious",
    "phish.example.net": "malicious",
    "malware.test": "malicious",
}
_URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class Result:
    action: str  # "allow" or "block"
    reason: str
    payload: bytes


def reputation(host: str) -> str:
    """The verdict for `host`: its own entry, else its closest parent
    domain's, else "unknown"."""
    labels = host.lower().rstrip(".").split(".")
    for i in range(len(labels) - 1):
        verdict = REPUTATION.get(".".join(labels[i:]))
        if verdict:
            return verdict
    return "unknown"


def invoke(ctx: ptel.Context, text: str) -> Result:
    """Check the URLs of `text` under `ctx`."""
    rec = ptel.Recorder(ctx)
    checks = rec.counter("url.checks", "{url}", "URLs checked, by verdict", value_type=int)
    lookup_time = rec.histogram("url.lookup.duration", "ms", "Time per reputation lookup",
                                value_type=float, bounds=[0.01, 0.05, 0.1, 0.5, 1, 5])
    blocked: list[str] = []
    with rec.span("url_reputation.check", kind=ptel.SpanKind.INTERNAL) as span:
        urls = _URL.findall(text)
        for url in urls:
            parts = urlsplit(url.rstrip(".,;:!?)"))
            host = parts.hostname or ""
            with rec.span("url_reputation.lookup",
                          attributes={"url.scheme": parts.scheme, "server.address": host}) as lk:
                t0 = time.perf_counter_ns()
                verdict = reputation(host)
                lookup_time.record((time.perf_counter_ns() - t0) / 1e6)
                lk.set_attribute("url.reputation", verdict)
                if verdict in ("suspicious", "malicious"):
                    lk.add_event("url.flagged", {"url.reputation": verdict,
                                                 "server.address": host})
            checks.add(1, {"url.reputation": verdict})
            if verdict == "malicious":
                blocked.append(host)
        action = "block" if blocked else "allow"
        span.set_attributes({"url.count": len(urls), "url.blocked": len(blocked),
                             "url.action": action})
    reason = f"malicious URL host {blocked[0]}" if blocked else ""
    return Result(action, reason, rec.finish())
