"""The compiled extension and the status-to-exception mapping."""

from __future__ import annotations

from typing import Any, NoReturn

from ._errorbase import PtelError
from ._generated import ERRORS_BY_STATUS, Status
from ._ptel_cffi import ffi, lib

__all__ = ["ffi", "lib", "raise_status", "check", "new_diag", "error_for", "to_bytes", "to_str"]

NULL: Any = ffi.NULL


def to_bytes(ptr: Any, n: int) -> bytes:
    """Copy `n` bytes at a C pointer into a Python bytes object."""
    return bytes(ffi.buffer(ptr, n)) if n else b""


def to_str(ptr: Any, n: int) -> str:
    """Copy `n` bytes of UTF-8 at a C pointer into a str."""
    return to_bytes(ptr, n).decode("utf-8", "replace")


def new_diag() -> Any:
    """A zeroed `ptel_diag` for one call."""
    return ffi.new("ptel_diag *")


def error_for(status: int, diag: Any = None) -> PtelError:
    """The exception for a C status, with the diagnostics of `diag` if set."""
    cls = ERRORS_BY_STATUS.get(status, PtelError)
    name = ffi.string(lib.ptel_status_name(status)).decode()
    message = ffi.string(lib.ptel_strerror(status)).decode()
    offset = field = 0
    reason = None
    if diag is not None and diag != NULL and diag.reason != NULL:
        offset = int(diag.offset)
        field = int(diag.field)
        reason = ffi.string(diag.reason).decode("utf-8", "replace")
    return cls(status, name, message, offset, field, reason)


def raise_status(status: int, diag: Any = None) -> NoReturn:
    raise error_for(status, diag)


def check(status: int, diag: Any = None) -> None:
    """Raise the PtelError subclass of a non-zero status."""
    if status:
        raise error_for(status, diag)


def struct_json(ctype: str, raw: bytes, render: Any) -> str:
    """Render a copy of a C struct (``raw``, the bytes of a ``ctype``) with
    a core ``*_to_json(value, buf, cap, len)`` function: size query, then
    the text."""
    value = ffi.new(ctype + " *")
    ffi.buffer(value)[:] = raw
    n = ffi.new("size_t *")
    rc = render(value, ffi.NULL, 0, n)
    if rc not in (0, Status.E_BUFFER_TOO_SMALL):
        raise_status(rc)
    buf = ffi.new("char[]", n[0] + 1)
    check(render(value, buf, n[0] + 1, n))
    return to_str(buf, n[0])
