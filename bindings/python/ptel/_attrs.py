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

Speed: the packing is C (`ptel._speedups.Packer`, see _speedups.c): one
call per batch writes the ``ptel_attr`` array, copies of the strings and the
nested arrays into one buffer that the packer owns and reuses. It only
marshals; what the values become on the wire is decided by the core.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from ._native import ffi
from ._speedups import Packer

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

MAX_DEPTH = 64  # PTEL_HOST_MAX_DEPTH: deeper is never exported

_ATTR_PTR = ffi.typeof("ptel_attr *")
NULL: Any = ffi.NULL


class AttrPacker:
    """Packs attribute batches into a reusable C buffer. Not thread-safe: the
    owner (a Recorder) serialises calls with its lock."""

    __slots__ = ("c_packer", "_pack", "_base", "_attrs", "max_len", "max_depth")

    def __init__(self, max_len: int = 4096, max_depth: int = 8) -> None:
        self.max_len = min(max_len, sys.maxsize) if max_len > 0 else 4096
        self.max_depth = max(0, min(max_depth, MAX_DEPTH))
        self.c_packer = Packer(self.max_len, self.max_depth)
        self._pack = self.c_packer.pack
        self._base = 0
        self._attrs: Any = NULL

    def pack(self, attrs: Mapping[Any, Any] | Iterable[tuple[Any, Any]]) -> tuple[Any, int]:
        """A `ptel_attr *` and count for `attrs`, valid until the next call
        (and while this packer lives)."""
        if type(attrs) is not dict:
            attrs = (list(attrs.items()) if isinstance(attrs, Mapping)
                     else [(k, v) for k, v in attrs])
        n = self._pack(attrs)
        if n == 0:
            return NULL, 0
        base = self.c_packer.address
        if base != self._base:  # the buffer grew
            self._base = base
            self._attrs = ffi.cast(_ATTR_PTR, base)
        return self._attrs, n
