# Helpers for the harden-layers-* cases (sourced after lib.sh, in $CASE_WORK): one-layer images
# in ./layout from the layers harden.py writes, built twice (the builds must be identical).

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

# build_twice TAG [build flags]: builds TAG.sif and TAG-again.sif, which must be identical.
build_twice() {
  local tag=$1
  shift
  "$SIFTER" build --json "$@" "oci:layout:$tag" "$tag.sif" >"$tag.json"
  "$SIFTER" build "$@" "oci:layout:$tag" "$tag-again.sif" >/dev/null
  cmp "$tag.sif" "$tag-again.sif" || fail "$tag: two builds differ"
}

# expect_refused TAG TEXT...: the build fails with bad input (65), its error names the image,
# the layer and every TEXT (the entry, the reason), and nothing is left behind.
expect_refused() {
  local tag=$1 layer status=0 part
  shift
  layer=$(layer_digest "$tag")
  "$SIFTER" build "oci:layout:$tag" "$tag.sif" >/dev/null 2>"$tag.err" || status=$?
  [ "$status" -eq 65 ] || fail "$tag: exit status $status, expected 65: $(cat "$tag.err")"
  for part in "oci:layout:$tag" "layer $layer" "$@"; do
    grep -qF -- "$part" "$tag.err" || fail "$tag: error '$(cat "$tag.err")' does not name '$part'"
  done
  [ ! -e "$tag.sif" ] || fail "$tag: a failed build left $tag.sif"
  grep -q 'sifter-.*\.tmp' <<<"$(ls -a)" && fail "$tag: a failed build left a temporary file"
  echo "refused: $tag: $(tail -c 200 "$tag.err")"
}

# listing SIF: unsquashfs -lln of the SIF's partition, times in UTC.
listing() {
  TZ=UTC unsquashfs -lln -o "$(partition_offset "$1")" "$1"
}
