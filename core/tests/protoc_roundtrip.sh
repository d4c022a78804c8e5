#!/usr/bin/env bash
# Independent oracle for the golden vectors: protoc (the reference C++
# protobuf implementation) decodes each pinned .bin with our .proto files
# and re-encodes it; the bytes must come back identical, which holds only if
# our encoder follows the canonical profile (field order, omitted defaults,
# packing, minimal varints). The decoded text is pinned too (.txtpb).
# PTEL_GOLDEN_UPDATE=1 rewrites the .txtpb files.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$root/core/tests/golden
command -v protoc >/dev/null || { echo "protoc missing (run scripts/bootstrap.sh)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
count=0
for bin in "$dir"/*.bin; do
  name=$(basename "$bin" .bin)
  case $name in
    tel_*) type=ptel.v1.PluginTelemetry ;;
    ctx_*) type=ptel.v1.PluginContext ;;
    traces_*) type=ptel.v1.ExportTraceServiceRequest ;;
    metrics_*) type=ptel.v1.ExportMetricsServiceRequest ;;
    *) echo "unknown vector kind: $name"; fail=1; continue ;;
  esac
  protoc -I "$root/proto" --decode="$type" "$root"/proto/ptel/v1/*.proto <"$bin" >"$tmp/$name.txtpb"
  protoc -I "$root/proto" --encode="$type" "$root"/proto/ptel/v1/*.proto \
    <"$tmp/$name.txtpb" >"$tmp/$name.bin"
  if ! cmp -s "$bin" "$tmp/$name.bin"; then
    echo "FAIL $name: protoc re-encodes different bytes"
    cmp "$bin" "$tmp/$name.bin" || true
    fail=1
  fi
  if [ -n "${PTEL_GOLDEN_UPDATE:-}" ]; then
    cp "$tmp/$name.txtpb" "$dir/$name.txtpb"
  elif ! diff -u "$dir/$name.txtpb" "$tmp/$name.txtpb"; then
    echo "FAIL $name: decoded text differs from $name.txtpb"
    fail=1
  fi
  count=$((count + 1))
done
[ "$count" -gt 0 ] || { echo "no golden vectors"; exit 1; }
echo "protoc round trip: $count vectors"
exit $fail
