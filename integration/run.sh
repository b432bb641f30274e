#!/usr/bin/env bash
# Integration run: builds sifter and the reference tools, then runs every case in
# integration/cases (or only those named as arguments). Each case is a bash script that gets
# SIFTER, SIFTOOL, SIFDUMP, FIXTURES and CASE_WORK in its environment and fails by exiting
# non-zero. Prints "N passed, N failed" last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export SIFTER_INTEGRATION_WORK=${SIFTER_INTEGRATION_WORK:-$here/.work}
mkdir -p "$SIFTER_INTEGRATION_WORK"

bin=$("$here/build-siftool.sh")
export SIFTOOL=$bin/siftool SIFDUMP=$bin/sifdump
if [ -z "${SIFTER:-}" ]; then
  (cd "$root" && swift build --product sifter >&2)
  export SIFTER="$root/.build/debug/sifter"
fi
export FIXTURES="$root/Tests/SIFTests/Fixtures"
export COMPARE_READERS="$here/compare-readers.py" COMPARE_TREES="$here/compare-trees.py" IMAGES="$here/images"
export REGISTRY_SCRIPTS="$here/registry"

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("$here"/cases/*.sh)
passed=0 failed=0
for case in "${cases[@]}"; do
  name=$(basename "$case" .sh)
  export CASE_WORK="$SIFTER_INTEGRATION_WORK/cases/$name"
  # Each case has its own cache (blobs, remembered digests) unless it names one.
  export SIFTER_CACHE_DIR="$CASE_WORK/sifter-cache"
  rm -rf "$CASE_WORK" && mkdir -p "$CASE_WORK"
  if bash "$case" >"$CASE_WORK.log" 2>&1; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     /' "$CASE_WORK.log" | tail -40
  fi
done
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
