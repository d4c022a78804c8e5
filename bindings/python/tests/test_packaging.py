"""`pip wheel .` at the repository root builds a wheel holding the compiled
extensions, the typed package and no C sources. Set PTEL_PY_SKIP_WHEEL=1 to
skip (it compiles the core, which takes a while)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT


@pytest.mark.skipif(os.environ.get("PTEL_PY_SKIP_WHEEL") == "1", reason="PTEL_PY_SKIP_WHEEL=1")
def test_pip_wheel(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("ptel-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for ext in ("ptel/_ptel_cffi", "ptel/_speedups"):  # the core, and the C hot paths
        assert any(n.startswith(ext) and n.endswith((".so", ".pyd")) for n in names), ext
    for name in ("ptel/__init__.py", "ptel/py.typed", "ptel/_ptel_cffi.pyi", "ptel/recorder.py",
                 "ptel/host.py", "ptel/_generated.py", "ptel/_speedups.pyi"):
        assert name in names
    assert not any(n.endswith(".c") for n in names)
    meta = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "Requires-Python: >=3.10" in text and "Name: ptel" in text
