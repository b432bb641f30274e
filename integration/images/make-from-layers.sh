#!/usr/bin/env bash
# Builds an image in an OCI layout with umoci from layer tarballs, lowest first.
# Usage: make-from-layers.sh LAYOUT_DIR TAG LAYER.tar...
set -euo pipefail
layout=$1 tag=$2
shift 2
[ -d "$layout" ] || umoci init --layout "$layout"
umoci new --image "$layout:$tag"
for layer in "$@"; do
  umoci raw add-layer --image "$layout:$tag" "$layer"
done
umoci config --image "$layout:$tag" --architecture amd64 --os linux --created 2024-01-01T00:00:00Z \
  --config.cmd /bin/true >/dev/null
