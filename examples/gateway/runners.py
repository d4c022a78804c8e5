"""How the gateway runs each kind of plugin. Every runner gets a begun
ptel.Invocation and the request's argument text, runs the plugin with the
invocation's PluginContext, ends the invocation with the plugin's
PluginTelemetry (which the core validates) and returns the plugin's verdict.

Runners never raise for a misbehaving plugin: a crash, a timeout or a
garbled answer ends the invocation with that outcome, and the gateway
applies its failure policy (fail closed)."""

from __future__ import annotations

import base64
import binascii
import ctypes
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import ptel

# The carrier variables of a subprocess plugin; inherited values are
# replaced, never passed through from the gateway's own environment.
CARRIER = ("PTEL_CONTEXT", "TRACEPARENT", "TRACESTATE", "BAGGAGE")
MAX_ANSWER = 4 << 20  # bytes of stdout read from a subprocess plugin


@dataclass(frozen=True)
class Verdict:
    """A plugin's decision on one request."""

    action: str  # "allow", "block", or "error" (the plugin failed)
    reason: str = ""
    text: str | None = None  # the rewritten argument text, when changed


class Runner(Protocol):
    name: str
    version: str
    language: str
    transport: str  # "in_process", "subprocess" or "wasm"

    def invoke(self, inv: ptel.Invocation, request: dict[str, Any]) -> Verdict: ...


def _fail(inv: ptel.Invocation, outcome: ptel.Outcome, error_type: str, why: str) -> Verdict:
    inv.end(None, outcome=outcome, error_type=error_type)
    return Verdict("error", why)


class PythonRunner:
    """An in-process Python plugin module with ``invoke(ctx, text)``."""

    language, transport = "python", "in_process"

    def __init__(self, module: Any) -> None:
        self.module = module
        self.name, self.version = module.NAME, module.VERSION

    def invoke(self, inv: ptel.Invocation, request: dict[str, Any]) -> Verdict:
        try:
            result = self.module.invoke(inv.context, request["arguments"]["text"])
        except Exception as exc:  # the plugin's bug, not the gateway's
            return _fail(inv, ptel.Outcome.ERROR, type(exc).__name__, str(exc))
        inv.end(result.payload)
        return Verdict(result.action, result.reason)


class NativeRunner:
    """The C PII filter (wasm/plugins/pii_filter.c) built natively as a
    shared library with examples/gateway/plugins/c/pii_native.c, called in
    process through ctypes."""

    language, transport = "c", "in_process"

    def __init__(self, path: Path, name: str = "pii_filter", version: str = "1.0.0") -> None:
        self.name, self.version = name, version
        lib = ctypes.CDLL(str(path))
        lib.gw_plugin_new.restype = ctypes.c_void_p
        lib.gw_plugin_free.argtypes = [ctypes.c_void_p]
        lib.gw_plugin_invoke.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                         ctypes.c_char_p, ctypes.c_size_t]
        lib.gw_plugin_invoke.restype = ctypes.c_int
        bp, sz = ctypes.POINTER(ctypes.c_ubyte), ctypes.c_size_t
        lib.gw_plugin_result.argtypes = [ctypes.c_void_p, ctypes.POINTER(bp), ctypes.POINTER(sz),
                                         ctypes.POINTER(bp), ctypes.POINTER(sz)]
        self._lib = lib
        self._handle = lib.gw_plugin_new()
        if not self._handle:
            raise MemoryError("gw_plugin_new")

    def close(self) -> None:
        if self._handle:
            self._lib.gw_plugin_free(self._handle)
            self._handle = None

    def invoke(self, inv: ptel.Invocation, request: dict[str, Any]) -> Verdict:
        ctx = inv.context.to_bytes()
        text = request["arguments"]["text"].encode()
        rc = self._lib.gw_plugin_invoke(self._handle, ctx, len(ctx), text, len(text))
        if rc < 0:
            return _fail(inv, ptel.Outcome.ERROR, "ptel.plugin_status", f"status {rc}")
        payload, plen = ctypes.POINTER(ctypes.c_ubyte)(), ctypes.c_size_t()
        output, olen = ctypes.POINTER(ctypes.c_ubyte)(), ctypes.c_size_t()
        self._lib.gw_plugin_result(self._handle, ctypes.byref(payload), ctypes.byref(plen),
                                   ctypes.byref(output), ctypes.byref(olen))
        data = ctypes.string_at(payload, plen.value) if plen.value else b""
        out = ctypes.string_at(output, olen.value) if olen.value else b""
        if rc > 0:
            inv.end(data, outcome=ptel.Outcome.ERROR, error_type="plugin.error")
            return Verdict("error", f"plugin error {rc}")
        inv.end(data)
        return Verdict("allow", text=out.decode("utf-8", "replace"))


class WasmRunner:
    """The same PII filter compiled to WASM, under wasmtime in process
    (wasm/hosts/python/ptel_wasm.py)."""

    language, transport = "c", "wasm"

    def __init__(self, path: Path, name: str = "pii_filter", version: str = "1.0.0") -> None:
        import ptel_wasm  # wasm/hosts/python (gateway.py puts it on sys.path)

        self.name, self.version = name, version
        self._plugin = ptel_wasm.WasmPlugin(str(path))

    def invoke(self, inv: ptel.Invocation, request: dict[str, Any]) -> Verdict:
        r = self._plugin.invoke(inv, request["arguments"]["text"].encode())
        if r.outcome != ptel.Outcome.OK:
            return Verdict("error", r.error_type)
        return Verdict("allow", text=r.output.decode("utf-8", "replace"))


class SubprocessRunner:
    """A plugin executable speaking the subprocess protocol of
    examples/gateway/README.md: context in the environment, the request as
    JSON on stdin, one JSON answer with base64 telemetry on stdout."""

    transport = "subprocess"

    def __init__(self, argv: list[str], name: str, version: str, language: str,
                 timeout: float = 10.0) -> None:
        self.argv, self.name, self.version, self.language = argv, name, version, language
        self.timeout = timeout

    def invoke(self, inv: ptel.Invocation, request: dict[str, Any]) -> Verdict:
        env = {k: v for k, v in os.environ.items() if k not in CARRIER}
        env.update(inv.context.to_env())
        try:
            proc = subprocess.run(self.argv, input=json.dumps(request).encode(), env=env,
                                  capture_output=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            return _fail(inv, ptel.Outcome.TIMEOUT, "timeout", f"no answer in {self.timeout} s")
        except OSError as exc:
            return _fail(inv, ptel.Outcome.CRASH, "exec", str(exc))
        answer, why = _parse_answer(proc.stdout)
        if proc.returncode != 0:
            # Telemetry of a crashed plugin is still worth validating.
            payload = answer["telemetry"] if answer else b""
            inv.end(payload, outcome=ptel.Outcome.CRASH, error_type=f"exit.{proc.returncode}")
            return Verdict("error", proc.stderr.decode("utf-8", "replace").strip()[-200:])
        if answer is None:
            return _fail(inv, ptel.Outcome.ERROR, "protocol", why)
        inv.end(answer["telemetry"])
        return Verdict(answer["action"], answer["reason"])


def _parse_answer(out: bytes) -> tuple[dict[str, Any] | None, str]:
    """Check a subprocess plugin's stdout against the protocol; returns the
    answer (telemetry decoded) or None and why not."""
    if len(out) > MAX_ANSWER:
        return None, "answer too large"
    try:
        obj = json.loads(out)
    except ValueError as exc:  # also bad UTF-8
        return None, f"answer is not JSON: {exc}"
    if not isinstance(obj, dict):
        return None, "answer is not a JSON object"
    action, reason, tel = obj.get("action"), obj.get("reason", ""), obj.get("telemetry", "")
    if action not in ("allow", "block"):
        return None, f"bad action {action!r}"
    if not isinstance(reason, str) or not isinstance(tel, str):
        return None, "reason and telemetry must be strings"
    try:
        payload = base64.b64decode(tel, validate=True)
    except (binascii.Error, ValueError):
        return None, "telemetry is not base64"
    return {"action": action, "reason": reason, "telemetry": payload}, ""
