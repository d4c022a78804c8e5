"""The Python binding's generated glue.

Writes
  * bindings/python/ptel/_cdef.h: the CFFI declarations, every declaration of
    the public header in order (pycparser output);
  * bindings/python/ptel/_generated.py: one IntEnum per named C enum, module
    constants for anonymous enums, the status and reason tables, and one
    exception class per error status of PTEL_STATUS_MAP (subclasses of
    ptel.PtelError, defined in ptel/_errorbase.py) with ERRORS_BY_STATUS.
"""

from __future__ import annotations

import builtins
import re

from pycparser import c_generator
from model import BANNER, Api, Enum, camel, common_prefix

# Enum members that would not be valid or readable Python identifiers.
_KEYWORDS = {"None", "True", "False"}


def enum_class_name(enum: Enum) -> str | None:
    if enum.name is None:
        return None
    return camel(enum.name.removeprefix("ptel_"))


def error_class_name(status: str) -> str:
    """E_INVALID_ARGUMENT -> InvalidArgumentError. A name that would shadow a
    Python builtin (NameError, ValueError) gets the Ptel prefix."""
    name = camel(status.removeprefix("E_").lower()) + "Error"
    return "Ptel" + name if hasattr(builtins, name) else name


def render_cdef(api: Api) -> str:
    gen = c_generator.CGenerator()
    lines = [f"/* {BANNER} */"]
    for node in api.decls:
        lines.append(gen.visit(node) + ";")
    return "\n".join(lines) + "\n"


def _render_enums(api: Api, out: list[str]) -> None:
    for e in api.enums:
        cls = enum_class_name(e)
        if cls is None:
            for name, value in e.members:
                out.append(f"{name.removeprefix('PTEL_')} = {value}")
            out.append("")
            continue
        prefix = common_prefix([n for n, _ in e.members]) if len(e.members) > 1 else "PTEL_"
        out.append("")
        out.append(f"class {cls}(enum.IntEnum):")
        out.append(f'    """C enum {e.name}."""')
        out.append("")
        for name, value in e.members:
            member = name.removeprefix(prefix) or name
            if member[0].isdigit() or member in _KEYWORDS:
                member = "_" + member
            out.append(f"    {member} = {value}")
        out.append("")
        out.append("")


def _render_errors(api: Api, out: list[str]) -> None:
    rows = [r for r in api.tables.get("PTEL_STATUS_MAP", []) if r[1] != 0]
    out.append("")
    for name, value, msg in rows:
        cls = error_class_name(name)
        out.append(f"class {cls}(PtelError):")
        out.append(f'    """{msg[0].upper() + msg[1:]} (PTEL_{name}, {value})."""')
        out.append("")
        out.append(f"    status_code = {value}")
        out.append("")
        out.append("")
    out.append("ERRORS_BY_STATUS: dict[int, type[PtelError]] = {")
    for name, value, _ in rows:
        out.append(f"    {value}: {error_class_name(name)},")
    out.append("}")
    out.append("")


def render_python(api: Api) -> str:
    out = [f'"""{BANNER}."""', "", "from __future__ import annotations", "",
           "import enum", "", "from ._errorbase import PtelError", "",
           f'CORE_VERSION = "{api.version}"', ""]
    _render_enums(api, out)
    for table, rows in api.tables.items():
        if table == "PTEL_REASON_MAP":
            continue
        var = table.removeprefix("PTEL_").removesuffix("_MAP")
        out.append(f"{var}_TABLE: tuple[tuple[str, int, str], ...] = (")
        for name, value, msg in rows:
            out.append(f"    ({name!r}, {value}, {msg!r}),")
        out.append(")")
        out.append("")
    out.append("# (NAME, value, stable snake_case name, message)")
    out.append("REASON_TABLE: tuple[tuple[str, int, str, str], ...] = (")
    for name, value, snake, msg in api.tables.get("PTEL_REASON_MAP", []):
        out.append(f"    ({name!r}, {value}, {snake!r}, {msg!r}),")
    out.append(")")
    out.append("")
    _render_errors(api, out)
    names = []
    for line in out:
        m = re.match(r"(?:class )?([A-Za-z][A-Za-z0-9_]*)(?:\(| =|:)", line)
        if m and m.group(1) not in names:
            names.append(m.group(1))
    out.append("__all__ = [")
    out.extend(f"    {n!r}," for n in names)
    out.append("]")
    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n\n", text)  # two blank lines between top-level blocks
    return text.rstrip() + "\n"
