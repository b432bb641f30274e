# A cold `sifter build` reads each layer while it downloads (largest first), through a slow
# link: the index pass starts before the blobs are complete, the SIF is byte-identical to one built
# after waiting for every layer (SIFTER_STREAM_DOWNLOADS=0), and the blobs land verified in the
# cache. A blob the registry serves corrupted (same size, one byte changed) is reported as the
# download's digest mismatch, not as whatever the stream made of the bad bytes; nothing is
# written and the cache does not keep the bad blob.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry none
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-tls-verify=false oci:layout:t1 "docker://$REGISTRY/test/image:1"
PROXY_BYTES_PER_SECOND=$((512 << 10)) start_logging_proxy

SIFTER_CACHE_DIR=$CASE_WORK/cache-streamed "$SIFTER" build --plain-http --json \
  "docker://$proxy/test/image:1" streamed.sif >streamed.json
SIFTER_STREAM_DOWNLOADS=0 SIFTER_CACHE_DIR=$CASE_WORK/cache-waited "$SIFTER" build --plain-http --json \
  "docker://$proxy/test/image:1" waited.sif >waited.json
cmp streamed.sif waited.sif || fail "reading layers while they download changed the SIF"
python3 - <<'PY' || fail "the stream did not read layers while they downloaded"
import json
streamed, waited = json.load(open("streamed.json")), json.load(open("waited.json"))
assert streamed["layersReadWhileDownloading"] >= 1, streamed
assert waited["layersReadWhileDownloading"] == 0, waited
PY
for cache in cache-streamed cache-waited; do
  for blob in "$CASE_WORK/$cache"/blobs/sha256/*; do
    [ "sha256:$(sha256sum "$blob" | cut -d' ' -f1)" = "sha256:${blob##*/}" ] || fail "$cache holds a bad blob ${blob##*/}"
  done
done

# Corrupt the top layer where the registry stores it (distribution does not re-check on GET).
top=$(python3 -c '
import json
idx = json.load(open("layout/index.json"))
m = json.load(open("layout/blobs/sha256/" + idx["manifests"][0]["digest"].split(":")[1]))
print(m["layers"][-1]["digest"].split(":")[1])')
data=$(find "$CASE_WORK/reg/storage" -path "*/blobs/sha256/*/$top/data")
[ -f "$data" ] || fail "registry storage has no blob $top"
size=$(stat -c %s "$data")
printf '\xff' | dd of="$data" bs=1 seek=$((size / 2)) conv=notrunc status=none
status=0
SIFTER_CACHE_DIR=$CASE_WORK/cache-bad "$SIFTER" build --plain-http "docker://$proxy/test/image:1" bad.sif 2>bad.err || status=$?
[ "$status" != 0 ] || fail "a corrupted blob was accepted"
grep -q "$top" bad.err || fail "the error does not name the corrupted blob: $(cat bad.err)"
grep -qi "digest" bad.err || fail "the error is not the download's digest mismatch: $(cat bad.err)"
[ ! -e bad.sif ] || fail "a SIF was written from a corrupted blob"
[ -z "$(find . -maxdepth 1 -name '.bad.sif*')" ] || fail "a temporary file was left behind"
[ ! -e "$CASE_WORK/cache-bad/blobs/sha256/$top" ] || fail "the corrupted blob was kept in the cache"
echo "streamed: $(python3 -c 'import json; d=json.load(open("streamed.json")); print(d["layersReadWhileDownloading"], "layers read while downloading;", d["timings"])')"
