"""Python attribute values to `ptel_attr` arrays, one array per C call.

The conversion rules (also in the package README):

* ``str`` -> STRING (UTF-8), ``bool`` -> BOOL, ``int`` -> INT, ``float`` ->
  DOUBLE, ``bytes``/``bytearray``/``memoryview`` -> BYTES, ``None`` -> EMPTY,
  ``list``/``tuple`` -> ARRAY (elements may mix types), any ``Mapping`` with
  ``str`` keys -> KVLIST.
* An ``int`` outside the int64 range becomes the STRING of its decimal
  digits (``2**64`` -> ``"18446744073709551616"``): OTLP has no bigger
  integer, and a string keeps the exact value.
* A value of any other type, a non-``str`` key, an empty key and a string
  with lone surrogates are refused by the core, which drops that attribute
  and counts it (``dropped_attributes_count`` and the recorder's error
  counter).
* Containers nested deeper than the context's ``attribute_depth`` limit (at
  most 64) become empty values, as the core does; cyclic containers are
  therefore safe.
* Strings longer than the ``attribute_value_length`` limit are cut to the
  limit (in code points; bytes in bytes) here already, so a huge value is
  never copied whole; the core would cut it at the same place.

Speed: attributes are packed with ``struct`` into one C buffer that the
packer owns and reuses and whose address is known, so a batch costs one
``pack_into`` per value and no CFFI object. Short strings (keys, mostly)
are interned once per process into C memory, so they cost a dict lookup.
A platform whose struct layout differs from ``struct``'s native one uses
the portable path (CFFI arrays) instead.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from ._native import ffi

# ptel_value_type values (codegen writes them as ValueType; plain ints here
# because they go into struct.pack).
_EMPTY, _STRING, _BOOL, _INT, _DOUBLE, _BYTES, _ARRAY, _KVLIST = range(8)
_INVALID = 0xFFFF  # not a ptel_value_type: the core refuses and counts it

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

MAX_DEPTH = 64  # PTEL_HOST_MAX_DEPTH: deeper is never exported

_UPTR = ffi.typeof("uintptr_t")
_ATTR_PTR = ffi.typeof("ptel_attr *")
_ATTR_ARRAY = ffi.typeof("ptel_attr[]")
_VALUE_ARRAY = ffi.typeof("ptel_value[]")
_CHAR_ARRAY = ffi.typeof("char[]")
_ATTR_SIZE = ffi.sizeof("ptel_attr")
_VALUE_SIZE = ffi.sizeof("ptel_value")

# Native struct layouts of ptel_value { uint32 type, count; int64 i; double
# d; ptel_str str; ptel_value *array; ptel_attr *kvlist; } with only the
# fields a type uses (zero padding for the rest), and of ptel_attr, which
# is a ptel_str key followed by a ptel_value. Checked against CFFI below.
_VALUE_FORMATS = {
    "str": "I4x8x8xPN16x",  # type, str.ptr, str.len
    "int": "I4xq8x16x16x",  # type, i
    "dbl": "I4x8xd16x16x",  # type, d
    "nest": "II8x8x16xPP",  # type, count, array, kvlist
}
_V = {k: struct.Struct("@" + f) for k, f in _VALUE_FORMATS.items()}
_A = {k: struct.Struct("@PN" + f) for k, f in _VALUE_FORMATS.items()}
_V_STR, _V_INT, _V_DBL, _V_NEST = _V["str"], _V["int"], _V["dbl"], _V["nest"]
_KEY = struct.Struct("@PN")  # the ptel_str key of a ptel_attr
_A_STR, _A_INT, _A_DBL, _A_NEST = _A["str"], _A["int"], _A["dbl"], _A["nest"]


def _layout_ok() -> bool:
    """True when the struct formats above match the C layout CFFI sees."""
    if any(s.size != _VALUE_SIZE for s in _V.values()):
        return False
    if any(s.size != _ATTR_SIZE for s in _A.values()):
        return False
    a = ffi.new("ptel_attr *")
    buf = ffi.buffer(a)
    base = int(ffi.cast(_UPTR, a))

    def addr(p: Any) -> int:
        return int(ffi.cast(_UPTR, p))

    _A_STR.pack_into(buf, 0, base + 1, 2, 3, base + 5, 6)
    v = a.value
    ok = (addr(a.key.ptr) == base + 1 and a.key.len == 2 and v.type == 3 and v.i == 0
          and addr(v.str.ptr) == base + 5 and v.str.len == 6 and v.count == 0)
    _A_INT.pack_into(buf, 0, 0, 0, 4, -5)
    ok = ok and v.type == 4 and v.i == -5 and v.d == 0.0 and v.str.len == 0
    _A_DBL.pack_into(buf, 0, 0, 0, 7, 2.5)
    ok = ok and v.type == 7 and v.d == 2.5 and v.i == 0
    _A_NEST.pack_into(buf, 0, 0, 0, 6, 9, base + 8, base + 16)
    return (ok and v.type == 6 and v.count == 9 and addr(v.array) == base + 8
            and addr(v.kvlist) == base + 16 and v.d == 0.0)


FAST_LAYOUT = _layout_ok()


class _Interned:
    """Process-wide table of short strings copied once into C memory that is
    never freed, so that attribute keys and common string values cost one
    dict lookup per use. Bounded: at most MAX_BYTES of C memory and strings
    of at most MAX_LEN bytes; once full, strings are copied per call."""

    MAX_LEN = 128
    MAX_BYTES = 1 << 20
    CHUNK = 1 << 16

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.table: dict[str, tuple[int, int]] = {}
        self.chunks: list[Any] = []
        self.base = 0
        self.off = self.CHUNK
        self.used = 0

    def add(self, s: str) -> tuple[int, int] | None:
        """Intern `s`: its (address, length) as UTF-8, or None when it is
        too long, not encodable (lone surrogates) or the table is full."""
        if len(s) > self.MAX_LEN:
            return None
        try:
            data = s.encode("utf-8")
        except UnicodeEncodeError:
            return None
        n = len(data)
        if n > self.MAX_LEN:
            return None
        with self.lock:
            entry = self.table.get(s)
            if entry is not None:
                return entry
            if self.used + n > self.MAX_BYTES:
                return None
            if self.off + n > self.CHUNK:
                chunk = ffi.new(_CHAR_ARRAY, self.CHUNK)
                self.chunks.append(chunk)
                self.base = int(ffi.cast(_UPTR, chunk))
                self.off = 0
            ffi.memmove(ffi.cast("char *", self.base + self.off), data, n)
            entry = (self.base + self.off, n)
            self.off += n
            self.used += n
            self.table[str(s)] = entry
            return entry


INTERNED = _Interned()
_NO_TEXT = (0, 0)

# Looked up once: pack() runs for every batch of attributes.
_INTERNED_GET = INTERNED.table.get
_PACK_STR, _PACK_INT, _PACK_DBL = _A_STR.pack_into, _A_INT.pack_into, _A_DBL.pack_into
_INTERN_MAX_LEN = _Interned.MAX_LEN


def _hashable(k: Any) -> bool:
    try:
        hash(k)
    except TypeError:
        return False
    return True


class _Regrow(Exception):
    """The scratch buffer was too small; retry with at least `need` bytes."""

    def __init__(self, need: int) -> None:
        self.need = need


class AttrPacker:
    """Packs attribute batches into a reusable C buffer. Not thread-safe: the
    owner (a Recorder) serialises calls with its lock.

    Layout of one batch in the buffer: the top-level ``ptel_attr`` array,
    then (bump-allocated) the strings that are not interned and the arrays
    of nested values, each array 8-byte aligned."""

    __slots__ = ("_buf", "_base", "_mv", "_attrs", "_cap", "_off", "max_len", "max_depth",
                 "keep")

    def __init__(self, max_len: int = 4096, max_depth: int = 8, capacity: int = 2048) -> None:
        self.max_len = max_len if max_len > 0 else 4096
        self.max_depth = min(max_depth, MAX_DEPTH)
        self._cap = 0
        self._off = 0
        self._buf: Any = None
        self._base = 0
        self._mv: Any = None
        self._attrs: Any = None
        self.keep: list[Any] = []  # CFFI objects of the portable path
        self._grow(capacity)

    def _grow(self, need: int) -> None:
        cap = max(need, self._cap * 2, 256)
        self._buf = ffi.new(_CHAR_ARRAY, cap)
        self._base = int(ffi.cast(_UPTR, self._buf))
        self._mv = memoryview(ffi.buffer(self._buf))
        self._attrs = ffi.cast(_ATTR_PTR, self._buf)
        self._cap = cap

    def pack(self, attrs: Mapping[Any, Any] | Iterable[tuple[Any, Any]]) -> tuple[Any, int]:
        """A `ptel_attr *` and count for `attrs`, valid until the next call.

        The scalar cases are written out inline: this loop is the cost of
        every attribute a plugin sets."""
        if type(attrs) is dict:
            items: Any = attrs.items()  # keys of a dict are hashable
        elif isinstance(attrs, Mapping):
            items = attrs.items()
        else:
            items = [(k if _hashable(k) else None, v) for k, v in attrs]
        n = len(items)
        if n == 0:
            return ffi.NULL, 0
        if self.keep:
            self.keep.clear()
        if not FAST_LAYOUT:
            return self.pack_slow(items), n
        interned = _INTERNED_GET
        max_len = self.max_len
        tight = max_len < _INTERN_MAX_LEN  # an interned string may exceed the limit
        pack_str, pack_int, pack_dbl = _PACK_STR, _PACK_INT, _PACK_DBL
        size = _ATTR_SIZE
        while True:
            mv = self._mv
            at = 0
            self._off = end = n * size  # strings and nested arrays follow the array
            try:
                if end > self._cap:
                    raise _Regrow(end + 256)
                for k, v in items:
                    key = interned(k)  # only str keys are in the table
                    if key is None:
                        key = self._text(k, False)
                    t = type(v)
                    if t is str:
                        sv = interned(v)
                        if sv is None or (tight and len(v) > max_len):
                            sv = self._text(v)
                        pack_str(mv, at, key[0], key[1], 1, sv[0], sv[1])  # STRING
                    elif t is int:
                        try:  # struct checks the int64 range (no compare of big ints here)
                            pack_int(mv, at, key[0], key[1], 3, v)  # INT
                        except struct.error:  # beyond int64: its decimal string
                            _KEY.pack_into(mv, at, key[0], key[1])
                            self._put_value(at + 16, v, 0)
                    elif t is float:
                        pack_dbl(mv, at, key[0], key[1], 4, v)  # DOUBLE
                    elif t is bool:
                        pack_int(mv, at, key[0], key[1], 2, v)  # BOOL
                    else:
                        _KEY.pack_into(mv, at, key[0], key[1])
                        self._put_value(at + 16, v, 0)
                    at += size
                return self._attrs, n
            except _Regrow as e:
                self._grow(e.need)

    # ---- fast path: struct into the scratch buffer --------------------------

    def _alloc(self, size: int) -> int:
        """Offset of `size` bytes, 8-aligned, in the scratch buffer."""
        off = (self._off + 7) & ~7
        end = off + size
        if end > self._cap:
            raise _Regrow(end * 2)
        self._off = end
        return off

    def _copy(self, data: bytes | bytearray | memoryview) -> tuple[int, int]:
        off = self._off
        end = off + len(data)
        if end > self._cap:
            raise _Regrow(end * 2)
        self._mv[off:end] = data
        self._off = end
        return self._base + off, end - off

    def _text(self, s: Any, cut: bool = True) -> tuple[int, int]:
        """A string for this batch, cut to the length limit unless it is a
        key (`cut` false): interned when it qualifies, else copied into the
        buffer. A non-str becomes an empty string (as a key, refused by the
        core)."""
        if type(s) is not str and not isinstance(s, str):
            return _NO_TEXT
        if cut and len(s) > self.max_len:
            s = s[: self.max_len]
        if len(s) <= _Interned.MAX_LEN:
            entry = INTERNED.table.get(s)
            if entry is None:
                entry = INTERNED.add(s)
            if entry is not None:
                return entry
        return self._copy(s.encode("utf-8", "surrogatepass"))

    def _put_value(self, at: int, v: Any, depth: int) -> None:
        """Write the ptel_value of `v` at offset `at`."""
        mv = self._mv
        t = type(v)
        if t is list or t is tuple:
            self._put_array(at, v, depth)
        elif t is dict:
            self._put_kvlist(at, v, depth)
        elif t is str or (t is not bool and isinstance(v, str)):
            sv = self._text(v)
            _V_STR.pack_into(mv, at, _STRING, sv[0], sv[1])
        elif t is bool:
            _V_INT.pack_into(mv, at, _BOOL, 1 if v else 0)
        elif isinstance(v, int):
            i = int(v)
            if INT64_MIN <= i <= INT64_MAX:
                _V_INT.pack_into(mv, at, _INT, i)
            else:
                sv = self._text(str(i))
                _V_STR.pack_into(mv, at, _STRING, sv[0], sv[1])
        elif isinstance(v, float):
            _V_DBL.pack_into(mv, at, _DOUBLE, float(v))
        elif v is None:
            _V_INT.pack_into(mv, at, _EMPTY, 0)
        elif isinstance(v, (bytes, bytearray, memoryview)):
            data = bytes(v[: self.max_len]) if len(v) > self.max_len else v
            if isinstance(data, memoryview):
                data = data.tobytes()
            sv = self._copy(data)
            _V_STR.pack_into(mv, at, _BYTES, sv[0], sv[1])
        elif isinstance(v, (list, tuple)):
            self._put_array(at, v, depth)
        elif isinstance(v, Mapping):
            self._put_kvlist(at, v, depth)
        else:
            _V_INT.pack_into(mv, at, _INVALID, 0)

    def _put_array(self, at: int, v: Any, depth: int) -> None:
        mv = self._mv
        n = len(v)
        if depth >= self.max_depth or n == 0:
            _V_NEST.pack_into(mv, at, _ARRAY, 0, 0, 0)  # too deep: the core writes it empty
            return
        start = self._alloc(n * _VALUE_SIZE)
        interned = INTERNED.table.get
        max_len = self.max_len
        pos = start
        for e in v:  # scalars inline, as in pack()
            t = type(e)
            if t is str:
                sv = interned(e) if len(e) <= max_len else None
                if sv is None:
                    sv = self._text(e)
                _V_STR.pack_into(mv, pos, _STRING, sv[0], sv[1])
            elif t is int and INT64_MIN <= e <= INT64_MAX:
                _V_INT.pack_into(mv, pos, _INT, e)
            elif t is float:
                _V_DBL.pack_into(mv, pos, _DOUBLE, e)
            else:
                self._put_value(pos, e, depth + 1)
            pos += _VALUE_SIZE
        _V_NEST.pack_into(mv, at, _ARRAY, n, self._base + start, 0)

    def _put_kvlist(self, at: int, v: Any, depth: int) -> None:
        mv = self._mv
        if depth >= self.max_depth or not v:
            _V_NEST.pack_into(mv, at, _KVLIST, 0, 0, 0)
            return
        start = self._alloc(len(v) * _ATTR_SIZE)
        pos = start
        for k, e in v.items():
            key = self._text(k, False)
            _KEY.pack_into(mv, pos, key[0], key[1])
            self._put_value(pos + 16, e, depth + 1)
            pos += _ATTR_SIZE
        _V_NEST.pack_into(mv, at, _KVLIST, len(v), 0, self._base + start)

    # ---- portable path: CFFI arrays -----------------------------------------

    def pack_slow(self, items: Iterable[tuple[Any, Any]]) -> Any:
        """The portable path: a CFFI array, kept (with everything it points
        to) in `self.keep` until the next call. Same rules as the fast path."""
        items = list(items)
        arr = ffi.new(_ATTR_ARRAY, len(items))
        self.keep.append(arr)
        for i, (k, v) in enumerate(items):
            self._fill_key(arr[i], k)
            self._fill(arr[i].value, v, 0)
        return arr

    def _bytes(self, data: bytes) -> Any:
        p = ffi.from_buffer(data)
        self.keep.append(p)
        return p

    def _fill_key(self, attr: Any, key: Any) -> None:
        if not isinstance(key, str):
            return  # empty key: refused by the core
        self._fill_text(attr.key, key, False)

    def _fill_text(self, s: Any, text: str, cut: bool = True) -> None:
        if cut and len(text) > self.max_len:
            text = text[: self.max_len]
        data = text.encode("utf-8", "surrogatepass")
        s.ptr = self._bytes(data)
        s.len = len(data)

    def _fill(self, val: Any, v: Any, depth: int) -> None:
        if isinstance(v, str):
            val.type = _STRING
            self._fill_text(val.str, v)
        elif isinstance(v, bool):
            val.type = _BOOL
            val.i = 1 if v else 0
        elif isinstance(v, int):
            i = int(v)
            if INT64_MIN <= i <= INT64_MAX:
                val.type = _INT
                val.i = i
            else:
                val.type = _STRING
                self._fill_text(val.str, str(i))
        elif isinstance(v, float):
            val.type = _DOUBLE
            val.d = float(v)
        elif v is None:
            val.type = _EMPTY
        elif isinstance(v, (bytes, bytearray, memoryview)):
            data = bytes(v[: self.max_len]) if len(v) > self.max_len else bytes(v)
            val.type = _BYTES
            val.str.ptr = self._bytes(data)
            val.str.len = len(data)
        elif isinstance(v, (list, tuple)):
            val.type = _ARRAY
            if depth >= self.max_depth or not v:
                return
            arr = ffi.new(_VALUE_ARRAY, len(v))
            self.keep.append(arr)
            for i, e in enumerate(v):
                self._fill(arr[i], e, depth + 1)
            val.count = len(v)
            val.array = arr
        elif isinstance(v, Mapping):
            val.type = _KVLIST
            if depth >= self.max_depth or not v:
                return
            kv = ffi.new(_ATTR_ARRAY, len(v))
            self.keep.append(kv)
            for i, (k, e) in enumerate(v.items()):
                self._fill_key(kv[i], k)
                self._fill(kv[i].value, e, depth + 1)
            val.count = len(v)
            val.kvlist = kv
        else:
            val.type = _INVALID
