#!/usr/bin/env bash
# Builds the integration test's collector (integration/collector) once per
# content of its go.mod, go.sum and main.go, and prints the binary's path.
# The binary is cached under ${XDG_CACHE_HOME:-$HOME/.cache}/ptel because a
# cold build takes minutes on two cores; a cached one costs a hash.
set -euo pipefail
here=$(cd "$(dirname "$0")/collector" && pwd)
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
hash=$(cd "$here" && cat go.mod go.sum main.go | sha256sum | cut -c1-16)
dir=${XDG_CACHE_HOME:-$HOME/.cache}/ptel
bin=$dir/otelcol-$hash
if [ ! -x "$bin" ]; then
  mkdir -p "$dir"
  echo "building the collector into $bin (minutes on first use)" >&2
  start=$(date +%s)
  # A temporary name, renamed at the end, so a concurrent or interrupted
  # build never leaves a half-written binary under the cached name.
  tmp=$(mktemp "$dir/.otelcol-XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  (cd "$here" && "$go" build -trimpath -o "$tmp" .)
  mv -f "$tmp" "$bin"
  echo "collector built in $(($(date +%s) - start)) s" >&2
fi
echo "$bin"
