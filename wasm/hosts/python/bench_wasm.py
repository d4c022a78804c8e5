"""make bench-wasm: the per-invocation cost of the WASM boundary with the
Python host (wasmtime).

Three loops of N invocations, each a full host invocation (begin, run,
end/validate): `host only` ends with an empty payload and runs no plugin;
`wasm null` runs a guest plugin that records nothing, so the difference is
the boundary: context into guest memory, the guest decoding it and
resetting and finishing its recorder, the payload back out, the fuel reset.
`wasm pii` runs the PII filter (2 spans, 3 events, 2 metrics)."""
from __future__ import annotations

import os
import time
from pathlib import Path

import ptel

import ptel_wasm

WASM = Path(os.environ.get("PTEL_WASM_DIR", "build/wasm"))
N = int(os.environ.get("PTEL_BENCH_N", "20000"))
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TEXT = b"Contact jane.doe@example.com or call 415-555-0132; escalate to ops@example.org."


def per_call(fn: object) -> float:
    f = fn  # type: ignore[assignment]
    for _ in range(N // 10):
        f()  # type: ignore[operator]
    t = time.perf_counter()
    for _ in range(N):
        f()  # type: ignore[operator]
    return (time.perf_counter() - t) / N * 1e6


def main() -> None:
    null = ptel_wasm.WasmPlugin(str(WASM / "null_plugin.wasm"))
    pii = ptel_wasm.WasmPlugin(str(WASM / "pii_filter.wasm"))

    def host_only() -> None:
        ptel.Invocation.begin(PARENT, plugin="p").end(b"")

    def wasm_null() -> None:
        null.invoke(ptel.Invocation.begin(PARENT, plugin="p"), b"")

    def wasm_pii() -> None:
        pii.invoke(ptel.Invocation.begin(PARENT, plugin="p"), TEXT)

    base = per_call(host_only)
    wn = per_call(wasm_null)
    wp = per_call(wasm_pii)
    print(f"host only (begin+end, no plugin): {base:8.2f} us/invocation")
    print(f"wasm null plugin:                 {wn:8.2f} us/invocation")
    print(f"wasm pii_filter plugin:           {wp:8.2f} us/invocation")
    print(f"WASM boundary overhead (null - host only): {wn - base:.2f} us/invocation")


if __name__ == "__main__":
    main()
