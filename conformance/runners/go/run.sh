#!/usr/bin/env bash
# The Go conformance runner: run.sh <vectors-dir> <results.json>.
# A package main inside the root module; builds with the module's go.sum.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
go=$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)
vectors=$(cd "$1" && pwd)
results=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
cd "$root"
exec "$go" run ./conformance/runners/go "$vectors" "$results" \
  "$root/conformance/expected-failures/go.json"
