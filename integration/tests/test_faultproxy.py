"""The fault proxy itself, against a small upstream of the standard library:
each fault takes exactly its count of requests, in arming order, and the
record says what the client got."""

from __future__ import annotations

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from collector import free_port
from faultproxy import Fault, FaultProxy


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: list[bytes] = []

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Upstream.bodies.append(body)
        out = b"ok:" + body
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@pytest.fixture
def upstream() -> Iterator[tuple[str, int]]:
    _Upstream.bodies = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield "127.0.0.1", int(srv.server_address[1])
    srv.shutdown()
    srv.server_close()


def post(proxy: FaultProxy, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(*proxy.address, timeout=10)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/x-protobuf"})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_forwards_when_no_fault_is_armed(upstream: tuple[str, int]) -> None:
    with FaultProxy(upstream) as proxy:
        status, headers, body = post(proxy, "/v1/traces", b"abc")
        assert (status, body, headers["content-type"]) == (200, b"ok:abc", "application/x-protobuf")
        (seen,) = proxy.seen()
        assert (seen.path, seen.action, seen.status, seen.body_bytes) == \
            ("/v1/traces", "forwarded", 200, 3)
        assert seen.content_type == "application/x-protobuf"
    assert _Upstream.bodies == [b"abc"]


def test_faults_take_their_count_in_order(upstream: tuple[str, int]) -> None:
    with FaultProxy(upstream) as proxy:
        proxy.arm(Fault("status", 2, status=503))
        proxy.arm(Fault("status", 1, status=429, retry_after="1"))
        assert proxy.armed() == 3
        got = [post(proxy, "/v1/metrics", b"x") for _ in range(4)]
        assert [g[0] for g in got] == [503, 503, 429, 200]
        assert "retry-after" not in got[0][1]
        assert got[2][1]["retry-after"] == "1"
        assert [s.action for s in proxy.seen()] == ["status", "status", "status", "forwarded"]
        assert proxy.armed() == 0 and proxy.arrivals() == 4
    assert _Upstream.bodies == [b"x"]  # the faulted requests never reached it


def test_drop_closes_without_a_response(upstream: tuple[str, int]) -> None:
    with FaultProxy(upstream) as proxy:
        proxy.arm(Fault("drop", 1))
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            post(proxy, "/v1/traces", b"x")
        assert post(proxy, "/v1/traces", b"y")[0] == 200
        assert [(s.action, s.status) for s in proxy.seen()] == [("dropped", 0), ("forwarded", 200)]


def test_delay_forwards_late(upstream: tuple[str, int]) -> None:
    with FaultProxy(upstream) as proxy:
        proxy.arm(Fault("delay", 1, delay_ms=300))
        start = time.monotonic()
        assert post(proxy, "/v1/traces", b"x")[0] == 200
        assert time.monotonic() - start >= 0.3
        assert [s.action for s in proxy.seen()] == ["delayed"]


@pytest.mark.parametrize("mode,expect", [("502", 502), ("drop", None)])
def test_unreachable_upstream(mode: str, expect: int | None) -> None:
    with FaultProxy(("127.0.0.1", free_port()), upstream_error=mode) as proxy:
        if expect is None:
            with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
                post(proxy, "/v1/traces", b"x")
        else:
            assert post(proxy, "/v1/traces", b"x")[0] == expect
        assert [s.action for s in proxy.seen()] == ["upstream_error"]


def test_control_endpoint(upstream: tuple[str, int]) -> None:
    with FaultProxy(upstream) as proxy:
        status, _, body = post(proxy, "/_fault", json.dumps(
            {"kind": "status", "status": 504, "count": 1}).encode())
        assert (status, json.loads(body)) == (200, {"armed": True})
        for bad in ({"kind": "explode", "count": 1}, {"kind": "drop", "count": 0},
                    {"kind": "status", "status": 42, "count": 1}, {"nope": 1}):
            status, _, body = post(proxy, "/_fault", json.dumps(bad).encode())
            assert status == 400, bad
        assert post(proxy, "/v1/traces", b"x")[0] == 504
        conn = http.client.HTTPConnection(*proxy.address, timeout=10)
        conn.request("GET", "/_seen")
        seen = json.loads(conn.getresponse().read())
        conn.close()
        assert [(s["path"], s["status"]) for s in seen] == [("/v1/traces", 504)]
