"""Shared by the Python host and plugin of the matrix: the framing and the
deterministic clock and ids of conformance/matrix/README.md."""

from __future__ import annotations

import struct

import ptel

TIME_BASE = 1_700_000_000_000_000_000
MAX_PAYLOAD = 4 * 1024 * 1024


class ManualClock(ptel.Clock):
    """Monotonic time set by the caller; realtime = TIME_BASE + monotonic."""

    def __init__(self) -> None:
        self.mono = 0

    def monotonic_ns(self) -> int:
        return self.mono

    def realtime_ns(self) -> int:
        return TIME_BASE + self.mono


class CountingIds(ptel.IdGenerator):
    """Ids all zero but the first byte (`first`) and the last, a counter."""

    def __init__(self, first: int = 0) -> None:
        self.first = first
        self.next = 0

    def generate(self, n: int) -> bytes:
        self.next += 1
        return bytes([self.first]) + bytes(n - 2) + bytes([self.next & 0xFF])


def frame(data: bytes) -> bytes:
    """One frame: 4-byte little-endian length, then the bytes."""
    return struct.pack("<I", len(data)) + data


def unframe(data: bytes, limit: int = MAX_PAYLOAD) -> bytes | None:
    """The body of exactly one frame, or None when `data` is not one."""
    if len(data) < 4:
        return None
    (n,) = struct.unpack("<I", data[:4])
    if n > limit or n != len(data) - 4:
        return None
    return data[4:]
