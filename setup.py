"""Build hook for the CFFI extension; the metadata is in pyproject.toml.

`cffi_modules` runs bindings/python/ptel/_build.py, which compiles the C
core's unity file (core/src/ptel.c) into the `ptel._ptel_cffi` extension.
"""

from setuptools import setup

setup(
    cffi_modules=["bindings/python/ptel/_build.py:ffibuilder"],
    # Keep setuptools' work files apart from the CMake build tree.
    options={"build": {"build_base": "build/python"}},
)
