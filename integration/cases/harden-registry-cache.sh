# A damaged blob in the cache does not poison it: a cached layer whose bytes changed (a byte of
# its gzip header, a byte of its data, one byte more) is found out before the build reads it,
# removed with a warning and downloaded again, and the build gives the same SIF as before;
# the cache then holds the good blob. When the registry can no longer give the blob (deleted
# there; the manifest is still served), the error names the cache file.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry none
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-tls-verify=false oci:layout:t1 "docker://$REGISTRY/test/layered:t1"
export SIFTER_CACHE_DIR=$CASE_WORK/cache
ref="docker://$REGISTRY/test/layered:t1"
"$SIFTER" build --plain-http "$ref" good.sif >/dev/null 2>good.err || fail "first build failed: $(cat good.err)"

# The largest layer, as the manifest lists it.
read -r hex size < <(python3 -c '
import json
idx = json.load(open("layout/index.json"))
m = json.load(open("layout/blobs/sha256/" + idx["manifests"][0]["digest"].split(":")[1]))
l = max(m["layers"], key=lambda l: l["size"])
print(l["digest"].split(":")[1], l["size"])')
blob=$CASE_WORK/cache/blobs/sha256/$hex
[ -f "$blob" ] || fail "the layer is not in the cache"
poke() {  # OFFSET: flips the low bit of one byte in place
  python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 1]))' "$blob" "$1"
}
rebuild() {  # NAME WHAT EXPECTED-PROBLEM [env…]
  local name=$1 what=$2 problem=$3
  shift 3
  env "$@" "$SIFTER" build --plain-http --force "$ref" "$name.sif" >/dev/null 2>"$name.err" ||
    fail "the build after $what failed: $(cat "$name.err")"
  grep -qF "sifter: warning: blob cache $blob: the cached blob $problem" "$name.err" || fail "no warning after $what: $(cat "$name.err")"
  grep -q "removed it, fetching it again" "$name.err" || fail "the warning does not say what was done: $(cat "$name.err")"
  cmp -s good.sif "$name.sif" || fail "the SIF built after $what differs"
  [ "$(sha256sum "$blob" | cut -d' ' -f1)" = "$hex" ] || fail "the cache does not hold the good blob after $what"
}

poke 4  # the gzip header's MTIME: the layer still decompresses to the same tar
rebuild header "a changed gzip header byte" "has digest sha256:"
poke $((size / 2))
rebuild middle "a flipped data byte" "has digest sha256:" SIFTER_STREAM_DOWNLOADS=0
printf 'x' >>"$blob"
rebuild longer "one byte more" "is $((size + 1)) bytes, expected $size"
truncate -s $((size - 7)) "$blob"
rebuild shorter "seven bytes less" "is $((size - 7)) bytes, expected $size"
"$SIFTER" build --plain-http "$ref" again.sif >/dev/null 2>again.err
grep -q "warning" again.err && fail "a good cache still warns: $(cat again.err)"

# The registry loses the blob: the damaged copy cannot be replaced; the error names the cache.
poke 4
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$REGISTRY/v2/test/layered/blobs/sha256:$hex")" = 202 ] ||
  fail "cannot delete the blob from the registry"
status=0
"$SIFTER" build --plain-http "$ref" gone.sif >/dev/null 2>gone.err || status=$?
[ "$status" = 69 ] && [ ! -e gone.sif ] || fail "status $status with the blob gone: $(cat gone.err)"
grep -qF "blob cache $blob: the cached blob has digest sha256:" gone.err || fail "the error does not name the cache: $(cat gone.err)"
grep -q "so it was removed, but fetching it again failed: .*blob sha256:$hex not found" gone.err || fail "the error does not say the refetch failed: $(cat gone.err)"
[ ! -e "$blob" ] || fail "the damaged blob is still in the cache"
echo "damaged cached blobs are replaced with a warning; without the registry the error names the cache"
