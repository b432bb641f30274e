#!/usr/bin/env bash
# Every test: unit tests (swift test), the integration cases against the real tools, and a
# bounded fuzzing run of the SIF reader. This is the README's test command and what CI runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
"$here/install-deps.sh"
cd "$root"
python3 "$here/check-package-graph.py" "$root"
swift build
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test >"$log" 2>&1 || status=$?
# Drop the per-test progress lines; keep failures and both runners' summaries.
grep -vE '^(\[[0-9]+/[0-9]+\] |Test Case .* (started|passed)|Test Suite .* (started|passed)|◇ Test .* started|✔ Test [^ ]*\(.* passed after|[[:space:]]*Executed 0 tests)' "$log" || true
[ "$status" -eq 0 ] || { echo "unit tests failed (swift test exit $status)" >&2; exit 1; }
FUZZ_SECONDS=${FUZZ_SECONDS:-60} "$here/fuzz.sh"
"$here/run.sh"
