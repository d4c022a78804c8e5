"""Fixtures of the collector integration test: the collector binary (built
and cached by integration/build-collector.sh unless PTEL_OTELCOL names one),
a running collector per test, and the ptel CLI (PTEL_CLI, default
build/bin/ptel)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from collector import Collector  # noqa: E402


@pytest.fixture(scope="session")
def otelcol() -> str:
    given = os.environ.get("PTEL_OTELCOL")
    if given:
        return given
    out = subprocess.run(["bash", str(ROOT / "integration" / "build-collector.sh")],
                         check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture
def collector(otelcol: str, tmp_path: Path) -> Iterator[Collector]:
    c = Collector(otelcol, tmp_path)
    c.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def stopped_collector(otelcol: str, tmp_path: Path) -> Iterator[Collector]:
    """A collector that the test starts itself."""
    c = Collector(otelcol, tmp_path)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="session")
def ptel_cli() -> Path:
    return Path(os.environ.get("PTEL_CLI", ROOT / "build" / "bin" / "ptel")).resolve()
