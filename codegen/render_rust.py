"""ptel-sys FFI declarations with layout tests."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from pycparser import c_ast

from model import BANNER, HEADER_DIR, Api, const_value

RUST_PRIM = {
    "bool": "bool", "size_t": "usize", "int8_t": "i8", "uint8_t": "u8",
    "int16_t": "i16", "uint16_t": "u16", "int32_t": "i32", "uint32_t": "u32",
    "int64_t": "i64", "uint64_t": "u64", "uintptr_t": "usize", "char": "::std::os::raw::c_char",
    "int": "::std::os::raw::c_int", "double": "f64", "void": "::std::os::raw::c_void",
    "unsigned int": "::std::os::raw::c_uint",
}


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
        if inner == "::std::os::raw::c_void" and not is_const:
            return "*mut ::std::os::raw::c_void"
        return f"*{'const' if is_const else 'mut'} {inner}"
    if isinstance(node, c_ast.ArrayDecl):
        return f"[{rust_type(node.type, api)}; {const_value(node.dim, api.consts)}]"
    raise ValueError(f"unsupported type {node}")


def rust_params(func: c_ast.FuncDecl, api: Api) -> list[tuple[str, str]]:
    params = []
    if func.args is None:
        return params
    for i, p in enumerate(func.args.params):
        if isinstance(p, c_ast.Typename) and rust_type(p.type, api) == "::std::os::raw::c_void":
            continue
        ptype = p.type
        if isinstance(ptype, c_ast.ArrayDecl):  # array parameters decay to pointers
            elem = ptype.type
            is_const = isinstance(elem, c_ast.TypeDecl) and "const" in elem.quals
            rt = f"*{'const' if is_const else 'mut'} {rust_type(elem, api)}"
        else:
            rt = rust_type(ptype, api)
        params.append((p.name or f"arg{i}", rt))
    return params


def rust_ret(func: c_ast.FuncDecl, api: Api) -> str:
    rt = rust_type(func.type, api)
    return "" if rt == "::std::os::raw::c_void" else f" -> {rt}"


def rust_fnptr(func: c_ast.FuncDecl, api: Api) -> str:
    args = ", ".join(f"{n}: {t}" for n, t in rust_params(func, api))
    return f'::std::option::Option<unsafe extern "C" fn({args}){rust_ret(func, api)}>'


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


def render_rust(api: Api) -> str:
    out = [f"// {BANNER}.", "// Layout tests assert the x86-64 LP64 layout the generator measured.", "",
           "#![allow(non_camel_case_types, non_upper_case_globals, dead_code)]", ""]
    for e in api.enums:
        if e.name:
            out.append(f"pub type {e.name} = ::std::os::raw::c_int;")
        for name, value in e.members:
            ty = e.name if e.name else "::std::os::raw::c_int"
            out.append(f"pub const {name}: {ty} = {value};")
        out.append("")
    for name in api.opaque:
        out.append("#[repr(C)]")
        out.append(f"pub struct {name} {{")
        out.append("    _private: [u8; 0],")
        out.append("    _pinned: ::core::marker::PhantomData<(*mut u8, ::core::marker::PhantomPinned)>,")
        out.append("}")
        out.append("")
    for name, node in api.fnptrs:
        out.append(f"pub type {name} = {rust_fnptr(node.type.type, api)};")
        out.append("")
    for s in api.structs:
        out.append("#[repr(C)]")
        out.append("#[derive(Debug, Copy, Clone)]")
        out.append(f"pub struct {s.name} {{")
        for fname, ftype in s.fields:
            rname = "r#type" if fname == "type" else fname
            out.append(f"    pub {rname}: {rust_type(ftype, api)},")
        out.append("}")
        out.append("")
    out.append('extern "C" {')
    for f in api.funcs:
        args = ", ".join(f"{n}: {t}" for n, t in rust_params(f.decl.type, api))
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
            rname = "r#type" if fname == "type" else fname
            out.append(f"        assert_eq!(offset_of!({s.name}, {rname}), {off});")
        out.append("    }")
    out.append("}")
    return "\n".join(out) + "\n"


