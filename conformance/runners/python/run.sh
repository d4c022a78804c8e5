#!/usr/bin/env bash
# The Python conformance runner: run.sh <vectors-dir> <results.json>.
# Uses the `ptel` package installed in the repository's .venv (make
# test-python installs it); installs it there first when it is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
py="$root/.venv/bin/python"
[ -x "$py" ] || make -C "$root" --no-print-directory venv >/dev/null
if ! "$py" -c 'import ptel' 2>/dev/null; then
  (cd "$root" && "$py" -m pip install -q --disable-pip-version-check --no-build-isolation \
     --no-deps . >/dev/null)
fi
exec "$py" "$here/runner.py" "$1" "$2" "$root/conformance/expected-failures/python.json"
