# Two sifter processes pulling the same image into one blob cache at the same time both
# succeed, produce the same SIF, and leave every cached blob complete and named by its digest.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry none
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-tls-verify=false oci:layout:t1 "docker://$REGISTRY/test/layered:t1"
export SIFTER_CACHE_DIR=$CASE_WORK/cache
"$SIFTER" build --plain-http "docker://$REGISTRY/test/layered:t1" one.sif >one.log 2>&1 &
first=$!
"$SIFTER" build --plain-http "docker://$REGISTRY/test/layered:t1" two.sif >two.log 2>&1 &
second=$!
wait "$first" || fail "first concurrent build failed: $(cat one.log)"
wait "$second" || fail "second concurrent build failed: $(cat two.log)"
cmp one.sif two.sif || fail "the two builds differ"
count=0
for blob in cache/blobs/sha256/*; do
  [ "$(sha256sum "$blob" | cut -d' ' -f1)" = "$(basename "$blob")" ] || fail "cached blob $blob does not match its name"
  count=$((count + 1))
done
[ "$count" -ge 4 ] || fail "expected the 4 layers in the cache, found $count blobs"
leftovers=$(find cache/ingest -name '*.partial')
[ -z "$leftovers" ] || fail "partial downloads left in the cache: $leftovers"
echo "two processes, one cache: both builds identical, $count blobs complete"
