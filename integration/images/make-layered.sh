#!/usr/bin/env bash
# Builds the `layered` test image as an OCI layout with umoci: four layers from layers.py
# (the last one empty), an Entrypoint, Cmd, Env and Labels.
# Usage: make-layered.sh LAYOUT_DIR TAG
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
layout=$1 tag=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A static shell, so the runscript can be run in a chroot of the unpacked tree.
python3 "$here/layers.py" "$work" /bin/busybox
[ -d "$layout" ] || umoci init --layout "$layout"
umoci new --image "$layout:$tag"
for layer in layer1 layer2 layer3 layer4-empty; do
  umoci raw add-layer --image "$layout:$tag" "$work/$layer.tar"
done
umoci config --image "$layout:$tag" \
  --config.entrypoint /bin/sh --config.entrypoint -c \
  --config.cmd 'echo "hello from layered"' \
  --config.env 'PATH=/usr/local/bin:/usr/bin:/bin' --config.env 'GREETING=hello "world" $HOME' \
  --config.label org.opencontainers.image.title=layered --config.label 'org.example.note=with spaces' \
  --config.workingdir /data --config.user 1000:1000 \
  --architecture amd64 --os linux --created 2024-01-02T03:04:05Z
