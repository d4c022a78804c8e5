"""CFFI declarations and the Python constants module."""

from __future__ import annotations

from pycparser import c_generator
from model import BANNER, Api, Enum, camel, common_prefix


def enum_class_name(enum: Enum) -> str | None:
    if enum.name is None:
        return None
    return camel(enum.name.removeprefix("ptel_"))


def render_cdef(api: Api) -> str:
    gen = c_generator.CGenerator()
    lines = [f"/* {BANNER} */"]
    for node in api.decls:
        lines.append(gen.visit(node) + ";")
    # CFFI must be told the libc allocator exists for the default allocator case.
    return "\n".join(lines) + "\n"


def render_python(api: Api) -> str:
    out = [f'"""{BANNER}."""', "", "from __future__ import annotations", "",
           "import enum", "", f'CORE_VERSION = "{api.version}"', ""]
    for e in api.enums:
        cls = enum_class_name(e)
        if cls is None:
            for name, value in e.members:
                out.append(f"{name.removeprefix('PTEL_')} = {value}")
            out.append("")
            continue
        prefix = common_prefix([n for n, _ in e.members]) if len(e.members) > 1 else "PTEL_"
        out.append(f"class {cls}(enum.IntEnum):")
        for name, value in e.members:
            member = name.removeprefix(prefix) or name
            if member[0].isdigit():
                member = "_" + member
            out.append(f"    {member} = {value}")
        out.append("")
    for table, rows in api.tables.items():
        var = table.removeprefix("PTEL_").removesuffix("_MAP")
        out.append(f"{var}_TABLE: tuple[tuple[str, int, str], ...] = (")
        for name, value, msg in rows:
            out.append(f"    ({name!r}, {value}, {msg!r}),")
        out.append(")")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


