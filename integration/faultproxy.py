"""A fault-injecting HTTP proxy for OTLP/HTTP (standard library only).

It forwards POSTs to an upstream (the collector) and, while a fault is
armed, answers the next requests itself instead: an HTTP status (503, 429
with Retry-After, ...), a delay before forwarding, or a dropped connection
(the socket is closed without a response). Every request is recorded with
its arrival time and what the proxy did, so a test can assert the client's
retry timing.

Faults are armed in process (`FaultProxy.arm`) or, when run as a program,
through the control endpoint:

    python3 integration/faultproxy.py --listen 127.0.0.1:0 --upstream 127.0.0.1:4318
    curl -X POST localhost:PORT/_fault -d '{"kind": "status", "status": 503, "count": 3}'
    curl localhost:PORT/_seen        # the record, as JSON

The first line the program prints is `listening on HOST:PORT`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded.
_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "content-length"}

KINDS = ("status", "delay", "drop")


@dataclass
class Fault:
    """What to do to the next `count` requests: `status` answers `status`
    (with `retry_after` as a Retry-After header when set), `delay` waits
    `delay_ms` and then forwards, `drop` closes the connection unanswered."""

    kind: str
    count: int
    status: int = 503
    retry_after: str | None = None
    delay_ms: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.count < 1:
            raise ValueError("count must be at least 1")
        if self.kind == "status" and not 100 <= self.status <= 599:
            raise ValueError(f"bad status {self.status}")


@dataclass
class Seen:
    """One request as the proxy saw it. `action` is `forwarded`,
    `status`, `delayed` (then forwarded), `dropped` or `upstream_error`
    (the upstream could not be reached: answered 502 or dropped, see
    `FaultProxy`)."""

    time: float
    path: str
    content_type: str
    content_encoding: str
    body_bytes: int
    action: str
    status: int  # what the client got; 0 when the connection was dropped


@dataclass
class _State:
    faults: list[Fault] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    arrivals: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the record is the log

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/_seen":
            self._reply_json(200, [asdict(s) for s in self.server.proxy.seen()])
        else:
            self._reply_json(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if self.path == "/_fault":
            try:
                self.server.proxy.arm(Fault(**json.loads(body or b"{}")))
            except (TypeError, ValueError) as e:
                self._reply_json(400, {"error": str(e)})
                return
            self._reply_json(200, {"armed": True})
            return
        proxy = self.server.proxy
        fault = proxy._take()  # also counts the arrival
        now = time.monotonic()
        seen = Seen(now, self.path, self.headers.get("Content-Type", ""),
                    self.headers.get("Content-Encoding", ""), len(body), "forwarded", 0)
        if fault is not None and fault.kind == "drop":
            seen.action = "dropped"
            proxy._record(seen)
            self._drop()
            return
        if fault is not None and fault.kind == "status":
            seen.action, seen.status = "status", fault.status
            proxy._record(seen)
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._reply(fault.status, b"", "text/plain", headers)
            return
        if fault is not None and fault.kind == "delay":
            seen.action = "delayed"
            time.sleep(fault.delay_ms / 1000)
        try:
            status, resp_headers, resp_body = proxy._forward(self.path, self.headers, body)
        except OSError:
            seen.action = "upstream_error"
            proxy._record(seen)
            if proxy.upstream_error == "drop":
                self._drop()
            else:
                seen.status = 502
                self._reply(502, b"", "text/plain", {})
            return
        seen.status = status
        proxy._record(seen)
        self._reply(status, resp_body, resp_headers.get("content-type", ""), {
            k: v for k, v in resp_headers.items() if k not in _HOP and k != "content-type"})

    def _drop(self) -> None:
        """Close the connection without a response, as a dead server would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _reply(self, status: int, body: bytes, ctype: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        try:
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout): it is told nothing, as by a
            # real server.
            self.close_connection = True

    def _reply_json(self, status: int, obj: Any) -> None:
        self._reply(status, json.dumps(obj).encode(), "application/json", {})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: "FaultProxy"


class FaultProxy:
    """The proxy, serving on a background thread until `close`."""

    def __init__(self, upstream: tuple[str, int], listen: tuple[str, int] = ("127.0.0.1", 0),
                 timeout_s: float = 10.0, upstream_error: str = "502") -> None:
        """`upstream_error` is what a client gets when the upstream cannot
        be reached: "502" (a gateway's answer) or "drop" (the connection
        closes unanswered, as if the client had reached the dead server)."""
        if upstream_error not in ("502", "drop"):
            raise ValueError(f"bad upstream_error {upstream_error!r}")
        self.upstream = upstream
        self.upstream_error = upstream_error
        self.timeout_s = timeout_s
        self._state = _State()
        self._server = _Server(listen, _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def arm(self, fault: Fault) -> None:
        """Queue a fault behind those already armed."""
        with self._state.lock:
            self._state.faults.append(fault)

    def armed(self) -> int:
        """Requests that armed faults will still take."""
        with self._state.lock:
            return sum(f.count for f in self._state.faults)

    def arrivals(self) -> int:
        """POSTs received so far (recorded in `seen` once answered)."""
        with self._state.lock:
            return self._state.arrivals

    def seen(self) -> list[Seen]:
        with self._state.lock:
            return list(self._state.seen)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take(self) -> Fault | None:
        with self._state.lock:
            self._state.arrivals += 1
            if not self._state.faults:
                return None
            fault = self._state.faults[0]
            fault.count -= 1
            if fault.count == 0:
                self._state.faults.pop(0)
            return fault

    def _record(self, seen: Seen) -> None:
        with self._state.lock:
            self._state.seen.append(seen)

    def _forward(self, path: str, headers: Any, body: bytes
                 ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=self.timeout_s)
        try:
            fwd = {k: v for k, v in headers.items() if k.lower() not in _HOP}
            conn.request("POST", path, body=body, headers=fwd)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", type=_hostport, default=("127.0.0.1", 0))
    ap.add_argument("--upstream", type=_hostport, required=True)
    ap.add_argument("--upstream-error", choices=("502", "drop"), default="502")
    args = ap.parse_args(argv)
    proxy = FaultProxy(args.upstream, args.listen, upstream_error=args.upstream_error)
    print("listening on %s:%d" % proxy.address, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        proxy.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
