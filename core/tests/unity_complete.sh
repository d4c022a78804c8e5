#!/usr/bin/env bash
# The unity file core/src/ptel.c must include every module of the core, since
# it is all the bindings compile.
set -euo pipefail
src=$(cd "$(dirname "$0")/../src" && pwd)
missing=0
for f in "$src"/*.c; do
  name=$(basename "$f")
  [ "$name" = ptel.c ] && continue
  grep -q "^#include \"$name\"" "$src/ptel.c" || { echo "core/src/ptel.c lacks $name"; missing=1; }
done
exit $missing
