#!/usr/bin/env bash
# The scenarios through the WASM guest ABI under the Python/wasmtime host:
# run.sh <vectors-dir> <results.json>; column "wasm-py". The guest is
# build/wasm/scenario_guest.wasm (make wasm); see
# wasm/hosts/python/scenarios_wasm.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
wasm_dir=${PTEL_WASM_DIR:-$root/build/wasm}
[ -f "$wasm_dir/scenario_guest.wasm" ] || make -C "$root" --no-print-directory wasm >/dev/null
[ -x "$root/.venv/bin/python" ] || make -C "$root" --no-print-directory venv >/dev/null
"$root/.venv/bin/python" -c 'import ptel' 2>/dev/null || (cd "$root" && "$root/.venv/bin/python" \
  -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps . >/dev/null)
PTEL_WASM_DIR=$wasm_dir PYTHONPATH=$root/wasm/hosts/python exec "$root/.venv/bin/python" \
  "$root/wasm/hosts/python/scenarios_wasm.py" "$1" "$2" wasm-py
