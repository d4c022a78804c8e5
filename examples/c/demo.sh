#!/usr/bin/env bash
# The C example flow end to end, with no server anywhere:
#   host builds a PluginContext → the example PII-filter plugin records spans
#   and metrics → the host validates its PluginTelemetry → exports OTLP
#   (protobuf and OTLP/JSON lines under out/) → the trace tree is printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ptel=${PTEL:-build/bin/ptel}
out=${OUT:-out}
mkdir -p "$out"

hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
# The host's active request span: a fresh sampled trace.
traceparent="00-$(hex 16)-$(hex 8)-01"

echo "== host: context for plugin pii_filter (traceparent $traceparent)"
"$ptel" context --traceparent "$traceparent" --tracestate "gateway=demo" \
  --plugin pii_filter --plugin-version 1.0.0 --hook tool_pre_invoke -o "$out/context.bin"

echo "== plugin: records its spans and metrics"
"$ptel" demo-plugin --context "$out/context.bin" -o "$out/telemetry.bin"

echo "== host: validation report"
"$ptel" validate --context "$out/context.bin" "$out/telemetry.bin"

echo "== host: export"
resource=(--resource service.name=ptel-demo --resource deployment.environment=local)
"$ptel" export --context "$out/context.bin" "${resource[@]}" -o "$out/traces.binpb" \
  "$out/telemetry.bin"
"$ptel" export --context "$out/context.bin" "${resource[@]}" --metrics -o "$out/metrics.binpb" \
  "$out/telemetry.bin"
# OTLP/JSON lines, the OpenTelemetry Collector file exporter's format.
{
  "$ptel" export --context "$out/context.bin" "${resource[@]}" --json "$out/telemetry.bin"
  "$ptel" export --context "$out/context.bin" "${resource[@]}" --metrics --json \
    "$out/telemetry.bin"
} >"$out/otlp.jsonl"
echo "wrote $out/otlp.jsonl ($(wc -c <"$out/otlp.jsonl") bytes), $out/traces.binpb, $out/metrics.binpb"

echo
"$ptel" tree "$out/traces.binpb" "$out/metrics.binpb"
