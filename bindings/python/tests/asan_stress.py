"""Lifetime stress run by test_asan.py against the extension built with
AddressSanitizer and UndefinedBehaviorSanitizer: every object outliving or
dying before the ones it depends on, in many orders. Any use-after-free,
overflow or undefined behaviour aborts the process with a report."""

from __future__ import annotations

import contextvars
import gc
import random
import threading

import ptel

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def plugin(ctx: ptel.Context, rnd: random.Random) -> tuple[bytes, list[object]]:
    rec = ptel.Recorder(ctx, clock=None if rnd.random() < 0.5 else _Clock(),
                        id_generator=None if rnd.random() < 0.5 else _Ids())
    kept: list[object] = []
    with rec.span("root", attributes={"a": [1, {"b": b"x" * rnd.randrange(50)}],
                                      "s": "y" * rnd.randrange(5000)}) as root:
        for i in range(rnd.randrange(5)):
            s = rec.span(f"c{i}", attributes={"i": i, "big": 2**70})
            s.add_event("e", {"k": "v" * rnd.randrange(100)})
            s.add_link(root, {"l": 1})
            if rnd.random() < 0.5:
                s.end()
            kept.append(s)
        rec.counter("c", value_type=int).add(1, {"k": str(rnd.randrange(3))})
        rec.histogram("h", bounds=[1, 2]).record(rnd.random() * 3)
        kept.append(rec.gauge("g"))
    payload = rec.finish()
    if rnd.random() < 0.5:
        kept.append(rec)
    return payload, kept


class _Clock(ptel.Clock):
    def __init__(self) -> None:
        self.t = 0

    def monotonic_ns(self) -> int:
        self.t += 10
        return self.t


class _Ids(ptel.IdGenerator):
    def generate(self, n: int) -> bytes:
        return random.randbytes(n)


def hostile() -> None:
    """The C marshalling (ptel._speedups) with containers that change while
    they are packed, and spans ended in another thread than they began."""
    rec = ptel.Recorder(ptel.Context.from_traceparent(TP))
    attrs: dict[str, object] = {}
    items: list[object] = []

    class Clears(int):
        def __int__(self) -> int:
            items.clear()
            attrs.clear()
            return 1

    for i in range(200):
        items[:] = [Clears(0), "x" * i, [b"y" * i, {"k": Clears(1)}]]
        attrs.update(a=items, b=Clears(2), c="z" * (i * 37))
        with rec.span("h", attributes=attrs) as s:
            s.set_attributes({"n": items, "m": Clears(3)})
        attrs.update(a=Clears(4), b=items)
        rec.counter("n").add(1, attrs)
    here = contextvars.copy_context()  # the spans stay current there only
    opened = [here.run(rec.span(f"o{i}", attributes={"i": i}).__enter__) for i in range(20)]
    enders = [threading.Thread(target=s.__exit__, args=(None, None, None)) for s in opened]
    for t in enders:
        t.start()
    for t in enders:
        t.join()
    assert len(rec.finish()) > 0


def main() -> None:
    rnd = random.Random(1)
    survivors: list[object] = []
    agg = ptel.Aggregator()
    for round_ in range(400):
        inv = ptel.Invocation.begin(TP if rnd.random() < 0.5 else None, plugin="p",
                                    attributes={"m": "x"})
        ctx = inv.context
        payload, kept = plugin(ctx, rnd)
        del ctx
        gc.collect()
        for obj in kept:  # spans and instruments used after the recorder is gone
            if isinstance(obj, ptel.Span):
                obj.set_attribute("late", 1)
                obj.end()
            elif isinstance(obj, ptel.Gauge):
                obj.set(1.0)
        buf = bytearray(payload)
        inv.end(buf)
        buf[:] = b"\0" * len(buf)  # the invocation keeps its own copy
        inv.export_traces({"service.name": "s"})
        inv.export_metrics()
        agg.add(inv)
        if round_ % 3 == 0:
            inv.close()
            try:
                inv.export_traces()
            except ptel.StateError:
                pass
        else:
            survivors.append(inv)
        survivors.extend(kept)
        if len(survivors) > 50:
            rnd.shuffle(survivors)
            del survivors[:25]
            gc.collect()
        # Truncated and corrupted payloads through the host.
        bad = ptel.Invocation.begin(None)
        cut = payload[: rnd.randrange(len(payload) + 1)]
        bad.end(bytes(b ^ (rnd.random() < 0.01) for b in cut))
        bad.export_traces()
    agg.export()

    hostile()
    rec = ptel.Recorder(ptel.Context.from_traceparent(TP))

    def worker() -> None:
        for i in range(300):
            with rec.span("t", attributes={"i": i}) as s:
                s.add_event("e")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(rec.finish()) > 0
    print("asan stress ok")


if __name__ == "__main__":
    main()
