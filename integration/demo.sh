#!/usr/bin/env bash
# The main job on a built-in default. Until `sifter build` lands, this writes an
# Apptainer-shaped SIF (definition file, JSON metadata, primary squashfs partition) with
# `sifter sif`, shows it with `sifter inspect`, and has the reference siftool read it back.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
"$here/install-deps.sh"
(cd "$root" && swift build --product sifter >&2)
sifter="$root/.build/debug/sifter"
out=${1:-$root/demo.sif}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/.singularity.d"
printf '#!/bin/sh\necho "hello from sifter"\n' >"$work/rootfs/.singularity.d/runscript"
chmod 755 "$work/rootfs/.singularity.d/runscript"
echo "sifter-demo" >"$work/rootfs/etc/hostname"
mksquashfs "$work/rootfs" "$work/root.sqfs" -noappend -quiet -no-progress -all-root >/dev/null
printf 'bootstrap: localimage\nfrom: demo\n\n' >"$work/def"
printf '{"data":{"attributes":{"labels":{"org.opencontainers.image.title":"sifter demo"}}},"type":"container"}' >"$work/inspect.json"
printf '{"Cmd":["/bin/sh"]}' >"$work/oci-config.json"

"$sifter" sif new "$out" --force --deterministic >/dev/null
"$sifter" sif add "$out" "$work/def" --type deffile --deterministic >/dev/null
"$sifter" sif add "$out" "$work/inspect.json" --type genericJSON --name inspect-metadata.json --deterministic >/dev/null
"$sifter" sif add "$out" "$work/oci-config.json" --type genericJSON --name oci-config.json --deterministic >/dev/null
"$sifter" sif add "$out" "$work/root.sqfs" --type partition --fs squashfs --part primSys --arch amd64 --deterministic >/dev/null
"$sifter" inspect "$out"

bin=$("$here/build-siftool.sh")
echo
echo "The reference implementation reads it as:"
"$bin/siftool" list "$out"
offset=$("$sifter" inspect --json "$out" | python3 -c 'import json,sys; print([d for d in json.load(sys.stdin)["descriptors"] if d["type"]=="partition"][0]["offset"])')
unsquashfs -o "$offset" -cat "$out" .singularity.d/runscript
echo "demo: wrote $out"
