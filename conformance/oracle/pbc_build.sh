#!/usr/bin/env bash
# Build the protobuf-c oracle: pbc_build.sh <python> <out-dir>; prints the
# binary's path, or nothing (exit 0) when protoc-c or libprotobuf-c is missing.
# The OTLP descriptors come from the installed opentelemetry-proto package
# (no upstream file is committed). protoc-c cannot compile proto3 `optional`,
# so the descriptors are rewritten as proto2 with the same wire meaning:
# every singular field gets explicit presence (protobuf-c then writes back
# exactly the fields that were on the wire) and repeated scalars stay packed.
set -euo pipefail
py=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
command -v protoc-c >/dev/null || exit 0
[[ -f /usr/include/protobuf-c/protobuf-c.h ]] || exit 0
mkdir -p "$out"
bin=$out/pbc-oracle
[[ -x $bin && $bin -nt $here/pbc_oracle.c && $bin -nt $here/pbc_build.sh ]] && { echo "$bin"; exit 0; }
"$py" - "$out/otlp.desc" <<'PY'
import sys
from google.protobuf import descriptor_pb2 as d
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

F = d.FieldDescriptorProto
fds, seen = d.FileDescriptorSet(), set()


def add(fd):
    if fd.name in seen:
        return
    for dep in fd.dependencies:
        add(dep)
    seen.add(fd.name)
    p = d.FileDescriptorProto()
    fd.CopyToProto(p)
    fds.file.append(p)


def proto2(msg):
    synthetic = set()
    for f in msg.field:
        if f.proto3_optional:
            synthetic.add(f.oneof_index)
            f.ClearField("proto3_optional")
            f.ClearField("oneof_index")
        if f.label == F.LABEL_REPEATED and f.type not in (F.TYPE_MESSAGE, F.TYPE_STRING,
                                                         F.TYPE_BYTES):
            f.options.packed = True
    if synthetic:
        keep = [o for i, o in enumerate(msg.oneof_decl) if i not in synthetic]
        del msg.oneof_decl[:]
        msg.oneof_decl.extend(keep)
    for n in msg.nested_type:
        proto2(n)


add(trace_service_pb2.DESCRIPTOR)
add(metrics_service_pb2.DESCRIPTOR)
for f in fds.file:
    f.syntax = "proto2"
    for m in f.message_type:
        proto2(m)
open(sys.argv[1], "wb").write(fds.SerializeToString())
PY
protos=(opentelemetry/proto/common/v1/common.proto opentelemetry/proto/resource/v1/resource.proto
        opentelemetry/proto/trace/v1/trace.proto opentelemetry/proto/metrics/v1/metrics.proto
        opentelemetry/proto/collector/trace/v1/trace_service.proto
        opentelemetry/proto/collector/metrics/v1/metrics_service.proto)
protoc-c --descriptor_set_in="$out/otlp.desc" --c_out="$out" "${protos[@]}"
srcs=()
for p in "${protos[@]}"; do srcs+=("$out/${p%.proto}.pb-c.c"); done
${CC:-cc} -std=c11 -O1 -w -I"$out" -o "$bin.tmp" "$here/pbc_oracle.c" "${srcs[@]}" -lprotobuf-c
mv "$bin.tmp" "$bin"
echo "$bin"
