#!/usr/bin/env bash
# The scenarios through the WASM guest ABI under the Rust/wasmtime host:
# run.sh <vectors-dir> <results.json>; column "wasm-rust". Builds the host's
# scenario server (wasm/hosts/rust/src/bin/scenarios.rs; the first build
# compiles wasmtime, a few minutes, then it is cached in the host's own
# target directory); the Python driver wasm/hosts/python/scenarios_wasm.py
# feeds it the vectors and compares.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
wasm_dir=${PTEL_WASM_DIR:-$root/build/wasm}
host=$root/wasm/hosts/rust
target=${CARGO_TARGET_DIR:-$host/target}
[ -f "$wasm_dir/scenario_guest.wasm" ] || make -C "$root" --no-print-directory wasm >/dev/null
[ -x "$root/.venv/bin/python" ] || make -C "$root" --no-print-directory venv >/dev/null
"$root/.venv/bin/python" -c 'import ptel' 2>/dev/null || (cd "$root" && "$root/.venv/bin/python" \
  -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps . >/dev/null)
(cd "$host" && CARGO_TARGET_DIR=$target cargo build -q --bin scenarios)
PTEL_WASM_DIR=$wasm_dir PYTHONPATH=$root/wasm/hosts/python exec "$root/.venv/bin/python" \
  "$root/wasm/hosts/python/scenarios_wasm.py" "$1" "$2" wasm-rust \
  "$target/debug/scenarios" "$wasm_dir/scenario_guest.wasm"
