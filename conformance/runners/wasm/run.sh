#!/usr/bin/env bash
# The WASM conformance runner: run.sh <vectors-dir> <results.json>.
# Runs the C runner compiled to wasm32-wasi (make wasm) under wasmtime, so the
# vectors check the core as a WASM guest; the column is named "wasm".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
wasm_dir=${PTEL_WASM_DIR:-$root/build/wasm}
[ -f "$wasm_dir/conformance_runner.wasm" ] || make -C "$root" --no-print-directory wasm >/dev/null
[ -x "$root/.venv/bin/python" ] || make -C "$root" --no-print-directory venv >/dev/null
PTEL_WASM_DIR=$wasm_dir exec "$root/.venv/bin/python" \
  "$root/wasm/hosts/python/conformance_wasm.py" "$1" "$2"
