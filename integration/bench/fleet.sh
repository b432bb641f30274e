#!/usr/bin/env bash
# Fleet benchmark (issue 17): N images sharing one base layer (integration/images/fleet.py),
# served by a local registry behind a logging proxy, converted three ways, alternating:
#   (a) the reference pipeline in a shell loop: skopeo → umoci → mksquashfs → siftool per image;
#   (b) a shell loop of `sifter build`, one blob cache for the loop (cold at its start);
#   (c) `sifter sync --jobs J` of a wishlist of the same images (cold cache).
# Measures wall time, bytes of blobs downloaded (blob GETs counted at the proxy, sized from the
# layout) and peak RSS. Writes a Markdown section to $FLEET_OUT (default BENCHMARKS-fleet.md at
# the top of the repository). Needs root (umoci unpack keeps owners only as root).
#   FLEET_IMAGES=8 FLEET_BASE_MIB=48 FLEET_JOBS=2 BENCH_REPS=3
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
integration=$(cd "$here/.." && pwd)
root=$(cd "$integration/.." && pwd)
reps=${BENCH_REPS:-3}
images=${FLEET_IMAGES:-8}
base_mib=${FLEET_BASE_MIB:-48}
jobs=${FLEET_JOBS:-2}
out_file=${FLEET_OUT:-$root/BENCHMARKS-fleet.md}
if [ -n "${SIFTER_BENCH_SIFTER:-}" ]; then
  sifter=$SIFTER_BENCH_SIFTER
else
  (cd "$root" && swift build -c release --product sifter >&2)
  sifter="$root/.build/release/sifter"
fi
bin=$("$integration/build-siftool.sh")
monitor="$here/monitor.py"
runs=$(mktemp -d "${TMPDIR:-/var/tmp}/sifter-fleet.XXXXXX")
reg=$runs/reg
trap '"$integration/registry/stop.sh" "$reg" >/dev/null 2>&1 || true; rm -rf "$runs"' EXIT
"$integration/registry/start.sh" none "$reg" >/dev/null
# shellcheck disable=SC1091
. "$reg/env"
python3 "$integration/registry/logging-proxy.py" "$REGISTRY" "$runs/requests.log" "$runs/proxy.port" &
echo $! >>"$reg/pids"
for _ in $(seq 50); do [ -s "$runs/proxy.port" ] && break; sleep 0.1; done
proxy=127.0.0.1:$(cat "$runs/proxy.port")

python3 "$integration/images/fleet.py" "$runs/layout" --images "$images" --base-mib "$base_mib" >"$runs/fleet.json"
{ echo "defaults:"; echo "  destination: out"; echo "images:"; } >"$runs/wishlist.yaml"
for k in $(seq 1 "$images"); do
  skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$runs/layout:app-$k" "docker://$REGISTRY/fleet/app-$k:1.0"
  echo "  - docker://$proxy/fleet/app-$k:1.0" >>"$runs/wishlist.yaml"
done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
measure() { local json=$1; shift; python3 "$monitor" --json "$json" -- "$@"; }
# Bytes of blobs the proxy served since the log was emptied (sizes from the layout).
blob_bytes() {
  python3 - "$runs/requests.log" "$runs/layout" <<'EOF'
import os, re, sys
total = 0
for line in open(sys.argv[1]):
    m = re.match(r"GET /v2/\S+/blobs/sha256:([0-9a-f]{64}) 200", line)
    if m:
        total += os.path.getsize(os.path.join(sys.argv[2], "blobs", "sha256", m.group(1)))
print(total)
EOF
}

for rep in $(seq 1 "$reps"); do
  echo "fleet: repetition $rep of $reps" >&2
  # (a) the reference pipeline, image after image, each in a fresh layout (as bench.sh runs it).
  : >"$runs/requests.log"
  for k in $(seq 1 "$images"); do
    rm -rf "$runs/tmp"; mkdir -p "$runs/tmp"
    measure "$runs/a-$rep-$k-skopeo.json" skopeo copy -q --src-tls-verify=false "docker://$proxy/fleet/app-$k:1.0" "oci:$runs/tmp/layout:img"
    measure "$runs/a-$rep-$k-umoci.json" umoci unpack --image "$runs/tmp/layout:img" "$runs/tmp/bundle" >/dev/null
    measure "$runs/a-$rep-$k-mksquashfs.json" mksquashfs "$runs/tmp/bundle/rootfs" "$runs/tmp/root.sqfs" -noappend -comp gzip -quiet -no-progress
    measure "$runs/a-$rep-$k-siftool.json" sh -c "'$bin/siftool' new '$runs/tmp/ref.sif' && '$bin/siftool' add --datatype 4 --parttype 2 --partfs 1 --partarch 2 '$runs/tmp/ref.sif' '$runs/tmp/root.sqfs'"
  done
  blob_bytes >"$runs/a-$rep.bytes"
  # (b) a loop of sifter build sharing one blob cache, cold at the start.
  rm -rf "$runs/tmp" "$runs/cache"; mkdir -p "$runs/tmp"
  : >"$runs/requests.log"
  for k in $(seq 1 "$images"); do
    SIFTER_CACHE_DIR="$runs/cache" measure "$runs/b-$rep-$k.json" "$sifter" build --plain-http "docker://$proxy/fleet/app-$k:1.0" "$runs/tmp/app-$k.sif" >/dev/null
  done
  blob_bytes >"$runs/b-$rep.bytes"
  # (c) sifter sync --jobs J, cold cache.
  rm -rf "$runs/tmp" "$runs/cache" "$runs/out"; mkdir -p "$runs/out"
  : >"$runs/requests.log"
  (cd "$runs" && SIFTER_CACHE_DIR="$runs/cache" measure "$runs/c-$rep.json" "$sifter" sync --plain-http --jobs "$jobs" wishlist.yaml >/dev/null)
  blob_bytes >"$runs/c-$rep.bytes"
  [ "$(ls "$runs/out" | wc -l)" = "$images" ] || { echo "fleet: sync wrote $(ls "$runs/out" | wc -l) SIFs" >&2; exit 1; }
  rm -rf "$runs/cache" "$runs/out" "$runs/tmp"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$runs" "$reps" "$images" "$base_mib" "$jobs" "$load_before" "$load_after" >"$out_file" <<'EOF'
import glob, json, os, platform, statistics, sys
runs, reps, images, base_mib, jobs, load_before, load_after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
def load(path): return json.load(open(path))
def loop(prefix, rep):
    steps = [load(p) for p in sorted(glob.glob(os.path.join(runs, "%s-%d-*.json" % (prefix, rep))))]
    return {"wall": sum(s["wall"] for s in steps), "cpu": sum(s["cpu"] for s in steps),
            "self": max(s["peakRSSSelfMB"] for s in steps), "tree": max(s["peakRSSTreeMB"] for s in steps)}
def single(prefix, rep):
    s = load(os.path.join(runs, "%s-%d.json" % (prefix, rep)))
    return {"wall": s["wall"], "cpu": s["cpu"], "self": s["peakRSSSelfMB"], "tree": s["peakRSSTreeMB"]}
def number(prefix, rep): return int(open(os.path.join(runs, "%s-%d.bytes" % (prefix, rep))).read())
rows = {"a": [loop("a", r) for r in range(1, reps + 1)], "b": [loop("b", r) for r in range(1, reps + 1)],
        "c": [single("c", r) for r in range(1, reps + 1)]}
downloaded = {k: statistics.median(number(k, r) for r in range(1, reps + 1)) / 1e6 for k in rows}
med = lambda k, f: statistics.median(row[f] for row in rows[k])
names = {"a": "(a) skopeo → umoci → mksquashfs → siftool, in a loop",
         "b": "(b) `sifter build` in a loop, one blob cache",
         "c": "(c) `sifter sync --jobs %s`" % jobs}
cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t") if os.path.exists("/proc/cpuinfo") else "?"
print("## Fleet: %d images sharing a base layer (issue 17)\n" % images)
print("Measured by `integration/bench/fleet.sh` (%d repetitions, alternating, medians): %d images of "
      "`integration/images/fleet.py` (a %s MiB base layer of busybox and seeded random bytes, shared, and a small "
      "layer each), served by CNCF distribution on 127.0.0.1 behind a logging proxy that counts blob GETs.\n" % (reps, images, base_mib))
print("Machine: %d cores (%s), Linux %s; load average %s before, %s after (shared with other work)." % (os.cpu_count(), cpu, platform.release(), load_before, load_after))
print()
print("| run | wall | ratio to (a) | user+sys CPU | blobs downloaded | peak RSS, sifter or largest step | peak RSS, process tree |")
print("|---|---|---|---|---|---|---|")
for k in ("a", "b", "c"):
    print("| %s | %.2f s | %.2f× | %.1f s | %.1f MB | %.0f MB | %.0f MB |" % (
        names[k], med(k, "wall"), med(k, "wall") / med("a", "wall"), med(k, "cpu"), downloaded[k], med(k, "self"), med(k, "tree")))
print()
print("Per repetition, wall (a / b / c): " + "; ".join("%.1f / %.1f / %.1f s" % (rows["a"][r]["wall"], rows["b"][r]["wall"], rows["c"][r]["wall"]) for r in range(reps)) + ".")
EOF
cat "$out_file"
