#!/usr/bin/env bash
# Copy the C core into this crate (core/, gitignored) so that `cargo package`
# ships it: a packaged ptel-sys builds from its own copy (see build.rs).
#   vendor-core.sh          write or refresh the copy
#   vendor-core.sh --check  fail when the copy is missing or differs from ../../../core
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../../../core"
dst="$here/core"
list() { (cd "$1" && ls include/ptel/*.h src/*.c src/*.h | sort); }
if [ "${1:-}" = "--check" ]; then
  [ -d "$dst" ] || { echo "vendor-core: $dst missing (run vendor-core.sh)" >&2; exit 1; }
  diff <(list "$src") <(list "$dst") >/dev/null \
    || { echo "vendor-core: file list of $dst differs from core/" >&2; exit 1; }
  for f in $(list "$src"); do
    cmp -s "$src/$f" "$dst/$f" || { echo "vendor-core: $dst/$f is stale" >&2; exit 1; }
  done
  echo "vendor-core: bindings/rust/ptel-sys/core matches core/"
  exit 0
fi
rm -rf "$dst"
mkdir -p "$dst/include/ptel" "$dst/src"
for f in $(list "$src"); do cp "$src/$f" "$dst/$f"; done
echo "vendor-core: copied $(list "$src" | wc -l) files into $dst"
