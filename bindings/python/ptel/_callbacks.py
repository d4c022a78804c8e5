"""Clock, id-generator and environment callbacks from C into Python."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ._native import ffi, lib
from ._types import Clock, IdGenerator

_U64 = (1 << 64) - 1


def _swallow(exc_type: Any, exc: Any, tb: Any) -> None:
    """Telemetry never raises: a failing callback yields its default."""
    return None


_F = TypeVar("_F", bound=Callable[..., Any])


def _extern(fn: _F) -> _F:
    """Register `fn` as the implementation of its `extern "Python"`."""
    ffi.def_extern(onerror=_swallow)(fn)
    return fn


@_extern
def _ptel_py_monotonic_ns(ud: Any) -> int:
    return int(ffi.from_handle(ud).clock.monotonic_ns()) & _U64


@_extern
def _ptel_py_realtime_ns(ud: Any) -> int:
    return int(ffi.from_handle(ud).clock.realtime_ns()) & _U64


@_extern
def _ptel_py_fill_id(ud: Any, out: Any, n: int) -> None:
    data = bytes(ffi.from_handle(ud).ids.generate(n))[:n]
    ffi.memmove(out, data.ljust(n, b"\0"), n)  # zeros: the core regenerates


@_extern
def _ptel_py_getenv(ud: Any, name: Any) -> Any:
    env: _EnvLookup = ffi.from_handle(ud)
    return env.get(ffi.string(name).decode("ascii", "replace"))


def _overrides(obj: Any, name: str, base: type) -> bool:
    method = getattr(type(obj), name, None)
    if method is None:
        return callable(getattr(obj, name, None))
    return method is not getattr(base, name)


class Callbacks:
    """Python objects the core calls back, and the handle that names them.
    Keep this object alive as long as the C object that holds the callbacks."""

    __slots__ = ("clock", "ids", "handle")

    def __init__(self, clock: Clock | Any | None, ids: IdGenerator | Any | None) -> None:
        self.clock = clock
        self.ids = ids
        self.handle = ffi.new_handle(self)

    @property
    def needed(self) -> bool:
        return self.clock is not None or self.ids is not None

    def fill_clock(self, c: Any) -> None:
        """Fill a `ptel_clock`; methods the clock does not override stay NULL."""
        if self.clock is None:
            return
        if _overrides(self.clock, "monotonic_ns", Clock):
            c.monotonic_ns = lib._ptel_py_monotonic_ns
        if _overrides(self.clock, "realtime_ns", Clock):
            c.realtime_ns = lib._ptel_py_realtime_ns
        c.ud = self.handle

    def fill_ids(self, g: Any) -> None:
        if self.ids is None:
            return
        g.fill = lib._ptel_py_fill_id
        g.ud = self.handle


class _EnvLookup:
    """A mapping looked up by the core's ptel_context_from_env; the C strings
    it returns stay alive as long as this object."""

    __slots__ = ("env", "strings", "handle")

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.strings: list[Any] = []
        self.handle = ffi.new_handle(self)

    def get(self, name: str) -> Any:
        value = self.env.get(name)
        if value is None:
            return ffi.NULL
        s = ffi.new("char[]", str(value).encode("utf-8", "surrogatepass"))
        self.strings.append(s)
        return s
