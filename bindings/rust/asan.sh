#!/usr/bin/env bash
# Run the ptel crate's tests with the C core built under AddressSanitizer and
# UndefinedBehaviorSanitizer (gcc's runtimes, preloaded into the test
# binaries only; the Rust side needs no nightly sanitizer). Uses its own
# target directory. PROPTEST_CASES defaults to 256.
set -euo pipefail
cd "$(dirname "$0")/../.."
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
[ -f "$asan" ] && [ -f "$ubsan" ] || { echo "asan.sh: gcc's libasan/libubsan not found" >&2; exit 1; }
export CC=gcc
export CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
export RUSTFLAGS="-C link-arg=-lasan -C link-arg=-lubsan"
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="env LD_PRELOAD=$asan:$ubsan ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1"
export CARGO_TARGET_DIR=target/asan
export PROPTEST_CASES=${PROPTEST_CASES:-256}
cargo test -q -p ptel --tests
