#!/usr/bin/env bash
# The Rust conformance runner: run.sh <vectors-dir> <results.json>.
# Its own Cargo workspace (locked to a copy of the root Cargo.lock), built
# into target/conformance-rust so the root workspace is untouched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
export CARGO_TARGET_DIR="$root/target/conformance-rust"
cargo build --quiet --locked --manifest-path "$here/Cargo.toml"
exec "$CARGO_TARGET_DIR/debug/ptel-conformance" "$1" "$2" \
  "$root/conformance/expected-failures/rust.json"
