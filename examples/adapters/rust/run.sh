#!/usr/bin/env bash
# Build the Rust SDK adapter example (its own Cargo workspace; the build is
# cached in target-adapters/rust at the repository root, or in
# $PTEL_ADAPTER_TARGET_DIR) and run it. With OTEL_EXPORTER_OTLP_ENDPOINT and
# OTEL_SERVICE_NAME set it exports to that collector and prints
# `trace_id=<hex>` on stdout; cargo's output goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
export CARGO_TARGET_DIR="${PTEL_ADAPTER_TARGET_DIR:-$root/target-adapters/rust}"
cargo build --quiet --manifest-path "$here/Cargo.toml" >&2
exec "$CARGO_TARGET_DIR/debug/ptel-adapter-example" "$@"
