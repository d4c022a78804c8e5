#!/usr/bin/env bash
# make wasm: the example plugins as wasm32-wasi reactor modules (Debian's
# clang + lld + wasi-libc), and the same plugin sources built natively for
# the byte-identity tests. Output under build/wasm/ (or $1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/wasm}
mkdir -p "$out/obj" "$out/native"
cc=${WASM_CC:-clang}
warn=(-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
      -Werror)
inc=(-D_GNU_SOURCE -DPTEL_BUILDING -I"$root/core/include" -I"$root/core/src" -I"$root/wasm/include")
wasm=(--target=wasm32-wasi -O2)
# wasi-libc installs its sysroot under /usr (headers in /usr/include/wasm32-wasi,
# libraries in /usr/lib/wasm32-wasi), where Debian's clang finds it by default;
# WASI_SYSROOT names another one.
[ -n "${WASI_SYSROOT:-}" ] && wasm+=(--sysroot="$WASI_SYSROOT")
link=(-mexec-model=reactor -fuse-ld=lld -Wl,--strip-debug -Wl,-z,stack-size=65536)

# A newer source than the object rebuilds it; the core is the slow part.
stale() { local t=$1; shift; [ ! -f "$t" ] || [ -n "$(find "$@" -newer "$t" 2>/dev/null | head -1)" ]; }

core_src=("$root"/core/src/*.c "$root"/core/src/*.h "$root"/core/include/ptel/*.h)
if stale "$out/obj/ptel.o" "${core_src[@]}"; then
  "$cc" "${wasm[@]}" "${warn[@]}" "${inc[@]}" -c "$root/core/src/ptel.c" -o "$out/obj/ptel.o"
fi
guest_src=("$root/wasm/guest/ptel_guest.c" "$root/wasm/include/ptel_guest.h")
if stale "$out/obj/ptel_guest.o" "${guest_src[@]}"; then
  "$cc" "${wasm[@]}" "${warn[@]}" "${inc[@]}" -c "$root/wasm/guest/ptel_guest.c" \
    -o "$out/obj/ptel_guest.o"
fi
for p in pii_filter rate_limiter null_plugin stuck_plugin; do
  src=$root/wasm/plugins/$p.c
  "$cc" "${wasm[@]}" "${warn[@]}" "${inc[@]}" "${link[@]}" -o "$out/$p.wasm" "$src" \
    "$out/obj/ptel_guest.o" "$out/obj/ptel.o"
done
"$cc" "${wasm[@]}" "${warn[@]}" "${link[@]}" -o "$out/faults.wasm" "$root/wasm/plugins/faults.c"

# The conformance suite's C runner (conformance/runners/c) as a WASI command
# module: every vector through the core compiled to wasm32 (make test-wasm
# runs it under wasmtime). Its stack needs more than the default 64 KiB.
conf=$root/conformance/runners/c
if [ -f "$conf/runner.c" ]; then
  "$cc" "${wasm[@]}" -std=c11 -D_GNU_SOURCE -DPTEL_BUILDING -I"$root/core/include" \
    -I"$root/core/src" -fuse-ld=lld -Wl,--strip-debug -Wl,-z,stack-size=8388608 \
    -o "$out/conformance_runner.wasm" "$conf/runner.c" "$conf/cjson.c" "$out/obj/ptel.o" -lm
  # The scenarios through the guest ABI: the same runner's script
  # interpreter behind the guest exports (wasm/plugins/scenario_guest.c).
  "$cc" "${wasm[@]}" "${warn[@]}" "${inc[@]}" "${link[@]}" -Wl,-z,stack-size=1048576 \
    -o "$out/scenario_guest.wasm" "$root/wasm/plugins/scenario_guest.c" "$conf/cjson.c" \
    "$out/obj/ptel.o" -lm
fi

# Native builds of the same plugins, for comparing payloads.
ncc=${NATIVE_CC:-cc}
if stale "$out/obj/ptel_native.o" "${core_src[@]}"; then
  "$ncc" -O2 "${warn[@]}" "${inc[@]}" -c "$root/core/src/ptel.c" -o "$out/obj/ptel_native.o"
fi
for p in pii_filter rate_limiter null_plugin; do
  "$ncc" -O2 "${warn[@]}" "${inc[@]}" -o "$out/native/$p" "$root/wasm/plugins/$p.c" \
    "$root/wasm/guest/ptel_guest.c" "$root/wasm/native/run_native.c" "$out/obj/ptel_native.o" \
    -lpthread -lm
done
echo "wasm: modules in $out"
