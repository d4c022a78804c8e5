"""CFFI out-of-line API-mode builder for the `ptel._ptel_cffi` extension,
and the definition of the small `ptel._speedups` extension next to it.

The extension compiles the core's unity file (core/src/ptel.c) from source,
so installing the package needs a C compiler and nothing else: no CMake, no
system library. The declarations come from `_cdef.h`, generated from the
public header by codegen/ (`make generate`); only the callbacks that Python
implements (`extern "Python"`) are declared here.

`ptel._speedups` (_speedups.c) is a plain CPython extension that makes the
disabled path and attribute packing cheap; it includes only the core's
public header for its struct types and calls no core function.

Run by setuptools through `cffi_modules` (see setup.py, which also builds
`speedups_extension()`); running this file directly builds both extensions
in place for development:

    python bindings/python/ptel/_build.py [--out DIR] [--tmp DIR]

PTEL_PY_SANITIZE=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer
(the tests do, for their use-after-free run).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from cffi import FFI
from setuptools import Distribution, Extension

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
CORE = ROOT / "core"
IN_PLACE = __name__ == "__main__"

# Callbacks into Python. `ud` is an ffi.new_handle() of the Python object.
CALLBACKS = """
extern "Python" uint64_t _ptel_py_monotonic_ns(void *ud);
extern "Python" uint64_t _ptel_py_realtime_ns(void *ud);
extern "Python" void _ptel_py_fill_id(void *ud, uint8_t *out, size_t len);
extern "Python" const char *_ptel_py_getenv(void *ud, const char *name);
"""


def _path(path: Path) -> str:
    """Paths relative to the repository root, where setup.py runs, so that
    object files land under setuptools' build directory. The in-place build
    runs the compiler from its temporary directory: absolute paths there."""
    return str(path) if IN_PLACE else os.path.relpath(path, ROOT)


def _sources() -> list[str]:
    """The unity file, plus any module it does not (yet) include, so that a
    module added to core/src/ builds even before ptel.c lists it."""
    unity = CORE / "src" / "ptel.c"
    included = set(re.findall(r'^#include "([^"]+\.c)"', unity.read_text(), re.M))
    extra = sorted(p for p in (CORE / "src").glob("*.c")
                   if p.name != "ptel.c" and p.name not in included)
    return [_path(p) for p in [unity, *extra]]


def _depends() -> list[str]:
    """Every file the unity build reads: setuptools rebuilds the extension
    when one is newer than it (it would otherwise look at ptel.c alone)."""
    files = [*(CORE / "src").glob("*.[ch]"), *(CORE / "include" / "ptel").glob("*.h")]
    return [_path(p) for p in sorted(files)]


def _flags() -> tuple[list[str], list[str]]:
    compile_args: list[str] = []
    link_args: list[str] = []
    if sys.platform != "win32":
        compile_args += ["-std=c11", "-fvisibility=hidden"]
        link_args += ["-pthread"]
    if os.environ.get("PTEL_PY_SANITIZE"):
        san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
               "-fno-omit-frame-pointer", "-O1", "-g"]
        compile_args += san
        link_args += san
    return compile_args, link_args


def speedups_extension() -> Extension:
    """The `ptel._speedups` extension (_speedups.c and the parts it
    includes; no core sources)."""
    compile_args, link_args = _flags()
    parts = sorted(HERE.glob("_speedups_*.c"))  # included by _speedups.c
    headers = sorted((CORE / "include" / "ptel").glob("*.h"))
    return Extension("ptel._speedups", sources=[_path(HERE / "_speedups.c")],
                     depends=[_path(p) for p in [*parts, *headers]],
                     include_dirs=[_path(CORE / "include")],
                     extra_compile_args=compile_args, extra_link_args=link_args)


ffibuilder = FFI()
ffibuilder.cdef((HERE / "_cdef.h").read_text() + CALLBACKS)
_compile_args, _link_args = _flags()
ffibuilder.set_source(
    "ptel._ptel_cffi",
    '#include "ptel/ptel.h"\n',
    sources=_sources(),
    depends=_depends(),
    include_dirs=[_path(CORE / "include"), _path(CORE / "src")],
    define_macros=[("_GNU_SOURCE", None)],
    extra_compile_args=_compile_args,
    extra_link_args=_link_args,
)

if IN_PLACE:
    import argparse
    import shutil

    ap = argparse.ArgumentParser(description="build the ptel extension in place")
    ap.add_argument("--out", type=Path, default=HERE, help="directory for the extension")
    ap.add_argument("--tmp", type=Path, default=ROOT / "build" / "python" / "inplace",
                    help="directory for the generated C and the objects")
    args = ap.parse_args()
    out_dir, tmp = args.out.resolve(), args.tmp.resolve()
    os.chdir(ROOT)
    so = ffibuilder.compile(tmpdir=str(tmp), verbose=bool(os.environ.get("VERBOSE")))
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(so, out_dir / Path(so).name)
    build_ext = Distribution({"ext_modules": [speedups_extension()]}).get_command_obj("build_ext")
    build_ext.build_lib = str(tmp / "lib")
    build_ext.build_temp = str(tmp / "speedups")
    build_ext.ensure_finalized()
    build_ext.run()
    built = Path(build_ext.get_ext_fullpath("ptel._speedups"))
    shutil.copy(built, out_dir / built.name)
