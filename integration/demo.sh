#!/usr/bin/env bash
# The main job on a built-in default: starts a real registry (CNCF distribution) on
# 127.0.0.1, seeds it with a small real image (busybox-based, several layers with whiteouts,
# hardlinks and special files), converts it with `sifter build docker://…`, shows the result
# with `sifter inspect`, has the reference siftool list it, and runs its runscript.
# Usage: integration/demo.sh [OUT.sif]   (default ./demo.sif)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=$(realpath -m "${1:-$root/demo.sif}")
"$here/install-deps.sh"
(cd "$root" && swift build --product sifter >&2)
sifter="$root/.build/debug/sifter"
work=$(mktemp -d)
trap '"$here/registry/stop.sh" "$work/registry" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

echo "== starting a registry on 127.0.0.1 and pushing the demo image with skopeo"
"$here/registry/start.sh" none "$work/registry" >/dev/null
# shellcheck disable=SC1091
. "$work/registry/env"
"$here/images/make-layered.sh" "$work/layout" demo >/dev/null
skopeo copy -q --dest-tls-verify=false "oci:$work/layout:demo" "docker://$REGISTRY/sifter/demo:1.0"

echo "== sifter build docker://$REGISTRY/sifter/demo:1.0 $out"
SIFTER_CACHE_DIR="$work/cache" "$sifter" build --force --plain-http "docker://$REGISTRY/sifter/demo:1.0" "$out"
echo
"$sifter" inspect "$out" | sed -n '1,/^JSON.Generic object (object 2)/p' | sed '$d'

bin=$("$here/build-siftool.sh")
echo "== the reference implementation (siftool list) reads it as"
"$bin/siftool" list "$out"
offset=$("$sifter" inspect --json "$out" | python3 -c 'import json,sys; print([d for d in json.load(sys.stdin)["descriptors"] if d["type"]=="partition"][0]["offset"])')
unsquashfs -q -d "$work/tree" -o "$offset" "$out" >/dev/null
if [ "$(id -u)" -eq 0 ]; then
  echo "== its runscript, run in a chroot of the partition:"
  chroot "$work/tree" /bin/sh /.singularity.d/runscript
fi
echo "demo: wrote $out"
