# Helpers for the harden-layers-* cases (sourced after lib.sh, in $CASE_WORK): one-layer images
# in ./layout from the layers harden.py writes, built both ways sifter can flatten them.

# harden_images NAME...: layers/NAME.tar as image layout:NAME.
harden_images() {
  python3 "$IMAGES/harden.py" layers "$@"
  local name
  for name in "$@"; do "$IMAGES/make-from-layers.sh" layout "$name" "layers/$name.tar" >/dev/null; done
}

# layer_digest TAG: the digest of the top layer of layout:TAG.
layer_digest() {
  python3 - "$1" <<'PY'
import json, sys
index = json.load(open("layout/index.json"))
manifest = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == sys.argv[1]][0]
print(json.load(open("layout/blobs/sha256/" + manifest["digest"].split(":")[1]))["layers"][-1]["digest"])
PY
}

# build_both TAG [build flags]: builds TAG.sif by default (one pass, which must not be given up)
# and TAG-two-pass.sif with SIFTER_ONE_PASS=0.
build_both() {
  local tag=$1
  shift
  "$SIFTER" build --json "$@" "oci:layout:$tag" "$tag.sif" >"$tag.json"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["onePass"], r["onePassAbandoned"]' "$tag.json" ||
    fail "$tag: one pass abandoned"
  SIFTER_ONE_PASS=0 "$SIFTER" build "$@" "oci:layout:$tag" "$tag-two-pass.sif" >/dev/null
}

# expect_refused TAG TEXT...: the build fails with and without SIFTER_ONE_PASS=0, its error names
# the image, the layer and every TEXT (the entry, the reason), and nothing is left behind.
expect_refused() {
  local tag=$1 layer status mode part
  shift
  layer=$(layer_digest "$tag")
  for mode in default two-pass; do
    status=0
    if [ "$mode" = default ]; then
      "$SIFTER" build "oci:layout:$tag" "$tag.sif" >/dev/null 2>"$tag.err" || status=$?
    else
      SIFTER_ONE_PASS=0 "$SIFTER" build "oci:layout:$tag" "$tag.sif" >/dev/null 2>"$tag.err" || status=$?
    fi
    [ "$status" -ne 0 ] || fail "$tag ($mode) was accepted"
    for part in "oci:layout:$tag" "layer $layer" "$@"; do
      grep -qF -- "$part" "$tag.err" || fail "$tag ($mode): error '$(cat "$tag.err")' does not name '$part'"
    done
    [ ! -e "$tag.sif" ] || fail "$tag ($mode): a failed build left $tag.sif"
    grep -q 'sifter-.*\.tmp' <<<"$(ls -a)" && fail "$tag ($mode): a failed build left a temporary file"
  done
  echo "refused: $tag: $(tail -c 200 "$tag.err")"
}

# listing SIF: unsquashfs -lln of the SIF's partition, times in UTC.
listing() {
  TZ=UTC unsquashfs -lln -o "$(partition_offset "$1")" "$1"
}
