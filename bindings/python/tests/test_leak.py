"""Reference counting and lifetime: memory stays flat over 100 000
recordings (RSS measured), and C objects are freed with their owners."""

from __future__ import annotations

import gc
import os
import sys

import pytest
from conftest import make_context

import ptel

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads RSS from /proc")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def record_once(ctx: ptel.Context, fail: bool = False) -> bytes:
    rec = ptel.Recorder(ctx)
    with rec.span("op", attributes={"a": 1, "s": "value", "l": [1, "x", {"k": b"v"}]}) as s:
        s.add_event("e", {"n": 2.5})
        s.add_link(ptel.SpanContext(bytes(range(1, 17)), bytes(range(1, 9))))
        rec.counter("c", value_type=int).add(1, {"k": "v"})
        rec.histogram("h").record(0.5)
        if fail:  # formatting the traceback is slow: not every time
            try:
                with rec.span("fails"):
                    raise KeyError("x")
            except KeyError:
                pass
    rec.span("left open")
    return rec.finish()


def test_no_leak_over_100000_recordings() -> None:
    ctx = make_context()
    for i in range(5000):  # warm up caches, the interned strings, the allocator
        record_once(ctx, i % 16 == 0)
    gc.collect()
    before = rss()
    size = 0
    for i in range(100_000):
        size += len(record_once(ctx, i % 16 == 0))
    gc.collect()
    growth = rss() - before
    assert size > 0
    # 100 000 recordings of ~1 KiB each would leak ~100 MiB; allow allocator noise.
    assert growth < 8 * 1024 * 1024, f"RSS grew by {growth} bytes"


def test_no_leak_over_host_invocations() -> None:
    def once() -> None:
        inv = ptel.Invocation.begin(None, plugin="p", attributes={"m": "x"})
        rec = ptel.Recorder(inv.context)
        with rec.span("s", attributes={"k": "v"}):
            rec.counter("c").add(1)
        inv.end(rec.finish())
        inv.export_traces({"service.name": "x"})
        inv.export_metrics()
        agg.add(inv)

    agg = ptel.Aggregator()
    for _ in range(2000):
        once()
    gc.collect()
    before = rss()
    for _ in range(20_000):
        once()
    gc.collect()
    assert rss() - before < 8 * 1024 * 1024


def test_objects_are_freed_with_their_owners() -> None:
    import weakref

    ctx = make_context()
    rec = ptel.Recorder(ctx)
    span = rec.span("s")
    refs = [weakref.ref(o) for o in (ctx, rec)]
    del ctx, rec
    gc.collect()
    assert all(r() is not None for r in refs)  # the span holds them
    del span
    gc.collect()
    assert all(r() is None for r in refs)
    inv = ptel.Invocation.begin(None)
    iref = weakref.ref(inv)
    del inv
    gc.collect()
    assert iref() is None
