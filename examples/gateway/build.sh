#!/usr/bin/env bash
# Build the gateway demo's compiled plugins into $1 (default build/gateway):
#   libpii_filter.so   wasm/plugins/pii_filter.c + plugins/c/pii_native.c + the core (C)
#   rate_limiter       plugins/go/ratelimiter (Go, the root module)
#   secrets_detector   plugins/rust/secrets_detector (Rust, its own workspace)
# Each is rebuilt only when one of its sources is newer, so a warm run costs
# a few file checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "${1:-$root/build/gateway}" && cd "${1:-$root/build/gateway}" && pwd)
gw=$root/examples/gateway/plugins
core=("$root/core/src" "$root/core/include")

# True when target $1 is missing or older than any file under the rest.
stale() { local t=$1; shift; [ ! -e "$t" ] || [ -n "$(find "$@" -newer "$t" -print -quit)" ]; }

if stale "$out/libpii_filter.so" "${core[@]}" "$root/wasm/plugins/pii_filter.c" \
  "$root/wasm/include" "$gw/c"; then
  echo "gateway: C PII filter (shared library)"
  ${CC:-cc} -O2 -fPIC -shared -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
    -Wmissing-prototypes -Werror -D_GNU_SOURCE -DPTEL_BUILDING -I"$root/core/include" \
    -I"$root/core/src" -I"$root/wasm/include" -o "$out/libpii_filter.so" \
    "$root/core/src/ptel.c" "$root/wasm/plugins/pii_filter.c" "$gw/c/pii_native.c" \
    -Wl,--version-script="$gw/c/pii_native.map" -lm -lpthread
fi

go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
if stale "$out/rate_limiter" "${core[@]}" "$root/bindings/go" "$root/go.mod" "$root/go.sum" \
  "$gw/go"; then
  echo "gateway: Go rate limiter"
  (cd "$root" && "$go" build -o "$out/rate_limiter" ./examples/gateway/plugins/go/ratelimiter)
fi

rs=$gw/rust/secrets_detector
if stale "$out/secrets_detector" "${core[@]}" "$root/bindings/rust/ptel/src" \
  "$root/bindings/rust/ptel-sys" "$rs/src" "$rs/Cargo.toml" "$rs/Cargo.lock"; then
  echo "gateway: Rust secrets detector"
  CARGO_TARGET_DIR=$out/rust cargo build -q --release --locked --manifest-path "$rs/Cargo.toml"
  cp "$out/rust/release/secrets_detector" "$out/secrets_detector"
fi
