"""make demo-wasm: the two example WASM plugins under the Python host, and
one guest fault, each rendered as the trace tree the host exports."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import ptel

import ptel_wasm

WASM = Path(os.environ.get("PTEL_WASM_DIR", "build/wasm"))
CLI = os.environ.get("PTEL_CLI", "build/bin/ptel")
PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def show(title: str, inv: ptel.Invocation, result: ptel_wasm.Result) -> None:
    print(f"== {title}: outcome {ptel.Outcome(result.outcome).name}"
          f"{' (' + result.error_type + ')' if result.error_type else ''}"
          f", output {result.output.decode(errors='replace')!r}")
    with tempfile.TemporaryDirectory() as tmp:
        t, m = Path(tmp) / "traces.bin", Path(tmp) / "metrics.bin"
        t.write_bytes(inv.export_traces({"service.name": "wasm-demo"}))
        m.write_bytes(inv.export_metrics({"service.name": "wasm-demo"}))
        sys.stdout.flush()
        subprocess.run([CLI, "tree", str(t), str(m)], check=True)


def main() -> None:
    pii = ptel_wasm.WasmPlugin(str(WASM / "pii_filter.wasm"))
    text = b"Contact jane.doe@example.com or call 415-555-0132."
    inv = ptel.Invocation.begin(PARENT, plugin="pii-filter", version="1.0.0", hook="pre_invoke")
    show("pii_filter", inv, pii.invoke(inv, text))

    rl = ptel_wasm.WasmPlugin(str(WASM / "rate_limiter.wasm"))
    for i in range(4):
        inv = ptel.Invocation.begin(PARENT, plugin="rate-limiter", hook="pre_invoke")
        r = rl.invoke(inv, b"client-42")
        if i in (0, 3):
            show(f"rate_limiter call {i + 1}", inv, r)

    faults = ptel_wasm.WasmPlugin(str(WASM / "faults.wasm"), fuel=1_000_000)
    inv = ptel.Invocation.begin(PARENT, plugin="runaway", hook="pre_invoke")
    show("a guest that never returns", inv, faults.invoke(inv, b"loop"))


if __name__ == "__main__":
    main()
