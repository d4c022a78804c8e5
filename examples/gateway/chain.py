"""One request through the plugin chain, as a gateway's plugin manager does
it: a request span, one ptel invocation per plugin under it, the plugins'
telemetry validated by the core, the first block (or failure: fail closed)
ending the chain."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ptel

from runners import Runner

HOOK = "tool_pre_invoke"


class _Replay(ptel.Clock):
    """A monotonic clock that reads what the gateway measured: the request
    span is written after the chain, once its outcome is known, so its
    begin must see the time the request arrived and its end the time the
    chain finished."""

    def __init__(self, now: int) -> None:
        self.now = now

    def monotonic_ns(self) -> int:
        return self.now


@dataclass
class Handled:
    """What became of one request."""

    request: dict[str, Any]
    action: str  # "allow" or "block"
    reason: str = ""
    blocked_by: str = ""
    text: str = ""  # the argument text the tool would receive
    request_span: ptel.Invocation | None = None
    invocations: list[tuple[Runner, ptel.Invocation]] = field(default_factory=list)

    @property
    def trace_id(self) -> str:
        assert self.request_span is not None
        return self.request_span.span_context.trace_id_hex


def handle(request: dict[str, Any], chain: Sequence[Runner],
           parent: ptel.SpanContext | None = None) -> Handled:
    """Run `request` through `chain` under `parent` (the caller's
    traceparent; None starts a trace). Every invocation is ended."""
    trace_id = parent.trace_id if parent else os.urandom(16)
    flags = parent.trace_flags if parent else 1
    # The request span's id is known up front so that the plugin
    # invocations can name it as their parent; the span itself is written
    # once the outcome is known (its attributes say how the request went).
    request_sc = ptel.SpanContext(trace_id, os.urandom(8), flags, False)
    started, clock = time.time_ns(), _Replay(time.monotonic_ns())
    decision = ptel.Decision.RECORD_AND_SAMPLE if flags & 1 else ptel.Decision.DROP
    done = Handled(request, "allow", text=request["arguments"]["text"])
    for runner in chain:
        inv = ptel.Invocation.begin(
            request_sc, plugin=runner.name, version=runner.version, hook=HOOK, decision=decision,
            context_is_remote=runner.transport == "subprocess",
            attributes={"plugin.language": runner.language,
                        "plugin.transport": runner.transport})
        verdict = runner.invoke(inv, {**request, "arguments": {"text": done.text}})
        done.invocations.append((runner, inv))
        if verdict.action != "allow":
            done.action, done.blocked_by = "block", runner.name
            done.reason = verdict.reason or verdict.action
            break
        if verdict.text is not None:
            done.text = verdict.text

    attrs: dict[str, Any] = {
        "mcp.method.name": "tools/call",
        "gen_ai.tool.name": request["tool"],
        "client.id": request["client"],
        "gateway.request.id": request["id"],
        "gateway.plugins.run": len(done.invocations),
        "gateway.action": done.action,
    }
    if done.blocked_by:
        attrs["gateway.blocked_by"] = done.blocked_by
    root = ptel.SpanContext(trace_id, parent.span_id if parent else bytes(8), flags,
                            parent.is_remote if parent else False)
    req = ptel.Invocation.begin(root, span_name="gateway.request", span_id=request_sc.span_id,
                                start_time=started, attributes=attrs, decision=decision,
                                clock=clock)
    clock.now = time.monotonic_ns()
    if done.action == "block":
        req.end(None, outcome=ptel.Outcome.ERROR, error_type="plugin_violation")
    else:
        req.end(None)
    done.request_span = req
    return done
