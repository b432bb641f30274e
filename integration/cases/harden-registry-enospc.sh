# A cache on a full file system (an 8 MiB tmpfs): a layer that does not fit fails the build
# with a message naming the cache and the lack of space, and leaves no partial download behind
# to hold the space — so a smaller image builds next. Partial downloads (a killed run's) are
# listed by `cache ls`, counted in its sizes and removed by `cache prune --max-size`.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
mkdir -p cache
if ! mount -t tmpfs -o size=8m sifter-test-cache "$CASE_WORK/cache" 2>mount.err; then
  echo "SKIP: cannot mount a tmpfs here: $(cat mount.err)"
  exit 0
fi
start_registry none
trap '"$REGISTRY_SCRIPTS/stop.sh" "$CASE_WORK/reg" >/dev/null 2>&1 || true; umount "$CASE_WORK/cache" 2>/dev/null || true' EXIT
"$REGISTRY_SCRIPTS/seed.sh" "$CASE_WORK/reg" test/big 10 2>/dev/null
"$REGISTRY_SCRIPTS/seed.sh" "$CASE_WORK/reg" test/small 3 2>/dev/null
export SIFTER_CACHE_DIR=$CASE_WORK/cache

status=0
"$SIFTER" build --plain-http "docker://$REGISTRY/test/big:single" big.sif >big.out 2>big.err || status=$?
[ "$status" = 74 ] && [ ! -e big.sif ] || fail "a 10 MiB layer in an 8 MiB cache: status $status, $(cat big.err)"
grep -q "blob cache $CASE_WORK/cache: write $CASE_WORK/cache/ingest/[0-9a-f]*.partial failed: No space left on device; the partial download of blob sha256:[0-9a-f]* was removed" big.err ||
  fail "unclear error: $(cat big.err)"
leftovers=$(find cache/ingest -name '*.partial' -size +0)
[ -z "$leftovers" ] || fail "the failed download left a partial holding the space: $(ls -l $leftovers)"

# The space is free again: an image that fits builds.
"$SIFTER" build --plain-http "docker://$REGISTRY/test/small:single" small.sif >small.out 2>small.err ||
  fail "the next build failed: $(cat small.err)"

# A killed run's partial download: listed, counted, pruned.
partial=cache/ingest/$(printf '%064d' 7).partial
head -c 100000 /dev/urandom >"$partial"
"$SIFTER" cache ls --json >ls.json
python3 - "$CASE_WORK/$partial" <<'PY' || fail "cache ls does not show the partial: $(cat ls.json)"
import json, sys
blobs = json.load(open("ls.json"))["blobs"]
partials = [b for b in blobs if b["partial"]]
assert [(b["path"], b["size"]) for b in partials] == [(sys.argv[1], 100000)], partials
assert all(not b["partial"] for b in blobs if b["path"] != sys.argv[1])
PY
grep -q "  partial$" <<<"$("$SIFTER" cache ls)" || fail "cache ls does not mark the partial"
grep -q "and 1 partial downloads" <<<"$("$SIFTER" cache ls)" || fail "cache ls does not count the partial"
"$SIFTER" cache prune --max-size 100M >prune.out
grep -q "removed 1 partial downloads" prune.out || fail "prune did not remove the partial: $(cat prune.out)"
[ ! -e "$partial" ] || fail "the partial is still there"
[ -s small.sif ] || fail "no SIF"
echo "a full cache fails cleanly and frees its partial; partials are listed and pruned"
