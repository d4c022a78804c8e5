#!/usr/bin/env bash
# The C runner: conformance/runners/c/run.sh <vectors-dir> <results.json>
# Builds the runner against the unity core (core/src/ptel.c) into
# $CONFORMANCE_BUILD (default build/conformance) and runs it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${CONFORMANCE_BUILD:-$root/build/conformance}
mkdir -p "$out"
bin=$out/ptel-conformance
CC=${CC:-cc}
if [[ ! -x $bin || -n $(find "$here" "$root/core/src" "$root/core/include" -newer "$bin" \
      \( -name '*.c' -o -name '*.h' \) -print -quit) ]]; then
  $CC -std=c11 -O1 -g -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
    -Wmissing-prototypes -Wvla -Werror -I"$root/core/include" -I"$root/core/src" \
    -D_GNU_SOURCE -DPTEL_BUILDING -o "$bin.tmp" "$here/runner.c" "$here/cjson.c" \
    "$root/core/src/ptel.c" -lm -lpthread
  mv "$bin.tmp" "$bin"
fi
[[ ${1:-} == --build-only ]] && { echo "$bin"; exit 0; }
xfail=$root/conformance/expected-failures/c.json
"$bin" "$1" "$2" "$xfail" || [[ -s $2 ]]
