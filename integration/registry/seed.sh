#!/usr/bin/env bash
# Seeds a registry started by start.sh with the test image (make-image.py) using skopeo, an
# independent client. Usage: seed.sh WORKDIR REPOSITORY [BIG_LAYER_MIB]
# Pushes tags `latest` (index: amd64, arm64/v8, attestation) and `single` (amd64 manifest);
# writes the digests to WORKDIR/image.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: seed.sh WORKDIR REPOSITORY [BIG_LAYER_MIB]}
repo=${2:?usage: seed.sh WORKDIR REPOSITORY [BIG_LAYER_MIB]}
big=${3:-3}
# shellcheck disable=SC1091
. "$work/env"
layout="$work/layout-$big"
[ -f "$layout/index.json" ] || python3 "$here/make-image.py" "$layout" --big-mib "$big" >"$work/image.json"
creds=()
[ "$REGISTRY_MODE" = none ] || creds=(--dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD")
for tag in latest single; do
  skopeo copy --quiet --all --preserve-digests --dest-tls-verify=false "${creds[@]}" \
    "oci:$layout:$tag" "docker://$REGISTRY/$repo:$tag" >&2
done
