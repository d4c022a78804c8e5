"""W3C vectors (README section 5). The value-level cases of the official
w3c/trace-context harness (test/test.py) are the tables of
core/tests/test_w3c.c, dumped by w3c_tables.c so there is one list; limit
cases for tracestate and baggage are added here."""
import json
import os
import re
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _tables():
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "w3c_tables")
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "core/include"),
                        "-I" + os.path.join(ROOT, "core/src"),
                        "-I" + os.path.join(ROOT, "core/tests"), "-o", exe,
                        os.path.join(HERE, "w3c_tables.c"), os.path.join(ROOT, "core/src/ptel.c"),
                        "-lm", "-lpthread"], check=True, capture_output=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s or "x"


def _case(prefix, ids, name, data: bytes, level, header, comment):
    id = prefix + "_" + _slug(name)
    base, n = id, 2
    while id in ids:
        id = f"{base}_{n}"
        n += 1
    ids.add(id)
    c = {"id": id, "comment": comment, "level": level, "header": header}
    try:
        c["input"] = data.decode("utf-8")
    except UnicodeDecodeError:
        c["input_hex"] = data.hex()
    return c


def _rows(table):
    return [(bytes.fromhex(r["name"]).decode("utf-8"), bytes.fromhex(r["in"]))
            for r in _tables() if r["table"] == table]


def traceparent():
    ids, out = set(), []
    for name, data in _rows("traceparent"):
        m = re.match(rb"\s*[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-([0-9a-f]{2})", data)
        level2 = bool(m and int(m.group(1), 16) & 2) or "Level 2" in name
        out.append(_case("tp", ids, name, data, "trace-context-2" if level2 else "trace-context-1",
                         "traceparent", f"W3C trace-context harness: {name}."))
    return "traceparent", "traceparent values of the W3C trace-context test suite.", out


def tracestate():
    ids, out = set(), []
    for name, data in _rows("tracestate"):
        level2 = b"@" in data.split(b"=")[0] or "@" in name or "digit first" in name
        out.append(_case("ts", ids, name, data, "trace-context-2" if level2 else "trace-context-1",
                         "tracestate", f"W3C trace-context harness: {name}."))

    def add(name, text, comment, level="trace-context-1"):
        out.append(_case("ts", ids, name, text.encode(), level, "tracestate", comment))

    add("32 members", ",".join(f"k{n}=v" for n in range(32)), "32 members: the maximum, valid.")
    add("33 members", ",".join(f"k{n}=v" for n in range(33)), "33 members: the header is invalid.")
    add("key 256", "a" * 256 + "=v", "A 256-character key is valid.", "trace-context-2")
    add("key 257", "a" * 257 + "=v", "A 257-character key is invalid.", "trace-context-2")
    add("value 256", "k=" + "v" * 256, "A 256-character value is valid.")
    add("value 257", "k=" + "v" * 257, "A 257-character value is invalid.")
    long = [f"l{n}=" + "x" * 200 for n in range(3)]
    short = [f"s{n}=" + "y" * 20 for n in range(10)]
    add("truncation long members first", ",".join(short[:5] + long + short[5:]),
        "Over 512 characters: members longer than 128 go first, right-most first.")
    add("truncation right most", ",".join(f"k{n:02d}=" + "z" * 40 for n in range(14)),
        "Over 512 characters with only short members: right-most members go.")
    return "tracestate", "tracestate values: the W3C harness and the length limits.", out


def baggage():
    ids, out = set(), []
    for name, data in _rows("baggage"):
        out.append(_case("bg", ids, name, data, "baggage", "baggage",
                         f"W3C Baggage: {name}."))

    def add(name, text, comment):
        out.append(_case("bg", ids, name, text.encode(), "baggage", "baggage", comment))

    add("64 members", ",".join(f"k{n}=v" for n in range(64)), "64 members: all kept.")
    add("65 members", ",".join(f"k{n}=v" for n in range(65)),
        "65 members: the 65th is dropped whole.")
    m = "k=" + "v" * (8192 - 2)
    add("8192 bytes", m, "One member of exactly 8192 bytes is kept.")
    add("8193 bytes", "k=" + "v" * (8193 - 2), "One member of 8193 bytes is dropped: empty result.")
    add("limit in second member", "a=1," + "b=" + "v" * 8190,
        "The second member would pass 8192 bytes: it is dropped, the first kept.")
    add("properties count toward length", "a=1;" + "p" * 8200, "A property makes the member too "
        "long: dropped.")
    return "baggage", "baggage values: W3C Baggage grammar and its limits.", out


GROUPS = [traceparent, tracestate, baggage]
