"""No use-after-free or undefined behaviour under AddressSanitizer and
UndefinedBehaviorSanitizer: the extension is rebuilt with both
(PTEL_PY_SANITIZE=1) into a temporary package and asan_stress.py runs on it
with the ASan runtime preloaded. Set PTEL_PY_SKIP_ASAN=1 to skip (slow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

HERE = Path(__file__).resolve().parent
PACKAGE = ROOT / "bindings" / "python" / "ptel"


def runtime(cc: str, name: str) -> str | None:
    try:
        out = subprocess.run([cc, f"-print-file-name={name}"], capture_output=True, text=True,
                             check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return out if os.path.isabs(out) and os.path.exists(out) else None


@pytest.mark.skipif(os.environ.get("PTEL_PY_SKIP_ASAN") == "1", reason="PTEL_PY_SKIP_ASAN=1")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_stress_under_asan_and_ubsan(tmp_path: Path) -> None:
    cc = os.environ.get("CC", "cc")
    asan = runtime(cc, "libasan.so")
    if asan is None:
        pytest.skip(f"{cc} has no shared ASan runtime")
    pkg = tmp_path / "ptel"
    shutil.copytree(PACKAGE, pkg, ignore=shutil.ignore_patterns("*.so", "*.o", "_ptel_cffi.c",
                                                                 "__pycache__"))
    env = dict(os.environ, PTEL_PY_SANITIZE="1", CC=cc)
    subprocess.run([sys.executable, str(PACKAGE / "_build.py"), "--out", str(pkg), "--tmp",
                    str(tmp_path / "build")], env=env, check=True, capture_output=True)
    run_env = dict(os.environ, LD_PRELOAD=asan, PYTHONPATH=str(tmp_path),
                   ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
                   PYTHONMALLOC="malloc")
    proc = subprocess.run([sys.executable, str(HERE / "asan_stress.py")], env=run_env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert "asan stress ok" in proc.stdout
    assert "runtime error" not in proc.stderr  # UBSan reports
