#!/usr/bin/env bash
# Benchmark: sifter against the pipeline users run today (skopeo → umoci → mksquashfs →
# siftool), in one run, alternating, on the same image served by a local registry. Writes
# BENCHMARKS.md at the top of the repository. Needs root (umoci unpack keeps owners only as
# root, debootstrap). See README, "Benchmarks".
#   BENCH_IMAGES="full links" (default; also minbase): full is ~1.3 GiB unpacked in 4 layers,
#   links the same plus a layer of hard links to files of the lower layers (6 layers).
#   BENCH_REPS=3. The push measurements (e) and the build without SBOM (b″) run on the first
#   image only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
reps=${BENCH_REPS:-3}
read -r -a kinds <<<"${BENCH_IMAGES:-full links}"
"$here/install-deps.sh"
command -v debootstrap >/dev/null || { apt-get install -y -q debootstrap >/dev/null; }
# SIFTER_BENCH_SIFTER: another sifter binary to measure instead of this checkout's.
# SIFTER_BENCH_COMPARE="LABEL=BINARY": also a cold build with BINARY in every repetition (another
# version of sifter, to compare designs in one run), reported as its own row.
if [ -n "${SIFTER_BENCH_SIFTER:-}" ]; then
  sifter=$SIFTER_BENCH_SIFTER
else
  (cd "$root" && swift build -c release --product sifter >&2)
  sifter="$root/.build/release/sifter"
fi
bin=$("$here/build-siftool.sh")
monitor="$here/bench/monitor.py"
state=${SIFTER_BENCH_WORK:-$here/.work/bench}
mkdir -p "$state"
for kind in "${kinds[@]}"; do BENCH_IMAGE=$kind "$here/bench/make-image.sh" "$state/layout"; done

reg=$(mktemp -d)
runs=$(mktemp -d "${TMPDIR:-/var/tmp}/sifter-bench.XXXXXX")
trap '"$here/registry/stop.sh" "$reg" >/dev/null 2>&1 || true; rm -rf "$reg" "$runs"' EXIT
"$here/registry/start.sh" none "$reg" >/dev/null
# shellcheck disable=SC1091
. "$reg/env"
measure() { local out=$1; shift; python3 "$monitor" --json "$out" --disk "$runs/tmp" -- "$@"; }
for kind in "${kinds[@]}"; do
  skopeo copy -q --dest-tls-verify=false "oci:$state/layout:bench-$kind" "docker://$REGISTRY/bench/image:$kind"
done
first=${kinds[0]}
# (d) needs the destination to hold the result already: one untimed convert first.
SIFTER_CACHE_DIR="$runs/convert-cache" "$sifter" convert --plain-http "docker://$REGISTRY/bench/image:$first" \
  "oras://$REGISTRY/bench/sif:$first" >/dev/null
rm -rf "$runs/convert-cache"

for rep in $(seq 1 "$reps"); do
 for kind in "${kinds[@]}"; do
  echo "bench: repetition $rep of $reps, image $kind" >&2
  ref="$REGISTRY/bench/image:$kind"
  out="$runs/$kind"
  mkdir -p "$out"
  # (a) the reference pipeline; temporary disk is everything under runs/tmp.
  rm -rf "$runs/tmp"; mkdir -p "$runs/tmp"
  measure "$out/a-skopeo-$rep.json" skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$runs/tmp/layout:img"
  measure "$out/a-umoci-$rep.json" umoci unpack --image "$runs/tmp/layout:img" "$runs/tmp/bundle" >/dev/null
  measure "$out/a-mksquashfs-$rep.json" mksquashfs "$runs/tmp/bundle/rootfs" "$runs/tmp/root.sqfs" -noappend -comp gzip -quiet -no-progress
  measure "$out/a-siftool-$rep.json" sh -c "'$bin/siftool' new '$runs/tmp/ref.sif' && '$bin/siftool' add --datatype 4 --parttype 2 --partfs 1 --partarch 2 '$runs/tmp/ref.sif' '$runs/tmp/root.sqfs'"
  stat -c %s "$runs/tmp/ref.sif" >"$out/a-size-$rep"
  # (b) sifter, cold blob cache. The cache is kept on purpose (CI caches restore it), so it is
  # reported apart from the temporary disk, which is the run directory holding the output.
  rm -rf "$runs/tmp" "$runs/cache"; mkdir -p "$runs/tmp"
  SIFTER_CACHE_DIR="$runs/cache" measure "$out/b-$rep.json" "$sifter" build --plain-http --json "docker://$ref" "$runs/tmp/out.sif" >"$out/b-report-$rep.json"
  stat -c %s "$runs/tmp/out.sif" >"$out/b-size-$rep"
  du -sb "$runs/cache" | cut -f1 >"$out/b-cache-$rep"
  if [ "$kind" = "$first" ]; then
    # (b″) the same cold build without the SBOM object: what collecting the SBOM costs.
    rm -rf "$runs/tmp" "$runs/cache-n"; mkdir -p "$runs/tmp"
    SIFTER_CACHE_DIR="$runs/cache-n" measure "$out/n-$rep.json" "$sifter" build --no-sbom --plain-http --json \
      "docker://$ref" "$runs/tmp/out.sif" >/dev/null
    rm -rf "$runs/cache-n"
  fi
  if [ -n "${SIFTER_BENCH_COMPARE:-}" ]; then
    rm -rf "$runs/tmp" "$runs/cache-x"; mkdir -p "$runs/tmp"
    SIFTER_CACHE_DIR="$runs/cache-x" measure "$out/x-$rep.json" "${SIFTER_BENCH_COMPARE#*=}" build --plain-http --json \
      "docker://$ref" "$runs/tmp/out.sif" >"$out/x-report-$rep.json"
    rm -rf "$runs/cache-x"
  fi
  # (c) sifter, warm blob cache.
  rm -rf "$runs/tmp"; mkdir -p "$runs/tmp"
  SIFTER_CACHE_DIR="$runs/cache" measure "$out/c-$rep.json" "$sifter" build --plain-http --json "docker://$ref" "$runs/tmp/out.sif" >"$out/c-report-$rep.json"
  if [ "$kind" = "$first" ]; then
    # (e) push of the SIF to a fresh repository, against curl -T of the same file (POST, then
    # one monolithic PUT of the blob) to another fresh repository of the same registry.
    # The CI flow: push right after build, with the build's cache (which remembers the digest).
    SIFTER_CACHE_DIR="$runs/cache" measure "$out/e-$rep.json" "$sifter" push --plain-http "$runs/tmp/out.sif" "oras://$REGISTRY/bench/push-$rep:$kind" >/dev/null
    # A file sifter did not write: hashed before the upload.
    cp "$runs/tmp/out.sif" "$runs/copy.sif"
    SIFTER_CACHE_DIR="$runs/cache" measure "$out/e2-$rep.json" "$sifter" push --plain-http "$runs/copy.sif" "oras://$REGISTRY/bench/copy-$rep:$kind" >/dev/null
    rm -f "$runs/copy.sif"
    digest=sha256:$(sha256sum "$runs/tmp/out.sif" | cut -d' ' -f1)
    location=$(curl -s -D - -o /dev/null -X POST "http://$REGISTRY/v2/bench/curl-$rep/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:" {print $2}')
    case $location in http*) ;; *) location="http://$REGISTRY$location" ;; esac
    measure "$out/f-$rep.json" curl -sf -o /dev/null -T "$runs/tmp/out.sif" "$location&digest=$digest"
  fi
  # mksquashfs alone on the very tar stream sifter feeds it.
  rm -rf "$runs/tmp"; mkdir -p "$runs/tmp"
  SIFTER_CACHE_DIR="$runs/cache" "$sifter" export --plain-http "docker://$ref" "$runs/stream.tar"
  measure "$out/m-$rep.json" sh -c "mksquashfs - '$runs/tmp/alone.sqfs' -tar -noappend -quiet -no-progress -comp gzip <'$runs/stream.tar'"
  rm -rf "$runs/cache" "$runs/stream.tar"
  if [ "$kind" = "$first" ]; then
    # (d) convert when the destination already holds the result: no build, no upload.
    SIFTER_CACHE_DIR="$runs/cache-d" measure "$out/d-$rep.json" "$sifter" convert --plain-http "docker://$ref" "oras://$REGISTRY/bench/sif:$kind" >"$out/d-out-$rep"
    grep -q "up to date" "$out/d-out-$rep" || { echo "bench: convert did not skip" >&2; exit 1; }
    rm -rf "$runs/cache-d"
  fi
 done
done

BENCH_COMPARE_LABEL=${SIFTER_BENCH_COMPARE%%=*} python3 "$here/bench/report.py" "$runs" "$reps" "$REGISTRY" "${kinds[@]}" >"$root/BENCHMARKS.md"
cat "$root/BENCHMARKS.md"
