"""A real OpenTelemetry Collector (integration/collector) on loopback: the
OTLP/HTTP receiver on a free port and the file exporter writing OTLP/JSON
lines. Each start writes its own file, so a restarted collector never
truncates what the previous run wrote."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

CONFIG = """\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{port}
exporters:
  file:
    path: {path}
    flush_interval: 50ms
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
    metrics:
      receivers: [otlp]
      exporters: [file]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(pred: Callable[[], Any], timeout_s: float, what: str, step_s: float = 0.05) -> Any:
    """Poll `pred` until it returns something truthy; fail after `timeout_s`."""
    end = time.monotonic() + timeout_s
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(step_s)


class Collector:
    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.proc is None, "collector already running"
        self.runs += 1
        cfg = self.workdir / f"collector-{self.runs}.yaml"
        out = self.workdir / f"collector-{self.runs}.jsonl"
        cfg.write_text(CONFIG.format(port=self.port, path=out))
        log = open(self.workdir / f"collector-{self.runs}.log", "wb")
        self.proc = subprocess.Popen([self.binary, "--config", str(cfg)], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        wait_for(self._listening, 30, "the collector to listen")

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"collector exited with {self.proc.returncode}: "
                                 + self.log_tail())
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the collector. SIGTERM lets it flush its file; the OTLP
        receiver answers only after the file exporter took the data, but
        the file is buffered, so SIGKILL could lose acknowledged data on
        the collector's side, which is not what the tests are about."""
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log_tail(self) -> str:
        path = self.workdir / f"collector-{self.runs}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def lines(self) -> list[dict[str, Any]]:
        """Every OTLP/JSON line written so far, across restarts."""
        out: list[dict[str, Any]] = []
        for run in range(1, self.runs + 1):
            path = self.workdir / f"collector-{run}.jsonl"
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                # A line still being written by the buffered file is incomplete.
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue
        return out


def collector_env(endpoint: str, service: str, extra: dict[str, str] | None = None
                  ) -> dict[str, str]:
    """The environment an exporting program gets: the process's, minus any
    OTEL_* it had, plus the endpoint and resource of the test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update({
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": service,
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=it,host.name=ptel-it",
    })
    env.update(extra or {})
    return env
