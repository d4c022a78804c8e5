"""A minimal protobuf writer for building host payloads by hand, hostile
ones included (wrong wire types, bad lengths): every helper returns bytes."""
import struct


def varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(field: int, wt: int) -> bytes:
    return varint(field << 3 | wt)


def uint(field: int, v: int) -> bytes:
    return tag(field, 0) + varint(v)


def fixed64(field: int, v: int) -> bytes:
    return tag(field, 1) + struct.pack("<Q", v & (1 << 64) - 1)


def sfixed64(field: int, v: int) -> bytes:
    return tag(field, 1) + struct.pack("<q", v)


def double(field: int, d: float) -> bytes:
    return tag(field, 1) + struct.pack("<d", d)


def fixed32(field: int, v: int) -> bytes:
    return tag(field, 5) + struct.pack("<I", v)


def ld(field: int, data: bytes) -> bytes:
    return tag(field, 2) + varint(len(data)) + data


def s(field: int, text: str) -> bytes:
    return ld(field, text.encode())


def msg(field: int, *parts: bytes) -> bytes:
    return ld(field, b"".join(parts))


# ---- OTLP shapes -------------------------------------------------------------------------

def anyv(v) -> bytes:
    """AnyValue body from a Python value: str, bool, int, float, bytes, list, dict."""
    if isinstance(v, bool):
        return uint(2, int(v))
    if isinstance(v, str):
        return s(1, v)
    if isinstance(v, int):
        return uint(3, v)
    if isinstance(v, float):
        return double(4, v)
    if isinstance(v, (bytes, bytearray)):
        return ld(7, bytes(v))
    if isinstance(v, list):
        return msg(5, *[ld(1, anyv(x)) for x in v])
    if isinstance(v, dict):
        return msg(6, *[kv(1, k, x) for k, x in v.items()])
    if v is None:
        return b""
    raise TypeError(v)


def kv(field: int, key, value) -> bytes:
    k = key.encode() if isinstance(key, str) else key
    return msg(field, ld(1, k), ld(2, anyv(value)))
