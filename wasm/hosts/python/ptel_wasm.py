"""Run ptel WASM plugins (the guest ABI of PROTOCOL.md, "WASM guest ABI")
with wasmtime, under a host ``ptel.Invocation``.

The host writes the invocation's PluginContext and the plugin's input into
guest memory, calls ``ptel_guest_invoke`` under a fuel budget and a memory
limit, copies the PluginTelemetry bytes out and ends the invocation with
them; the binding's ``Invocation.end`` validates them like any payload.

Faults never escape as exceptions: a trap, running out of fuel or memory, or
a result outside guest memory ends the invocation with outcome CRASH or
TIMEOUT, and the next ``invoke`` runs on a fresh instance. Before dropping
a trapped instance the host asks it for what it had recorded
(``ptel_guest_salvage``, when exported): its spans are exported and the
spans it had open are ended with status ERROR and the fault's error.type.
"""
from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass

import ptel
import wasmtime
from wasmtime import _ffi as ffi  # the C API's ctypes bindings, for _Export

ABI_VERSION = 1
DETERMINISTIC = 1
_EXPORTS = ("memory", "ptel_guest_abi_version", "ptel_guest_alloc", "ptel_guest_free",
            "ptel_guest_configure", "ptel_guest_invoke", "ptel_guest_result",
            "ptel_guest_output")


class AbiError(Exception):
    """The module does not implement guest ABI version 1."""


@dataclass
class Result:
    """What one ``WasmPlugin.invoke`` did."""

    outcome: int
    """the ``ptel.Outcome`` the invocation was ended with"""
    report: ptel.Report
    status: int = 0
    """``ptel_guest_invoke``'s return: 0, a plugin error > 0, a PTEL_E_* < 0"""
    output: bytes = b""
    """the plugin's functional output"""
    payload: bytes = b""
    """the PluginTelemetry bytes the guest returned (empty after a fault)"""
    error_type: str = ""
    """``error.type`` of a failed invocation: wasm.trap, wasm.out_of_fuel, ..."""


class _Export:
    """A guest export of i32 parameters and at most one i32 result, called
    through wasmtime's ``wasmtime_func_call_unchecked`` with one argument
    array made once. ``wasmtime.Func.__call__`` re-reads and re-checks the
    function's type and converts every argument on each call (about 70 us a
    call on the development machine), which was most of this host's
    boundary cost. Relies on the internals of the pinned wasmtime-py
    (requirements-dev.txt); the fault tests notice a change."""

    def __init__(self, store: wasmtime.Store, func: wasmtime.Func) -> None:
        ty = func.type(store)
        i32 = wasmtime.ValType.i32()
        if any(t != i32 for t in [*ty.params, *ty.results]) or len(ty.results) > 1:
            raise AbiError(f"export of type {ty} is not (i32...) -> i32?")
        self._store = store  # keeps the context pointer valid
        self._ctx = store._context()
        self._func = ctypes.byref(func._func)
        self._ref = func
        self._vals = (ffi.wasmtime_val_raw * max(len(ty.params), len(ty.results), 1))()
        self._trap = ctypes.POINTER(ffi.wasm_trap_t)()

    def __call__(self, *args: int) -> int:
        """The i32 result as unsigned (0 when there is none)."""
        vals = self._vals
        for i, a in enumerate(args):
            vals[i].i32 = a  # ctypes wraps u32 into the i32 bit pattern
        err = ffi.wasmtime_func_call_unchecked(self._ctx, self._func, vals, len(vals),
                                               ctypes.byref(self._trap))
        if self._trap:
            trap = wasmtime.Trap._from_ptr(self._trap)
            self._trap = ctypes.POINTER(ffi.wasm_trap_t)()
            raise trap
        if err:
            raise wasmtime.WasmtimeError._from_ptr(err)
        return vals[0].i32 & 0xFFFFFFFF


def _signed(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


class WasmPlugin:
    """One plugin module with one live instance (plugins may keep state
    between invocations; a fault replaces the instance).

    ``fuel`` is the wasmtime fuel budget of one invocation (about one unit
    per WASM instruction), ``memory_limit`` the most bytes of linear memory
    the instance may have; ``deterministic`` selects the guest's
    deterministic clock and ids (conformance tests)."""

    def __init__(self, path: str, *, fuel: int = 50_000_000, memory_limit: int = 16 << 20,
                 deterministic: bool = False) -> None:
        config = wasmtime.Config()
        config.consume_fuel = True
        self._engine = wasmtime.Engine(config)
        self._module = wasmtime.Module.from_file(self._engine, path)
        self._fuel = fuel
        self._memory_limit = memory_limit
        self._flags = DETERMINISTIC if deterministic else 0
        self._linker = wasmtime.Linker(self._engine)
        self._linker.define_wasi()
        self._store: wasmtime.Store | None = None
        self._instantiate()

    def _instantiate(self) -> None:
        store = wasmtime.Store(self._engine)
        store.set_wasi(wasmtime.WasiConfig())  # no files, no environment, no arguments
        store.set_limits(memory_size=self._memory_limit)
        store.set_fuel(self._fuel)
        inst = self._linker.instantiate(store, self._module)
        ex = inst.exports(store)
        missing = [n for n in _EXPORTS if n not in ex]
        if missing:
            raise AbiError(f"missing exports: {', '.join(missing)}")
        mem = ex["memory"]
        if not isinstance(mem, wasmtime.Memory):
            raise AbiError("export memory is not a memory")
        self._store, self._mem = store, mem
        self._mem_len, self._mem_addr = -1, 0

        def export(name: str) -> _Export:
            f = ex[name]
            if not isinstance(f, wasmtime.Func):
                raise AbiError(f"export {name} is not a function")
            return _Export(store, f)

        if "_initialize" in ex:
            export("_initialize")()
        version = _signed(export("ptel_guest_abi_version")())
        if version != ABI_VERSION:
            raise AbiError(f"guest ABI version {version}, host knows {ABI_VERSION}")
        if export("ptel_guest_configure")(self._flags) != 0:
            raise AbiError("ptel_guest_configure refused the flags")
        self._alloc = export("ptel_guest_alloc")
        self._free = export("ptel_guest_free")
        self._invoke = export("ptel_guest_invoke")
        self._result = export("ptel_guest_result")
        self._output = export("ptel_guest_output")
        self._salvage = export("ptel_guest_salvage") if "ptel_guest_salvage" in ex else None
        self._scratch = self._call(self._alloc, 8)
        self._buf, self._buf_cap = 0, 0
        if not self._scratch:
            raise AbiError("ptel_guest_alloc failed")

    def _reserve(self, n: int) -> int:
        """A guest buffer of at least n bytes for the context and the input,
        kept between invocations."""
        if n > self._buf_cap:
            if self._buf:
                self._call(self._free, self._buf, self._buf_cap)
                self._buf, self._buf_cap = 0, 0
            cap = max(n, 256)
            ptr = self._call(self._alloc, cap)
            if not ptr:
                raise MemoryError("guest allocation failed")
            self._buf, self._buf_cap = ptr, cap
        return self._buf

    def _call(self, fn: _Export, *args: int) -> int:
        """Call a guest export. Its memory may grow and move during the
        call, never between calls: where it is is looked up again on the
        next access (two C calls saved per call that is not followed by one)."""
        self._mem_len = -1
        return fn(*args)

    def _base(self, offset: int, n: int) -> int:
        """The host address of guest bytes [offset, offset + n), bounds-checked
        (wasmtime's Memory.read copies byte by byte; this is one memcpy)."""
        if self._mem_len < 0:
            st = self._store
            assert st is not None
            self._mem_len = self._mem.data_len(st)
            self._mem_addr = ctypes.addressof(self._mem.data_ptr(st).contents)
        if offset + n > self._mem_len:
            raise _Garbage(f"[{offset}, {offset + n}) outside guest memory")
        return self._mem_addr + offset

    def _read(self, offset: int, n: int) -> bytes:
        return ctypes.string_at(self._base(offset, n), n) if n else b""

    def _write(self, offset: int, data: bytes) -> None:
        if data:
            ctypes.memmove(self._base(offset, len(data)), data, len(data))

    def _read_pair(self, fn: _Export) -> tuple[int, bytes]:
        rc = _signed(self._call(fn, self._scratch, self._scratch + 4))
        if rc != 0:
            return rc, b""
        ptr, n = struct.unpack("<II", self._read(self._scratch, 8))
        return 0, self._read(ptr, n)

    def _run(self, ctx: bytes, data: bytes) -> tuple[int, bytes, bytes]:
        """One ``ptel_guest_invoke`` with its result and output; raises
        ``wasmtime.Trap``, ``_Garbage`` or ``MemoryError`` for a fault."""
        if self._store is None:
            self._instantiate()
        assert self._store is not None
        self._store.set_fuel(self._fuel)
        base = self._reserve(len(ctx) + len(data))
        self._write(base, ctx)
        self._write(base + len(ctx), data)
        status = _signed(self._call(self._invoke, base, len(ctx), base + len(ctx), len(data)))
        if status < 0:
            return status, b"", b""
        rc, payload = self._read_pair(self._result)
        if rc != 0:
            raise _Garbage(f"ptel_guest_result returned {rc} after success")
        _, output = self._read_pair(self._output)
        return status, payload, output

    def call(self, context: bytes, data: bytes = b"") -> tuple[int, bytes, bytes]:
        """The guest ABI alone, without an invocation (the conformance
        scenarios use it): ``context`` is PluginContext bytes; returns the
        status of ``ptel_guest_invoke``, the PluginTelemetry bytes and the
        output. A guest fault drops the instance and raises ``GuestFault``."""
        try:
            return self._run(context, data)
        except wasmtime.Trap as trap:
            self._store = None
            raise GuestFault(_error_type(trap.trap_code)) from trap
        except (_Garbage, MemoryError, wasmtime.WasmtimeError) as e:
            self._store = None
            raise GuestFault("wasm.bad_result") from e

    def invoke(self, inv: ptel.Invocation, data: bytes = b"") -> Result:
        """Run the plugin for ``inv`` with input ``data`` and end ``inv``
        with its telemetry. Never raises for guest faults."""
        try:
            status, payload, output = self._run(inv.context.to_bytes(), data)
        except wasmtime.Trap as trap:
            return self._fault(inv, trap.trap_code)
        except (_Garbage, MemoryError, wasmtime.WasmtimeError):
            return self._fault(inv, None, "wasm.bad_result")
        if status < 0:
            report = inv.end(None, outcome=ptel.Outcome.ERROR, error_type="ptel.guest_status")
            return Result(ptel.Outcome.ERROR, report, status=status,
                          error_type="ptel.guest_status")
        outcome = ptel.Outcome.OK if status == 0 else ptel.Outcome.ERROR
        et = "" if status == 0 else "plugin.error"
        report = inv.end(payload, outcome=outcome, error_type=et or None)
        return Result(outcome, report, status=status, output=output, payload=payload,
                      error_type=et)

    def _fault(self, inv: ptel.Invocation, code: wasmtime.TrapCode | None,
               error_type: str = "") -> Result:
        """Close the invocation of a faulted guest with what it had recorded
        and drop the instance."""
        payload = self._salvaged()
        self._store = None
        error_type = error_type or _error_type(code)
        outcome = ptel.Outcome.TIMEOUT if code == wasmtime.TrapCode.OUT_OF_FUEL \
            else ptel.Outcome.CRASH
        report = inv.end(payload or None, outcome=outcome, error_type=error_type)
        return Result(outcome, report, payload=payload, error_type=error_type)

    def _salvaged(self) -> bytes:
        """The faulted invocation's telemetry from ``ptel_guest_salvage``
        (its open spans listed, for ``Invocation.end`` to end with ERROR),
        under a fresh fuel budget; empty when the module lacks the export or
        the salvage fails too."""
        if self._store is None or self._salvage is None:
            return b""
        try:
            self._store.set_fuel(self._fuel)
            rc, payload = self._read_pair(self._salvage)
        except (wasmtime.Trap, _Garbage, wasmtime.WasmtimeError):
            return b""
        return payload if rc == 0 else b""

    @property
    def memory_size(self) -> int:
        """Bytes of linear memory of the live instance (0 when none)."""
        return self._mem.data_len(self._store) if self._store is not None else 0


class GuestFault(Exception):
    """A guest fault of ``WasmPlugin.call``; ``str()`` is its ``error.type``."""


class _Garbage(Exception):
    pass


def _error_type(code: wasmtime.TrapCode | None) -> str:
    """``error.type`` of a trap (PROTOCOL.md, "Sandbox faults")."""
    if code == wasmtime.TrapCode.OUT_OF_FUEL:
        return "wasm.out_of_fuel"
    return "wasm.trap" if code is None else f"wasm.trap.{code.name.lower()}"
