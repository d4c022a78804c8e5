#!/usr/bin/env bash
# Installs the built library into a temporary prefix and builds a consumer
# against it twice: with CMake's find_package(ptel) and with pkg-config.
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$root/core/tests/install" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
"$tmp/cmake/consumer"
pc=$(find "$tmp/prefix" -name ptel.pc)
export PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR=
# shellcheck disable=SC2046
cc -o "$tmp/pkgconfig-consumer" "$root/core/tests/install/main.c" \
  $(pkg-config --cflags ptel) $(pkg-config --static --libs ptel)
LD_LIBRARY_PATH="$(pkg-config --variable=libdir ptel)" "$tmp/pkgconfig-consumer"
