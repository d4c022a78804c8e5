#!/usr/bin/env bash
# The scenarios through the WASM guest ABI under the Go/wazero host:
# run.sh <vectors-dir> <results.json>; column "wasm-go". Builds the host's
# scenario server (wasm/hosts/go/cmd/scenarios); the Python driver
# wasm/hosts/python/scenarios_wasm.py feeds it the vectors and compares.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
wasm_dir=${PTEL_WASM_DIR:-$root/build/wasm}
go=$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)
[ -f "$wasm_dir/scenario_guest.wasm" ] || make -C "$root" --no-print-directory wasm >/dev/null
[ -x "$root/.venv/bin/python" ] || make -C "$root" --no-print-directory venv >/dev/null
"$root/.venv/bin/python" -c 'import ptel' 2>/dev/null || (cd "$root" && "$root/.venv/bin/python" \
  -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps . >/dev/null)
(cd "$root/wasm/hosts/go" && "$go" build -o "$wasm_dir/scenarios-go" ./cmd/scenarios)
PTEL_WASM_DIR=$wasm_dir PYTHONPATH=$root/wasm/hosts/python exec "$root/.venv/bin/python" \
  "$root/wasm/hosts/python/scenarios_wasm.py" "$1" "$2" wasm-go \
  "$wasm_dir/scenarios-go" "$wasm_dir/scenario_guest.wasm"
