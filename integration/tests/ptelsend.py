"""Running `ptel send` (the built-in exporter's driver, contract item 3)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TRACE_LINE = re.compile(r"^trace_id=([0-9a-f]{32})$")


@dataclass
class SendResult:
    returncode: int
    trace_ids: list[str]
    stats: dict[str, Any]
    stderr: str
    seconds: float


def require_send(cli: Path) -> None:
    """Skip while the CLI has no `send` command (it lands with the core
    exporter); fail when the CLI itself is missing."""
    assert cli.exists(), f"{cli} is missing: run make build"
    probe = subprocess.run([str(cli), "send", "--help"], capture_output=True, text=True)
    if "unknown command" in probe.stderr:
        pytest.skip("`ptel send` does not exist yet")


def send(cli: Path, env: dict[str, str], *args: str, timeout_s: float = 120) -> SendResult:
    start = time.monotonic()
    p = subprocess.run([str(cli), "send", "--stats", *args], env=env, capture_output=True,
                       text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - start
    lines = p.stdout.strip().splitlines()
    assert lines, f"`ptel send` printed nothing; stderr: {p.stderr}"
    ids = []
    for line in lines[:-1]:
        m = TRACE_LINE.match(line)
        assert m, f"unexpected output line {line!r}"
        ids.append(m.group(1))
    stats = json.loads(lines[-1])
    return SendResult(p.returncode, ids, stats, p.stderr, seconds)
