"""Load the PyO3 example plugin into Python and check what it returns.

Usage: check.py PATH_TO_libptel_pyo3_plugin.so
(`make test-rust` builds the cdylib and runs this.)
"""

import importlib.machinery
import importlib.util
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[4]


def load(path):
    loader = importlib.machinery.ExtensionFileLoader("ptel_pyo3_plugin", path)
    spec = importlib.util.spec_from_loader("ptel_pyo3_plugin", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def main():
    p = load(sys.argv[1])
    assert p.core_version() == "0.1.0", p.core_version()
    ctx = (ROOT / "core/tests/golden/ctx_full.bin").read_bytes()
    text = "mail bob@example.com and eve@corp.org, not me@home"
    n, payload = p.scan(ctx, text)
    assert n == 2, n
    assert payload[:2] == b"\x08\x01", payload[:8]
    assert b"pii.scan" in payload and b"pii.detections" in payload
    # A broken context never fails the plugin: the result comes back, no telemetry.
    n, payload = p.scan(b"\xff\xff", text)
    assert (n, payload) == (2, b""), (n, payload)
    # Subprocess-style carrier: TRACEPARENT in the environment.
    os.environ["TRACEPARENT"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    n, payload = p.scan_env("x@y.z")
    assert n == 1 and payload[:2] == b"\x08\x01" and b"pii.scan" in payload
    print("pyo3 plugin: 3 passed, 0 failed")


if __name__ == "__main__":
    main()
