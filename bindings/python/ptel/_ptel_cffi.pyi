# Type stub for the CFFI extension built by _build.py. The C declarations are
# in _cdef.h; CFFI objects are dynamically typed.
from typing import Any

ffi: Any
lib: Any
