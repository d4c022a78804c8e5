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


def start(cli: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """Start `ptel send --stats ARGS` in the background."""
    return subprocess.Popen([str(cli), "send", "--stats", *args], env=env, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen[str], timeout_s: float = 120) -> SendResult:
    """Wait for a started `ptel send` and parse its output."""
    begin = time.monotonic()
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"ptel send ran over {timeout_s} s; stderr: {err}")
    lines = out.strip().splitlines()
    assert lines, f"`ptel send` printed nothing; stderr: {err}"
    ids = []
    for line in lines[:-1]:
        m = TRACE_LINE.match(line)
        assert m, f"unexpected output line {line!r}"
        ids.append(m.group(1))
    stats = json.loads(lines[-1])
    return SendResult(proc.returncode, ids, stats, err, time.monotonic() - begin)


def send(cli: Path, env: dict[str, str], *args: str) -> SendResult:
    return finish(start(cli, env, *args))


def running_after(proc: subprocess.Popen[str], seconds: float) -> bool:
    """Whether `proc` is still running `seconds` from now."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return True
    return False
