"""ptel-sys FFI declarations with layout tests.

Renders bindings/rust/ptel-sys/src/bindings.rs from the model:

* enums become a type alias plus one `pub const` per member: `u32` when every
  member is non-negative (the API passes enum values as `uint32_t`), `c_int`
  otherwise (the status codes); anonymous constant groups become `u32`
  constants of their own;
* structs become `#[repr(C)]` structs with `Debug`, `Copy`, `Clone` and an
  all-zero `Default` (every public struct is valid zeroed: NULL pointers, no
  callbacks, false, 0);
* opaque handles become zero-sized `#[repr(C)]` types that are neither Send,
  Sync nor Unpin;
* functions become one `extern "C"` block;
* the status table (PTEL_STATUS_MAP) becomes `PTEL_STATUS_TABLE`;
* the doc comment of every function, type, constant and field is carried over
  from the header as a `text` block (so rustdoc neither runs nor reformats it);
* layout tests assert sizeof, alignof and offsetof as the C compiler measured
  them (on x86-64 Linux, where the generator runs).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

from pycparser import c_ast

from model import BANNER, HEADER_DIR, Api, const_value

RUST_PRIM = {
    "bool": "bool", "size_t": "usize", "int8_t": "i8", "uint8_t": "u8",
    "int16_t": "i16", "uint16_t": "u16", "int32_t": "i32", "uint32_t": "u32",
    "int64_t": "i64", "uint64_t": "u64", "uintptr_t": "usize", "char": "::core::ffi::c_char",
    "int": "::core::ffi::c_int", "double": "f64", "void": "::core::ffi::c_void",
    "unsigned int": "::core::ffi::c_uint",
}


# ---- doc comments from the header text --------------------------------------


class Docs:
    """Finds the doc comment of a declaration in the header sources."""

    def __init__(self) -> None:
        self.text = "\n".join(p.read_text() for p in sorted((HEADER_DIR / "ptel").glob("*.h")))

    @staticmethod
    def clean(raw: str) -> list[str]:
        body = raw.strip()
        body = re.sub(r"^/\*\*<?", "", body)
        body = re.sub(r"\*/$", "", body)
        lines = []
        for line in body.splitlines():
            line = line.rstrip()
            line = re.sub(r"^\s*\* ?", "", line) if re.match(r"^\s*\*", line) else line.strip()
            lines.append(line)
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        return lines

    def before(self, pos: int) -> list[str]:
        """The `/** ... */` block that ends right before `pos` (whitespace between)."""
        head = self.text[:pos].rstrip()
        if not head.endswith("*/"):
            return []
        start = head.rfind("/*")
        if start < 0 or not head.startswith("/**", start) or head.startswith("/**<", start):
            return []
        return self.clean(head[start:])

    def line_start(self, pos: int) -> int:
        return self.text.rfind("\n", 0, pos) + 1

    def function(self, name: str) -> list[str]:
        m = re.search(rf"^PTEL_API\b[^;]*?\b{name}\s*\(", self.text, re.M | re.S)
        return self.before(m.start()) if m else []

    def typedef(self, name: str) -> list[str]:
        m = re.search(rf"^typedef\s+(?:struct|enum)\s+{name}\b", self.text, re.M)
        if not m:
            m = re.search(rf"^typedef\b[^;]*\b{name}\b", self.text, re.M)
        return self.before(m.start()) if m else []

    def member(self, name: str) -> list[str]:
        """An enum member's trailing `/**< */` or its preceding `/** */`."""
        m = re.search(rf"\b{name}\s*=[^\n,]*,?[ \t]*(/\*\*<.*?\*/)", self.text, re.S)
        if m:
            return self.clean(m.group(1))
        m = re.search(rf"^[ \t]*{name}\s*=", self.text, re.M)
        return self.before(m.start()) if m else []

    def field(self, struct: str, name: str) -> list[str]:
        m = re.search(rf"typedef struct {struct}\s*\{{(.*?)\}}\s*{struct};", self.text, re.S)
        if not m:
            return []
        body = m.group(1)
        f = re.search(rf"[\s\*]{name}(\[[^\]]*\])?;[ \t]*(/\*\*<.*?\*/)", body, re.S)
        if f:
            return self.clean(f.group(2))
        f = re.search(rf"^[^\n;]*[\s\*\)]{name}(\[[^\]]*\])?;", body, re.M)
        if not f:
            f = re.search(rf"\(\*{name}\)", body)
        if f:
            head = body[: f.start()].rstrip()
            if head.endswith("*/"):
                start = head.rfind("/**")
                if start >= 0 and not head.startswith("/**<", start):
                    return self.clean(head[start:])
        return []


def doc_lines(lines: list[str], indent: str = "") -> list[str]:
    if not lines:
        return []
    if len(lines) == 1 and not re.search(r"[\[\]<>]", lines[0]):
        return [f"{indent}/// {lines[0]}".rstrip()]
    out = [f"{indent}/// ```text"]
    for line in lines:
        out.append(f"{indent}/// {line}".rstrip())
    out.append(f"{indent}/// ```")
    return out


# ---- types ------------------------------------------------------------------


def rust_type(node: c_ast.Node, api: Api) -> str:
    if isinstance(node, c_ast.TypeDecl):
        return rust_type(node.type, api)
    if isinstance(node, c_ast.IdentifierType):
        name = " ".join(node.names)
        if name in RUST_PRIM:
            return RUST_PRIM[name]
        return name
    if isinstance(node, c_ast.Struct):
        return node.name
    if isinstance(node, c_ast.Enum):
        return "u32"
    if isinstance(node, c_ast.PtrDecl):
        target = node.type
        is_const = isinstance(target, c_ast.TypeDecl) and "const" in target.quals
        if isinstance(target, c_ast.FuncDecl):
            return rust_fnptr(target, api)
        inner = rust_type(target, api)
        if inner == "::core::ffi::c_void" and not is_const:
            return "*mut ::core::ffi::c_void"
        return f"*{'const' if is_const else 'mut'} {inner}"
    if isinstance(node, c_ast.ArrayDecl):
        return f"[{rust_type(node.type, api)}; {const_value(node.dim, api.consts)}]"
    raise ValueError(f"unsupported type {node}")


def rust_params(func: c_ast.FuncDecl, api: Api) -> list[tuple[str, str]]:
    params = []
    if func.args is None:
        return params
    for i, p in enumerate(func.args.params):
        if isinstance(p, c_ast.Typename) and rust_type(p.type, api) == "::core::ffi::c_void":
            continue
        ptype = p.type
        if isinstance(ptype, c_ast.ArrayDecl):  # array parameters decay to pointers
            elem = ptype.type
            is_const = isinstance(elem, c_ast.TypeDecl) and "const" in elem.quals
            rt = f"*{'const' if is_const else 'mut'} {rust_type(elem, api)}"
        else:
            rt = rust_type(ptype, api)
        params.append((field_name(p.name) if p.name else f"arg{i}", rt))
    return params


def rust_ret(func: c_ast.FuncDecl, api: Api) -> str:
    rt = rust_type(func.type, api)
    return "" if rt == "::core::ffi::c_void" else f" -> {rt}"


def rust_fnptr(func: c_ast.FuncDecl, api: Api) -> str:
    args = ", ".join(f"{n}: {t}" for n, t in rust_params(func, api))
    return f'::core::option::Option<unsafe extern "C" fn({args}){rust_ret(func, api)}>'


def rust_layouts(api: Api) -> dict[str, tuple[int, int, dict[str, int]]]:
    """sizeof, alignof and offsetof of every public struct, from the C compiler."""
    lines = ["#include <ptel/ptel.h>", "#include <stdio.h>", "#include <stddef.h>",
             "#include <stdalign.h>", "int main(void) {"]
    for s in api.structs:
        lines.append(f'printf("S {s.name} %zu %zu\\n", sizeof({s.name}), alignof({s.name}));')
        for fname, _ in s.fields:
            lines.append(f'printf("F {s.name} {fname} %zu\\n", offsetof({s.name}, {fname}));')
    lines += ["return 0;", "}"]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "layout.c"
        exe = Path(tmp) / "layout"
        src.write_text("\n".join(lines))
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-std=c11", f"-I{HEADER_DIR}", str(src), "-o", str(exe)], check=True)
        out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    result: dict[str, tuple[int, int, dict[str, int]]] = {}
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "S":
            result[parts[1]] = (int(parts[2]), int(parts[3]), {})
        else:
            result[parts[1]][2][parts[2]] = int(parts[3])
    return result


RUST_KEYWORDS = {
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while",
    "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
}


def field_name(name: str) -> str:
    return f"r#{name}" if name in RUST_KEYWORDS else name


def rust_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_rust(api: Api) -> str:
    docs = Docs()
    status_doc = {f"PTEL_{n}": [msg] for n, _, msg in api.tables.get("PTEL_STATUS_MAP", [])}
    out = [f"// {BANNER}.",
           "// Layout tests assert the x86-64 LP64 layout the generator measured.", ""]
    for e in api.enums:
        signed = any(v < 0 for _, v in e.members)
        base = "::core::ffi::c_int" if signed else "u32"
        if e.name:
            out += doc_lines(docs.typedef(e.name))
            out.append(f"pub type {e.name} = {base};")
        for name, value in e.members:
            ty = e.name if e.name else base
            out += doc_lines(docs.member(name) or status_doc.get(name, []))
            out.append(f"pub const {name}: {ty} = {value};")
        out.append("")
    for table, rows in api.tables.items():
        if table != "PTEL_STATUS_MAP":
            continue
        out.append("/// Every status code as (name without `PTEL_`, value, message), from")
        out.append("/// `PTEL_STATUS_MAP`, in table order.")
        out.append("pub const PTEL_STATUS_TABLE: &[(&str, ::core::ffi::c_int, &str)] = &[")
        for name, value, msg in rows:
            out.append(f"    ({rust_str(name)}, {value}, {rust_str(msg)}),")
        out.append("];")
        out.append("")
    for name in api.opaque:
        out += doc_lines(docs.typedef(name))
        out.append("#[repr(C)]")
        out.append(f"pub struct {name} {{")
        out.append("    _private: [u8; 0],")
        out.append("    _pinned: ::core::marker::PhantomData<(*mut u8, ::core::marker::PhantomPinned)>,")
        out.append("}")
        out.append("")
    for name, node in api.fnptrs:
        out += doc_lines(docs.typedef(name))
        out.append(f"pub type {name} = {rust_fnptr(node.type.type, api)};")
        out.append("")
    for s in api.structs:
        out += doc_lines(docs.typedef(s.name))
        out.append("#[repr(C)]")
        out.append("#[derive(Debug, Copy, Clone)]")
        out.append(f"pub struct {s.name} {{")
        for fname, ftype in s.fields:
            out += doc_lines(docs.field(s.name, fname), "    ")
            out.append(f"    pub {field_name(fname)}: {rust_type(ftype, api)},")
        out.append("}")
        out.append("")
        out.append(f"impl Default for {s.name} {{")
        out.append("    /// All zero: NULL pointers, no callbacks, `false`, 0.")
        out.append("    fn default() -> Self {")
        out.append("        // SAFETY: every field is an integer, bool, raw pointer, array of those")
        out.append("        // or Option of a function pointer, all valid when zeroed.")
        out.append("        unsafe { ::core::mem::zeroed() }")
        out.append("    }")
        out.append("}")
        out.append("")
    out.append('extern "C" {')
    for f in api.funcs:
        args = ", ".join(f"{n}: {t}" for n, t in rust_params(f.decl.type, api))
        out += doc_lines(docs.function(f.name), "    ")
        out.append(f"    pub fn {f.name}({args}){rust_ret(f.decl.type, api)};")
    out.append("}")
    out.append("")
    layouts = rust_layouts(api)
    out.append("#[cfg(all(test, target_arch = \"x86_64\", target_os = \"linux\"))]")
    out.append("mod layout_tests {")
    out.append("    use super::*;")
    out.append("    use ::core::mem::{align_of, offset_of, size_of};")
    for s in api.structs:
        size, align, offsets = layouts[s.name]
        out.append("    #[test]")
        out.append(f"    fn layout_{s.name}() {{")
        out.append(f"        assert_eq!(size_of::<{s.name}>(), {size});")
        out.append(f"        assert_eq!(align_of::<{s.name}>(), {align});")
        for fname, off in offsets.items():
            out.append(f"        assert_eq!(offset_of!({s.name}, {field_name(fname)}), {off});")
        out.append("    }")
    out.append("}")
    return "\n".join(out) + "\n"
