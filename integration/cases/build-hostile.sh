# Hostile layers are neutralised inside the root (as umoci does) or rejected with an error
# naming the image, the layer and the entry; a failed build leaves no output and no temp file,
# and nothing is ever written outside the output.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
python3 "$IMAGES/hostile.py" layers
rm -f /tmp/sifter-escape-*

umoci init --layout layout >/dev/null
umoci new --image layout:escape >/dev/null
umoci raw add-layer --image layout:escape layers/escape.tar >/dev/null
umoci config --image layout:escape --architecture amd64 --os linux --created 2024-01-01T00:00:00Z >/dev/null
"$SIFTER" build oci:layout:escape escape.sif
offset=$(partition_offset escape.sif)
unsquashfs -lls -o "$offset" escape.sif >listing.txt
for inside in squashfs-root/tmp/sifter-escape-dotdot squashfs-root/tmp/sifter-escape-absolute \
              squashfs-root/tmp/sifter-escape-through-symlink squashfs-root/tmp/sifter-escape-relative; do
  grep -q " $inside\$" listing.txt || fail "$inside not resolved inside the root: $(cat listing.txt)"
done
ls /tmp/sifter-escape-* 2>/dev/null && fail "a hostile entry was written outside the output"

# A hard link to a file outside the tree: refused, naming image, layer and entry.
umoci new --image layout:badlink >/dev/null
umoci raw add-layer --image layout:badlink layers/badlink.tar >/dev/null
umoci config --image layout:badlink --architecture amd64 --os linux >/dev/null
layer=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["layers"][0]["digest"])' \
  "layout/blobs/sha256/$(python3 -c 'import json; print([m for m in json.load(open("layout/index.json"))["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"]=="badlink"][0]["digest"].split(":")[1])')")
status=0; "$SIFTER" build oci:layout:badlink bad.sif 2>err.txt || status=$?
[ "$status" -ne 0 ] || fail "a hard link out of the tree was accepted"
for part in "oci:layout:badlink" "$layer" "hard"; do
  grep -qF "$part" err.txt || fail "error '$(cat err.txt)' does not name $part"
done
[ ! -e bad.sif ] || fail "a failed build left bad.sif"

# A truncated layer blob: the digest check names the layer; no output, no temp file.
"$IMAGES/make-layered.sh" layered t1 >/dev/null
blob=$(ls -S layered/blobs/sha256 | head -1)
chmod u+w "layered/blobs/sha256/$blob"
truncate -s -100 "layered/blobs/sha256/$blob"
status=0; "$SIFTER" build oci:layered:t1 broken.sif 2>err.txt || status=$?
[ "$status" -ne 0 ] || fail "a truncated layer was accepted"
grep -qF "sha256:$blob" err.txt || fail "error '$(cat err.txt)' does not name the layer"
[ ! -e broken.sif ] || fail "a failed build left broken.sif"
grep -q 'sifter-.*\.tmp' <<<"$(ls -a)" && fail "a failed build left a temporary file"

# An existing output is not replaced without --force.
status=0; "$SIFTER" build oci:layout:escape escape.sif 2>err.txt || status=$?
[ "$status" -ne 0 ] && grep -q "already exists" err.txt || fail "existing output replaced without --force"
"$SIFTER" build --force oci:layout:escape escape.sif >/dev/null
echo "hostile layers neutralised or refused; failures leave nothing behind"
