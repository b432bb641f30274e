#!/usr/bin/env bash
# Builds the benchmark image as an OCI layout, once (reused while it exists): a debootstrap
# bookworm minbase, then python3-scipy, then a compiler toolchain, then a small config layer
# (4 layers, about 1.3 GiB unpacked). BENCH_IMAGE=minbase stops after the first layer;
# BENCH_IMAGE=links adds to the full image a layer of hard links to files of the lower layers
# and a small one with a whiteout (6 layers).
# Needs root (debootstrap, chroot) and the Debian mirror apt uses.
# Usage: make-image.sh LAYOUT_DIR
set -euo pipefail
layout=$1
kind=${BENCH_IMAGE:-full}
[ -f "$layout/index.json" ] && grep -q "\"bench-$kind\"" "$layout/index.json" && exit 0
if [ "$kind" = links ]; then
  BENCH_IMAGE=full "$0" "$layout"
  work=$(mktemp -d "${TMPDIR:-/var/tmp}/sifter-bench-links.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  umoci tag --image "$layout:bench-full" bench-links
  manifest=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1]+"/index.json")); print([m for m in i["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"]=="bench-links"][0]["digest"].split(":")[1])' "$layout")
  mapfile -t blobs < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+"/blobs/sha256/"+sys.argv[2])); [print(sys.argv[1]+"/blobs/sha256/"+l["digest"].split(":")[1]) for l in m["layers"]]' "$layout" "$manifest")
  python3 "$(dirname "$0")/hardlink-layers.py" "$work" "${blobs[@]}"
  umoci raw add-layer --image "$layout:bench-links" "$work/links.tar"
  umoci raw add-layer --image "$layout:bench-links" "$work/config.tar"
  umoci config --image "$layout:bench-links" --created 2024-06-01T00:00:00Z
  umoci gc --layout "$layout"
  exit 0
fi
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/sifter-bench-image.XXXXXX")
trap 'umount "$work/bundle/rootfs/proc" 2>/dev/null || true; rm -rf "$work"' EXIT

[ -d "$layout" ] || umoci init --layout "$layout"
umoci new --image "$layout:bench-$kind"
umoci unpack --image "$layout:bench-$kind" "$work/bundle" >/dev/null
echo "bench image: debootstrap minbase from $mirror" >&2
debootstrap --variant=minbase bookworm "$work/bundle/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }
umoci repack --refresh-bundle --image "$layout:bench-$kind" "$work/bundle"

if [ "$kind" = full ]; then
  install_layer() {
    echo "bench image: apt-get install $*" >&2
    cp /etc/resolv.conf "$work/bundle/rootfs/etc/resolv.conf"
    mount -t proc proc "$work/bundle/rootfs/proc"
    chroot "$work/bundle/rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
      >"$work/apt.log" 2>&1 || { umount "$work/bundle/rootfs/proc"; tail -20 "$work/apt.log" >&2; exit 1; }
    chroot "$work/bundle/rootfs" apt-get clean
    umount "$work/bundle/rootfs/proc"
    : >"$work/bundle/rootfs/etc/resolv.conf"
    umoci repack --refresh-bundle --image "$layout:bench-$kind" "$work/bundle"
  }
  chroot "$work/bundle/rootfs" apt-get update -q >/dev/null 2>&1 || true
  install_layer python3-scipy
  install_layer gcc g++ make libc6-dev
  mkdir -p "$work/bundle/rootfs/opt/app"
  printf '#!/bin/sh\nexec python3 -c "import scipy; print(scipy.__version__)"\n' >"$work/bundle/rootfs/opt/app/run"
  chmod 755 "$work/bundle/rootfs/opt/app/run"
  umoci repack --refresh-bundle --image "$layout:bench-$kind" "$work/bundle"
fi
umoci config --image "$layout:bench-$kind" --config.cmd /bin/bash --created 2024-06-01T00:00:00Z
umoci gc --layout "$layout"
