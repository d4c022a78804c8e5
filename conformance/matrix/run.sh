#!/usr/bin/env bash
# The cross-boundary matrix: conformance/matrix/run.sh [<vectors-dir> <results.json>]
#                            conformance/matrix/run.sh --update
# Builds the host and plugin of every runtime once (into
# $CONFORMANCE_BUILD/matrix, default build/conformance/matrix), runs every
# host against every plugin in every mode over the subprocess framing of
# README.md, and compares each host's output with expected/<mode>.txt.
# The vectors directory is not used (the matrix has its own scenario).
# Writes ptel-conformance-results/1 (conformance/README.md section 7) with
# one column per pair, "<host>><plugin>", and exits 0 once it is written.
# --update rewrites expected/ from the C host and C plugin.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${CONFORMANCE_BUILD:-$root/build/conformance}/matrix
mkdir -p "$out"
update=0
if [[ ${1:-} == --update ]]; then
  update=1
  results=/dev/null
else
  results=${2:-$out/results.json}
fi

# ---- build ------------------------------------------------------------------
CC=${CC:-cc}
for prog in host plugin; do
  bin=$out/c-$prog
  if [[ ! -x $bin || -n $(find "$here/c" "$root/core/src" "$root/core/include" -newer "$bin" \
        \( -name '*.c' -o -name '*.h' \) -print -quit) ]]; then
    $CC -std=c11 -O1 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
      -Wmissing-prototypes -Wvla -Werror -D_GNU_SOURCE -I"$root/core/include" \
      -I"$root/core/src" -o "$bin.tmp" "$here/c/$prog.c" "$root/core/src/ptel.c" -lm
    mv "$bin.tmp" "$bin"
  fi
done

py="$root/.venv/bin/python"
[ -x "$py" ] || make -C "$root" --no-print-directory venv >/dev/null
if ! "$py" -c 'import ptel' 2>/dev/null; then
  (cd "$root" && "$py" -m pip install -q --disable-pip-version-check --no-build-isolation \
     --no-deps . >/dev/null)
fi

go=$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)
(cd "$root" && "$go" build -o "$out/go-host" ./conformance/matrix/go/host &&
   "$go" build -o "$out/go-plugin" ./conformance/matrix/go/plugin)

CARGO_TARGET_DIR="$out/rust-target" cargo build -q --locked \
  --manifest-path "$here/rust/Cargo.toml"
rust="$out/rust-target/debug"

# ---- run --------------------------------------------------------------------
declare -A host plugin
host[c]="$out/c-host"
host[py]="$py $here/python/host.py"
host[go]="$out/go-host"
host[rust]="$rust/host"
plugin[c]="$out/c-plugin"
plugin[py]="$py $here/python/plugin.py"
plugin[go]="$out/go-plugin"
plugin[rust]="$rust/plugin"
runtimes=(c py go rust)
# mode -> expected file; group name is matrix/<mode>
modes=(pii_filter crash garbage carrier_mismatch invalid_payload trailing_bytes no_output)
declare -A plugin_arg=([pii_filter]=ok [crash]=crash [garbage]=garbage [carrier_mismatch]=ok
                       [invalid_payload]=invalid [trailing_bytes]=ok [no_output]=ok)
declare -A expected_file=([pii_filter]=pii_filter [crash]=crash [garbage]=crash
                          [carrier_mismatch]=crash [invalid_payload]=invalid_payload
                          [trailing_bytes]=crash [no_output]=crash)
# carrier_mismatch: `env` between host and plugin replaces PTEL_CONTEXT by
# another context (00-0af76519...-b7ad6b7169203331-01 alone), so the frame
# and the carrier differ: the plugin must refuse, the host report a crash.
other_context=CAESEAr3ZRkWzUPdhEjrIRyAMZwaCLeta3FpIDMxIAEoAUAC
# trailing_bytes / no_output: wrap/*.sh add a byte after the frame / drop it.
declare -A wrapper=([carrier_mismatch]="env PTEL_CONTEXT=$other_context"
                    [trailing_bytes]="bash $here/wrap/trailing.sh"
                    [no_output]="bash $here/wrap/silent.sh")

if ((update)); then
  mkdir -p "$here/expected"
  for m in pii_filter crash invalid_payload; do
    ${host[c]} -- ${plugin[c]} "${plugin_arg[$m]}" >"$here/expected/$m.txt"
  done
  echo "matrix: expected/ rewritten from c>c"
  exit 0
fi

json_str() { # a JSON string literal of $1 (no control characters expected)
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "${s//$'\n'/\\n}"
}

columns="" failures="" failed=0 total=0
for h in "${runtimes[@]}"; do
  for p in "${runtimes[@]}"; do
    col="$h>$p" groups=""
    for m in "${modes[@]}"; do
      total=$((total + 1))
      want="$here/expected/${expected_file[$m]}.txt"
      got="$out/$h-$p-$m.txt"
      detail=""
      rc=0
      timeout -k 5 120 ${host[$h]} -- ${wrapper[$m]:-} ${plugin[$p]} "${plugin_arg[$m]}" >"$got" 2>"$got.err" ||
        rc=$?
      if ((rc == 124)); then
        detail="host or plugin still running after 120 s (killed)"
      elif ((rc != 0)); then
        detail="host exited with status $rc: $(head -c 300 "$got.err" | tr -d '\000-\037')"
      elif ! cmp -s "$got" "$want"; then
        detail="output differs from expected/${expected_file[$m]}.txt:"
        for line in report traces metrics; do
          a=$(grep "^$line " "$got" || true) b=$(grep "^$line " "$want" || true)
          [[ $a == "$b" ]] && continue
          i=0
          while ((i < ${#a} && i < ${#b})) && [[ ${a:i:1} == "${b:i:1}" ]]; do i=$((i + 1)); done
          detail+=" $line at byte $(((i - ${#line} - 1) / 2))"
        done
      fi
      if [[ -z $detail ]]; then
        cell='{"passed": 1, "expected_fail": 0, "failed": 0}'
      else
        cell='{"passed": 0, "expected_fail": 0, "failed": 1}'
        failed=$((failed + 1))
        echo "matrix: $col matrix/$m: $detail" >&2
        failures+="${failures:+, }{\"column\": $(json_str "$col"), \"case\": \"matrix/$m\", \"detail\": $(json_str "$detail")}"
      fi
      groups+="${groups:+, }\"matrix/$m\": $cell"
    done
    columns+="${columns:+, }$(json_str "$col"): {$groups}"
  done
done
# The expected files against OTLP built from README.md with the official
# opentelemetry-proto messages (python/oracle.py); counted in column c>c.
if "$py" "$here/python/oracle.py" "$here/expected" 2>"$out/oracle.err"; then
  cell='{"passed": 1, "expected_fail": 0, "failed": 0}'
else
  cell='{"passed": 0, "expected_fail": 0, "failed": 1}'
  failed=$((failed + 1))
  cat "$out/oracle.err" >&2
  failures+="${failures:+, }{\"column\": \"c>c\", \"case\": \"matrix/oracle\", \"detail\": $(json_str "$(head -c 300 "$out/oracle.err")")}"
fi
total=$((total + 1))
columns=${columns/\"c>c\": \{/\"c>c\": \{\"matrix/oracle\": $cell, }
printf '{"format": "ptel-conformance-results/1",\n "columns": {%s},\n "failures": [%s]}\n' \
  "$columns" "$failures" >"$results"
echo "matrix: $((total - failed))/$total passed (${#runtimes[@]}x${#runtimes[@]} pairs x" \
  "${#modes[@]} modes, and the oracle)" >&2
