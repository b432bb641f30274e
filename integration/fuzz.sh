#!/usr/bin/env bash
# Runs the libFuzzer target for the SIF reader for a bounded time (FUZZ_SECONDS, default 60),
# seeded with the reference golden files. A crash or sanitizer report fails the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work=${SIFTER_INTEGRATION_WORK:-$here/.work}/fuzz
seconds=${FUZZ_SECONDS:-60}
mkdir -p "$work/corpus" "$work/artifacts"
cp "$root"/Tests/SIFTests/Fixtures/*.sif "$work/corpus/"
# The linker warns about every ASan symbol it cannot export; show its output only on failure.
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name SIF \
  "$root"/Sources/SIF/*.swift "$here/fuzz/SIFLoadFuzzer.swift" -o "$work/sif-load-fuzzer" \
  >"$work/compile.log" 2>&1 || { cat "$work/compile.log" >&2; exit 1; }
echo "fuzz: running the SIF reader fuzzer for ${seconds}s"
TMPDIR=$work "$work/sif-load-fuzzer" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus" 2>"$work/fuzz.log" || {
  tail -50 "$work/fuzz.log" >&2
  echo "fuzz: FAILED (artifacts in $work/artifacts)" >&2
  exit 1
}
grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/fuzz.log" || true
echo "fuzz: no crash in ${seconds}s"
