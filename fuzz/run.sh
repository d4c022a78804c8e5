#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each. New inputs go to
# build-fuzz/corpus/<name>; the committed seeds under fuzz/corpus/<name> are
# read, never written. Crashes are left as build-fuzz/crash-* and fail the run.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  corpus=${name#fuzz_}
  mkdir -p "$build/corpus/$corpus"
  echo "== $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$build/crash-$name-" \
      "$build/corpus/$corpus" "$root/fuzz/corpus/$corpus" 2>"$build/$name.log"; then
    echo "FAILED: see $build/$name.log"
    tail -30 "$build/$name.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$build/$name.log" | tail -2
  fi
done
exit $status
