# `sifter verify` against a real registry (CNCF distribution on 127.0.0.1, no auth): a fresh SIF
# verifies; one flipped byte in the partition, the definition file or a descriptor fails and
# names the object; re-tagging the source fails the source check naming both digests;
# `--rebuild` gives identical bytes for each integration image (the layered image, the seeded
# multi-platform index with non-default options, an OCI layout); `--offline` works with the
# registry stopped, and without --offline a stopped registry means "cannot check" (exit 2).
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
registry=$REGISTRY_SCRIPTS
start_registry none
export SIFTER_CACHE_DIR=$CASE_WORK/cache

"$IMAGES/make-layered.sh" layout t1 >/dev/null
# A second, different image to move the tag to later.
"$IMAGES/make-layered.sh" layout t2 >/dev/null
umoci config --image layout:t2 --config.label org.example.note=moved >/dev/null
skopeo copy -q --dest-tls-verify=false oci:layout:t1 "docker://$REGISTRY/test/layered:t1"
"$registry/seed.sh" "$CASE_WORK/reg" test/multi 1 2>/dev/null

# Runs `sifter verify`, keeping stdout and the exit status: `check WANT NAME ARGS…`.
check() {
  local want=$1 name=$2 status=0
  shift 2
  "$SIFTER" verify "$@" >"$name.out" 2>"$name.err" || status=$?
  [ "$status" = "$want" ] || fail "$name: exit $status, expected $want: $(cat "$name.out" "$name.err")"
}
# Flips one byte of FILE at OFFSET.
flip() {
  python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1)[0]; f.seek(int(sys.argv[2])); f.write(bytes([b ^ 0x5A]))' "$1" "$2"
}
# Field of object ID in `sifter inspect --json`: `field FILE ID KEY`.
field() {
  "$SIFTER" inspect --json "$1" | python3 -c 'import json, sys
d = [d for d in json.load(sys.stdin)["descriptors"] if d["id"] == int(sys.argv[1])][0]; print(d[sys.argv[2]])' "$2" "$3"
}

# A fresh SIF verifies: integrity, source, and a rebuild from the cache.
"$SIFTER" build --plain-http "docker://$REGISTRY/test/layered:t1" fresh.sif >/dev/null
grep -q 'sifter-integrity.json' <<<"$("$SIFTER" inspect fresh.sif)" || fail "no integrity object"
check 0 fresh --plain-http fresh.sif
grep -q '^verified: fresh.sif: ' fresh.out || fail "verdict line: $(cat fresh.out)"
[ "$(wc -l <fresh.out)" = 1 ] || fail "the verdict is not one line"
check 0 fresh-json --plain-http --json fresh.sif
python3 - <<'PY' || fail "JSON report"
import json
r = json.load(open("fresh-json.out"))
assert r["verdict"] == "verified" and r["exitCode"] == 0, r
assert r["integrity"]["status"] == "passed" and len(r["integrity"]["objects"]) == 6, r["integrity"]
assert r["source"]["status"] == "passed" and r["source"]["moved"] is False, r["source"]
assert r["source"]["currentManifestDigest"] == r["source"]["recordedManifestDigest"]
PY
check 0 rebuild --plain-http --rebuild --json fresh.sif
python3 -c 'import json; r = json.load(open("rebuild.out")); assert r["rebuild"]["status"] == "passed", r["rebuild"]' ||
  fail "rebuild: $(cat rebuild.out)"

# One flipped byte: in the partition, the definition file, a descriptor (the partition's
# creation time), the integrity record itself. Each fails offline and names the object.
flip_case() {
  local name=$1 offset=$2 expect=$3
  cp fresh.sif "$name.sif"
  flip "$name.sif" "$offset"
  check 1 "$name" --offline "$name.sif"
  grep -q "^MISMATCH: $name.sif: integrity: " "$name.out" || fail "$name: verdict $(cat "$name.out")"
  grep -qF "$expect" "$name.out" || fail "$name: does not name $expect: $(cat "$name.out")"
}
part_offset=$(field fresh.sif 4 offset) part_size=$(field fresh.sif 4 size)
flip_case partition $((part_offset + part_size / 2)) 'object 4 (partition): data hashes to sha256:'
flip_case deffile $(($(field fresh.sif 1 offset) + 3)) 'object 1 (deffile): data hashes to sha256:'
desc_offset=$("$SIFTER" inspect --json fresh.sif | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["descriptorsOffset"])')
flip_case descriptor $((desc_offset + 3 * 585 + 41)) 'object 4 (partition): descriptor differs from the build: createdAt is'
flip_case record $(($(field fresh.sif 7 offset) + 20)) 'object 7 "sifter-integrity.json" (genericJSON): the record is damaged'

# The tag moves to another image: the source check fails and names both digests.
built=$(python3 -c 'import json; print(json.load(open("fresh-json.out"))["source"]["recordedManifestDigest"])')
skopeo copy -q --dest-tls-verify=false oci:layout:t2 "docker://$REGISTRY/test/layered:t1"
cp fresh.sif moved.sif
check 1 moved --plain-http moved.sif
now=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/test/layered:t1")
[ "$now" != "$built" ] || fail "the re-tag did not change the digest"
grep -q "^MISMATCH: moved.sif: source: .*has moved: built from $built, now $now" moved.out || fail "moved tag: $(cat moved.out)"
# Pinned to the digest it was built from, the same SIF still verifies.
check 0 pinned --plain-http --source "docker://$REGISTRY/test/layered@$built" fresh.sif

# The seeded index, another platform and non-default options: the source check follows the
# index to the recorded platform, and the rebuild repeats platform, compression, block size.
"$SIFTER" build --plain-http --platform linux/arm64/v8 --compression zstd --block-size 65536 \
  "docker://$REGISTRY/test/multi:latest" multi.sif >/dev/null
check 0 multi --plain-http --rebuild --json multi.sif
python3 - <<'PY' || fail "multi-platform: $(cat multi.out)"
import json
r = json.load(open("multi.out"))
assert r["source"]["recordedIndexDigest"] and r["source"]["currentIndexDigest"] == r["source"]["recordedIndexDigest"], r["source"]
assert r["rebuild"]["status"] == "passed", r["rebuild"]
PY

# An OCI layout source needs no registry for the source check or the rebuild.
"$SIFTER" build oci:layout:t1 local.sif >/dev/null
check 0 local --rebuild local.sif

# Registry stopped: --offline still verifies; an online check cannot be made (exit 2), and a
# damaged SIF is still a mismatch (exit 1) rather than "cannot check".
"$registry/stop.sh" "$CASE_WORK/reg" >/dev/null
check 0 offline --offline fresh.sif
grep -q '^verified: fresh.sif: integrity: 6 objects' offline.out || fail "offline: $(cat offline.out)"
check 2 unreachable --plain-http fresh.sif
grep -q '^CANNOT CHECK: fresh.sif: source: ' unreachable.out || fail "unreachable: $(cat unreachable.out)"
check 1 unreachable-damaged --plain-http partition.sif

# A SIF sifter did not build (no provenance, no record) cannot be checked.
"$SIFTER" sif new --deterministic plain.sif
check 2 plain --offline plain.sif
echo "verify: fresh SIFs verify, flipped bytes and moved tags are named, rebuilds are identical, offline works"
