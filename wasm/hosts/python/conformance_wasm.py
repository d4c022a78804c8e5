"""The conformance vectors through the core compiled to wasm32-wasi: runs
build/wasm/conformance_runner.wasm (the C runner of conformance/runners/c,
built by `make wasm`) under wasmtime with only the vectors, the expected
failures and the output directory preopened, and writes the results file
of conformance/README.md section 7 with the column named "wasm".

    conformance_wasm.py <vectors-dir> <results.json>
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import wasmtime

ROOT = Path(__file__).resolve().parents[3]
WASM = Path(os.environ.get("PTEL_WASM_DIR", ROOT / "build" / "wasm"))


def run(vectors: str, results: str) -> int:
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(WASM / "conformance_runner.wasm"))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    with tempfile.TemporaryDirectory() as out:
        w = wasmtime.WasiConfig()
        w.argv = ["runner", "/vectors", "/out/results.json", "/xfail/c.json"]
        w.preopen_dir(vectors, "/vectors")
        w.preopen_dir(out, "/out")
        w.preopen_dir(str(ROOT / "conformance" / "expected-failures"), "/xfail")
        w.inherit_stderr()
        store.set_wasi(w)
        code = 0
        try:
            linker.instantiate(store, module).exports(store)["_start"](store)
        except wasmtime.ExitTrap as e:
            code = e.code
        data = json.loads((Path(out) / "results.json").read_text())
    data["columns"] = {"wasm": data["columns"].pop("c")}
    for f in data["failures"]:
        f["column"] = "wasm"
    Path(results).write_text(json.dumps(data, indent=1) + "\n")
    return code


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    run(sys.argv[1], sys.argv[2])
