"""The conformance scenarios through the WASM guest ABI under one host.

    scenarios_wasm.py <vectors-dir> <results.json> <column> [server command ...]

Every scenario vector (conformance/README.md section 3) is run by the guest
module build/wasm/scenario_guest.wasm (wasm/plugins/scenario_guest.c): the
host builds the vector's PluginContext with its own binding, writes it and
the vector's `ops` into guest memory, calls `ptel_guest_invoke` and copies
the result and output out. The PluginTelemetry bytes must equal the
vector's `payload_hex` and the output its canonical `json`, byte for byte.

Without a server command the host is this package's Python/wasmtime one.
With one, the host is that program (the Go/wazero or Rust/wasmtime host's
scenario server): it reads one line per case, `{"context": ..., "ops_json":
"<the ops array as JSON text>"}` (the guest's input bytes), and answers one line, `{"status": n, "payload_hex": "...", "output": "..."}`,
`{"fault": "<error.type>"}` or `{"error": "<why the host failed>"}`.
Writes the results file of README section 7 with column <column>.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import ptel

import ptel_wasm

ROOT = Path(__file__).resolve().parents[3]
WASM = Path(os.environ.get("PTEL_WASM_DIR", ROOT / "build" / "wasm"))
DEFAULT_T = 1_000_000_000_000
DECISIONS = {"drop": ptel.Decision.DROP, "record_only": ptel.Decision.RECORD_ONLY,
             "record_and_sample": ptel.Decision.RECORD_AND_SAMPLE}

Answer = dict[str, Any]


def python_host() -> Callable[[dict[str, Any]], Answer]:
    plugin = ptel_wasm.WasmPlugin(str(WASM / "scenario_guest.wasm"), fuel=2_000_000_000,
                                  memory_limit=64 << 20)

    def run(case: dict[str, Any]) -> Answer:
        c = case["context"]
        parent = ptel.SpanContext.from_traceparent(c["traceparent"])
        ctx = ptel.Context.new(
            trace_id=parent.trace_id, parent_span_id=parent.span_id,
            trace_flags=parent.trace_flags, is_remote=True,
            tracestate=c.get("tracestate", ""), baggage=c.get("baggage", ""),
            decision=DECISIONS[c["decision"]], limits=ptel.Limits(**(c.get("limits") or {})),
            time_base_unix_nano=c.get("time_base_unix_nano", DEFAULT_T),
            plugin_name=c.get("plugin_name", ""), plugin_version=c.get("plugin_version", ""),
            hook=c.get("hook", ""))
        ops = json.dumps(case["ops"], ensure_ascii=False).encode()
        try:
            status, payload, output = plugin.call(ctx.to_bytes(), ops)
        except ptel_wasm.GuestFault as f:
            return {"fault": str(f)}
        return {"status": status, "payload_hex": payload.hex(),
                "output": output.decode("utf-8", "replace")}

    return run


def server_host(cmd: list[str]) -> tuple[Callable[[dict[str, Any]], Answer], subprocess.Popen[str]]:
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            encoding="utf-8")
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def run(case: dict[str, Any]) -> Answer:
        ops = json.dumps(case["ops"], ensure_ascii=False)
        stdin.write(json.dumps({"context": case["context"], "ops_json": ops},
                               ensure_ascii=False) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"host server exited ({proc.poll()})")
        answer: Answer = json.loads(line)
        return answer

    return run, proc


def first_diff(got: bytes, want: bytes) -> str:
    n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    return f"payload differs at byte {n} (got {len(got)} bytes, want {len(want)})"


def check(answer: Answer, expected: dict[str, Any]) -> str | None:
    """None when the answer is the expected output, else why not."""
    if "error" in answer:
        return f"host error: {answer['error']}"
    if "fault" in answer:
        return f"guest fault: {answer['fault']}"
    if answer["status"] != 0:
        return f"ptel_guest_invoke returned {answer['status']}"
    got, want = bytes.fromhex(answer["payload_hex"]), bytes.fromhex(expected["payload_hex"])
    if got != want:
        return first_diff(got, want)
    if answer["output"] != expected["json"]:
        return "canonical JSON differs"
    return None


def main() -> int:
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    vectors, out, column, cmd = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
    proc = None
    if cmd:
        run, proc = server_host(cmd)
    else:
        run = python_host()
    columns: dict[str, dict[str, int]] = {}
    failures: list[dict[str, str]] = []
    for f in sorted((vectors / "scenarios").glob("*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        counts = columns.setdefault(doc["group"], {"passed": 0, "expected_fail": 0, "failed": 0})
        for case in doc["cases"]:
            detail = check(run(case), case["expected"])
            if detail is None:
                counts["passed"] += 1
            else:
                counts["failed"] += 1
                failures.append({"column": column, "case": f"{doc['group']}/{case['id']}",
                                 "detail": detail})
    if proc is not None:
        assert proc.stdin is not None
        proc.stdin.close()
        if proc.wait() != 0:
            failures.append({"column": column, "case": "scenarios",
                             "detail": f"host server exited with status {proc.returncode}"})
            for counts in columns.values():
                counts["failed"] += 1
    out.write_text(json.dumps({"format": "ptel-conformance-results/1",
                               "columns": {column: columns}, "failures": failures},
                              indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
