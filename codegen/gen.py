#!/usr/bin/env python3
"""Generate every binding's glue from the public C header (see model.py).

Usage: gen.py [--root DIR]   (writes under DIR, default the repository)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model import REPO, load_api
from render_go import render_go
from render_python import render_cdef, render_python
from render_rust import render_rust

OUTPUTS = {
    "bindings/python/ptel/_cdef.h": render_cdef,
    "bindings/python/ptel/_generated.py": render_python,
    "bindings/go/zz_generated.go": render_go,
    "bindings/rust/ptel-sys/src/bindings.rs": render_rust,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=REPO, help="write the files under this directory")
    args = ap.parse_args()
    api = load_api()
    for rel, render in OUTPUTS.items():
        path = args.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(api))
    return 0


if __name__ == "__main__":
    sys.exit(main())
