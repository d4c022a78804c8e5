"""Build hook for the CFFI extension; the metadata is in pyproject.toml.

`cffi_modules` runs bindings/python/ptel/_build.py, which compiles the C
core's unity file (core/src/ptel.c) into the `ptel._ptel_cffi` extension;
the same file defines `ptel._speedups` (bindings/python/ptel/_speedups.c),
a small CPython extension for the disabled path and attribute packing.
"""

import importlib.util
from pathlib import Path

from setuptools import setup

_spec = importlib.util.spec_from_file_location(
    "ptel_build", Path(__file__).resolve().parent / "bindings/python/ptel/_build.py")
assert _spec is not None and _spec.loader is not None
_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_build)

setup(
    cffi_modules=["bindings/python/ptel/_build.py:ffibuilder"],
    ext_modules=[_build.speedups_extension()],
    # Keep setuptools' work files apart from the CMake build tree.
    options={"build": {"build_base": "build/python"}},
)
