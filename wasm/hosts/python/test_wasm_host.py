"""The Python WASM host: plugins built by `make wasm`, run with wasmtime.

Run by `make test-wasm` (PTEL_WASM_DIR = build/wasm, PTEL_CLI = build/bin/ptel)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import ptel
import pytest
import wasmtime

import ptel_wasm

ROOT = Path(__file__).resolve().parents[3]
WASM = Path(os.environ.get("PTEL_WASM_DIR", ROOT / "build" / "wasm"))
CLI = Path(os.environ.get("PTEL_CLI", ROOT / "build" / "bin" / "ptel"))
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TEXT = "Contact jane.doe@example.com or call 415-555-0132; escalate to ops@example.org."


def begin(**kw: object) -> ptel.Invocation:
    kw.setdefault("plugin", "pii")
    kw.setdefault("hook", "pre_invoke")
    return ptel.Invocation.begin(PARENT, **kw)  # type: ignore[arg-type]


def plugin(name: str, **kw: object) -> ptel_wasm.WasmPlugin:
    return ptel_wasm.WasmPlugin(str(WASM / f"{name}.wasm"), **kw)  # type: ignore[arg-type]


def spans(inv: ptel.Invocation) -> list[dict]:
    doc = json.loads(inv.to_json("traces"))
    return [s for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def attrs(span: dict) -> dict:
    return {a["key"]: next(iter(a["value"].values())) for a in span.get("attributes", [])}


def native(name: str, ctx: bytes, text: str, tmp: Path) -> bytes:
    (tmp / "ctx.bin").write_bytes(ctx)
    subprocess.run([str(WASM / "native" / name), "--deterministic", str(tmp / "ctx.bin"), text,
                    str(tmp / "native.bin")], check=True, capture_output=True)
    return (tmp / "native.bin").read_bytes()


# ---- the example plugins -------------------------------------------------------------------

def test_pii_filter_redacts_and_records() -> None:
    p = plugin("pii_filter")
    inv = begin()
    r = p.invoke(inv, TEXT.encode())
    assert r.outcome == ptel.Outcome.OK and r.status == 0
    assert r.output == (b"Contact ******************** or call ************; escalate to "
                        b"***************.")
    assert r.report.status == 0 and r.report.spans_accepted == 2 and r.report.spans_dropped == 0
    assert r.report.metrics_accepted == 2 and r.report.points_accepted == 3
    by_name = {s["name"]: s for s in spans(inv)}
    assert set(by_name) == {"plugin.execute", "pii_filter.detect", "pii_filter.redact"}
    detect = by_name["pii_filter.detect"]
    assert detect["parentSpanId"] == by_name["plugin.execute"]["spanId"]
    assert detect["traceId"] == "0af7651916cd43dd8448eb211c80319c"
    assert by_name["pii_filter.redact"]["parentSpanId"] == detect["spanId"]
    a = attrs(detect)
    assert a["pii.detections"] == "3" and a["pii.input.bytes"] == str(len(TEXT))
    assert [e["name"] for e in detect["events"]] == ["pii.detected"] * 3


def test_pii_filter_payload_equals_native_and_cli(tmp_path: Path) -> None:
    """Byte-identical: the WASM guest, the same source built natively, and
    `ptel demo-plugin --deterministic` under the same context."""
    p = plugin("pii_filter", deterministic=True)
    for text in (TEXT, "", "no pii here", "call 0044-20-7946-0958 now"):
        inv = begin()
        ctx = inv.context.to_bytes()
        r = p.invoke(inv, text.encode())
        assert r.outcome == ptel.Outcome.OK and r.payload
        assert r.payload == native("pii_filter", ctx, text, tmp_path)
        (tmp_path / "ctx.bin").write_bytes(ctx)
        subprocess.run([str(CLI), "demo-plugin", "--context", str(tmp_path / "ctx.bin"),
                        "--input", text, "--deterministic", "-o", str(tmp_path / "cli.bin")],
                       check=True, capture_output=True)
        assert r.payload == (tmp_path / "cli.bin").read_bytes()


def test_deterministic_payload_is_the_same_every_invocation() -> None:
    p = plugin("pii_filter", deterministic=True)
    payloads = {p.invoke(begin(span_id=b"\x11" * 8, start_time=1_700_000_000_000_000_000),
                         TEXT.encode()).payload for _ in range(3)}
    assert len(payloads) == 1


def test_rate_limiter_keeps_state_between_invocations() -> None:
    p = plugin("rate_limiter")
    decisions = []
    for key in (b"alice", b"alice", b"bob", b"alice", b"alice"):
        inv = begin(plugin="ratelimit")
        r = p.invoke(inv, key)
        assert r.outcome == ptel.Outcome.OK and r.report.spans_accepted == 1
        decisions.append(r.output)
        (span,) = [s for s in spans(inv) if s["name"] == "rate_limiter.check"]
        a = attrs(span)
        assert a["ratelimit.key"] == key.decode() and a["ratelimit.decision"] == r.output.decode()
        assert ("events" in span) == (r.output == b"deny")
    assert decisions == [b"allow", b"allow", b"allow", b"allow", b"deny"]


def test_rate_limiter_payload_equals_native(tmp_path: Path) -> None:
    p = plugin("rate_limiter", deterministic=True)
    inv = begin(plugin="ratelimit")
    ctx = inv.context.to_bytes()
    r = p.invoke(inv, b"carol")
    assert r.payload == native("rate_limiter", ctx, "carol", tmp_path)


def test_drop_decision_records_nothing() -> None:
    p = plugin("pii_filter")
    inv = begin(decision=ptel.Decision.DROP)
    r = p.invoke(inv, TEXT.encode())
    assert r.outcome == ptel.Outcome.OK and r.report.spans_accepted == 0
    assert r.output.count(b"*") == 20 + 12 + 15


# ---- sandbox faults -----------------------------------------------------------------------

def invocation_span(inv: ptel.Invocation) -> dict:
    (s,) = [s for s in spans(inv) if s["name"] == "plugin.execute"]
    return s


@pytest.mark.parametrize("mode,outcome,error_type", [
    (b"trap", ptel.Outcome.CRASH, "wasm.trap.unreachable"),
    (b"loop", ptel.Outcome.TIMEOUT, "wasm.out_of_fuel"),
    (b"oom", ptel.Outcome.CRASH, "wasm.trap.unreachable"),
    (b"oob", ptel.Outcome.CRASH, "wasm.bad_result"),
    (b"nopayload", ptel.Outcome.CRASH, "wasm.bad_result"),
])
def test_fault_closes_invocation_and_request_continues(mode: bytes, outcome: int,
                                                       error_type: str) -> None:
    limit = 2 << 20
    p = plugin("faults", fuel=2_000_000, memory_limit=limit)
    inv = begin()
    r = p.invoke(inv, mode)
    assert (r.outcome, r.error_type, r.payload) == (outcome, error_type, b"")
    assert r.report.spans_accepted == 0 and not r.report.rejected
    span = invocation_span(inv)
    assert span["status"]["code"] == 2  # ERROR
    a = attrs(span)
    assert a["error.type"] == error_type
    assert a["plugin.outcome"] == {ptel.Outcome.CRASH: "crash",
                                   ptel.Outcome.TIMEOUT: "timeout"}[outcome]
    assert p.memory_size == 0  # the faulted instance is gone
    # The request continues: the next invocation gets a fresh instance.
    r2 = p.invoke(begin(), b"ok")
    assert r2.outcome == ptel.Outcome.OK and r2.report.status == 0
    assert 0 < p.memory_size <= limit


def test_out_of_memory_stays_under_the_limit() -> None:
    limit = 1 << 20
    p = plugin("faults", memory_limit=limit)
    st = p._store
    r = p.invoke(begin(), b"oom")
    assert r.outcome == ptel.Outcome.CRASH
    assert st is not None and p._mem.data_len(st) <= limit


def test_garbage_payload_is_rejected_not_raised() -> None:
    p = plugin("faults")
    inv = begin()
    r = p.invoke(inv, b"garbage")
    assert r.outcome == ptel.Outcome.OK and r.payload.endswith(b"garbage")
    assert r.report.rejected and r.report.first_reason == "malformed"
    assert r.report.spans_accepted == 0
    assert [s["name"] for s in spans(inv)] == ["plugin.execute"]


def test_pii_filter_out_of_fuel_is_a_timeout() -> None:
    p = plugin("pii_filter", fuel=2_000)
    inv = begin()
    r = p.invoke(inv, TEXT.encode())
    assert r.outcome == ptel.Outcome.TIMEOUT and r.report.spans_accepted == 0
    assert attrs(invocation_span(inv))["error.type"] == "wasm.out_of_fuel"


def test_too_little_memory_to_instantiate() -> None:
    with pytest.raises(wasmtime.WasmtimeError):
        plugin("pii_filter", memory_limit=64 << 10)


def wat_module(tmp: Path, body: str) -> str:
    path = tmp / "m.wasm"
    path.write_bytes(wasmtime.wat2wasm(f"(module {body})"))
    return str(path)


def test_wrong_abi_version_is_refused(tmp_path: Path) -> None:
    body = "".join(f'(func (export "{n}") (param i32 i32) (result i32) i32.const 0)'
                   for n in ("ptel_guest_result", "ptel_guest_output", "ptel_guest_free_"))
    body += ('(memory (export "memory") 1)'
             '(func (export "ptel_guest_abi_version") (result i32) i32.const 2)'
             '(func (export "ptel_guest_alloc") (param i32) (result i32) i32.const 16)'
             '(func (export "ptel_guest_free") (param i32 i32))'
             '(func (export "ptel_guest_configure") (param i32) (result i32) i32.const 0)'
             '(func (export "ptel_guest_invoke") (param i32 i32 i32 i32) (result i32) '
             'i32.const 0)')
    with pytest.raises(ptel_wasm.AbiError, match="version 2"):
        ptel_wasm.WasmPlugin(wat_module(tmp_path, body))


def test_missing_exports_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ptel_wasm.AbiError, match="ptel_guest_invoke"):
        ptel_wasm.WasmPlugin(wat_module(tmp_path, '(memory (export "memory") 1)'))


def test_negative_guest_status_ends_with_error(tmp_path: Path) -> None:
    body = ('(memory (export "memory") 1)'
            '(func (export "ptel_guest_abi_version") (result i32) i32.const 1)'
            '(func (export "ptel_guest_alloc") (param i32) (result i32) i32.const 1024)'
            '(func (export "ptel_guest_free") (param i32 i32))'
            '(func (export "ptel_guest_configure") (param i32) (result i32) i32.const 0)'
            '(func (export "ptel_guest_invoke") (param i32 i32 i32 i32) (result i32) '
            'i32.const -9)'
            '(func (export "ptel_guest_result") (param i32 i32) (result i32) i32.const -1)'
            '(func (export "ptel_guest_output") (param i32 i32) (result i32) i32.const -1)')
    p = ptel_wasm.WasmPlugin(wat_module(tmp_path, body))
    inv = begin()
    r = p.invoke(inv, b"x")
    assert (r.outcome, r.status, r.error_type) == (ptel.Outcome.ERROR, -9, "ptel.guest_status")
    assert attrs(invocation_span(inv))["error.type"] == "ptel.guest_status"


# ---- the conformance vectors through the core in WASM --------------------------------------

@pytest.mark.skipif(not (WASM / "conformance_runner.wasm").exists(),
                    reason="conformance/runners/c is not in this checkout")
def test_conformance_vectors_through_the_wasm_core(tmp_path: Path) -> None:
    """Every scenario's payload byte for byte, every host case's report and
    every W3C case, computed by the core compiled to wasm32-wasi."""
    import conformance_wasm

    conformance_wasm.run(str(ROOT / "conformance" / "vectors"), str(tmp_path / "r.json"))
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["failures"] == []
    col = r["columns"]["wasm"]
    groups = {p.relative_to(ROOT / "conformance" / "vectors").with_suffix("").as_posix()
              for p in (ROOT / "conformance" / "vectors").rglob("*.json")}
    assert set(col) == groups
    assert all(c["failed"] == 0 for c in col.values())
    assert sum(c["passed"] for g, c in col.items() if g.startswith("scenarios/")) > 0


# ---- salvage: a plugin that faults with a span open ------------------------------------------

@pytest.mark.parametrize("mode,outcome,error_type", [
    (b"trap", ptel.Outcome.CRASH, "wasm.trap.unreachable"),
    (b"loop", ptel.Outcome.TIMEOUT, "wasm.out_of_fuel"),
    (b"oom", ptel.Outcome.CRASH, "wasm.trap.unreachable"),
])
def test_fault_ends_open_spans_with_error(mode: bytes, outcome: int, error_type: str) -> None:
    p = plugin("stuck_plugin", fuel=5_000_000, memory_limit=2 << 20)
    inv = begin()
    r = p.invoke(inv, mode)
    assert (r.outcome, r.error_type) == (outcome, error_type)
    assert r.payload and not r.report.rejected
    assert (r.report.spans_accepted, r.report.open_spans) == (2, 1)
    by_name = {s["name"]: s for s in spans(inv)}
    assert set(by_name) == {"plugin.execute", "work", "step"}
    work, step = by_name["work"], by_name["step"]
    assert work["status"]["code"] == 2 and attrs(work)["error.type"] == error_type
    assert step.get("status", {}).get("code", 0) == 0 and attrs(step) == {"step.count": "1"}
    assert step["parentSpanId"] == work["spanId"]
    assert work["parentSpanId"] == by_name["plugin.execute"]["spanId"]
    assert attrs(by_name["plugin.execute"])["error.type"] == error_type
    assert p.memory_size == 0
    r2 = p.invoke(begin(), b"ok")  # the request continues on a fresh instance
    assert r2.outcome == ptel.Outcome.OK and r2.report.open_spans == 1


def test_open_span_of_a_successful_plugin_is_not_ended() -> None:
    inv = begin()
    r = plugin("stuck_plugin").invoke(inv, b"ok")
    assert r.outcome == ptel.Outcome.OK and r.report.open_spans == 1
    work = next(s for s in spans(inv) if s["name"] == "work")
    assert work["status"]["code"] == 2 and attrs(work)["error.type"] == "span_not_ended"


def test_salvage_after_a_finished_invocation_is_refused() -> None:
    p = plugin("stuck_plugin")
    p.invoke(begin(), b"ok")
    assert p._salvaged() == b""  # PTEL_E_STATE: no plugin call was interrupted
