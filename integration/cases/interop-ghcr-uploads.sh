# `sifter push` of a SIF over 64 MiB through fronts that run uploads as GHCR and Quay do, in
# front of the real registry with token auth (integration/registry/upload_rules.py): GHCR
# answers a PATCH body above 4 MiB with 416. By default the SIF goes up in one streamed PUT (no
# chunk at all); forced 32 MiB chunks shrink to 4 MiB on the 416s instead of failing; a PUT cut
# after 20 MiB is resumed from where the registry stands, in chunks GHCR accepts, in the same
# session; Quay's status Range (`bytes=0-<count>`) resumes at exactly that byte. Every stored
# blob is the SIF, read back from the registry itself.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry token
"$REGISTRY_SCRIPTS/start-front.sh" "$CASE_WORK/reg" ghcr --ghcr >/dev/null
"$REGISTRY_SCRIPTS/start-front.sh" "$CASE_WORK/reg" ghcrcut --ghcr --cut-first-put $((20 << 20)) >/dev/null
"$REGISTRY_SCRIPTS/start-front.sh" "$CASE_WORK/reg" quaycut --quay --cut-first-put $((20 << 20)) >/dev/null
# shellcheck disable=SC1091
. reg/env
size=$((80 << 20))
"$SIFTER" sif new big.sif --time 1700000000 >/dev/null
head -c $((size - 8192)) /dev/urandom >part.bin
"$SIFTER" sif add big.sif part.bin --type partition --part primSys --arch amd64 --time 1700000000 >/dev/null
sif_size=$(stat -c %s big.sif)
[ "$sif_size" -gt $((64 << 20)) ] || fail "the SIF is only $sif_size bytes"

push() {  # FRONT REPO:TAG LOG [flags…]
  local front=$1 target=$2 log=$3
  shift 3
  printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" push --plain-http -u "$REGISTRY_USER" --password-stdin --verbose "$@" \
    big.sif "oras://$front/$target" >"$log.out" 2>"$log.log" || fail "push to $target failed: $(tail -5 "$log.log")"
}
stored_is_the_sif() {  # REPO:TAG — pulled from the registry itself, not through a front
  printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" pull --plain-http -u "$REGISTRY_USER" --password-stdin \
    "oras://$REGISTRY/$1" "pulled-${1//[\/:]/-}.sif" >/dev/null || fail "pull of $1 failed"
  cmp -s "pulled-${1//[\/:]/-}.sif" big.sif || fail "the blob stored for $1 is not the SIF"
}
count() { grep -c "\"event\": \"$1\"" "$2" || true; }
chunk_lengths() {  # EVENTS → the lengths of the chunks the registry took, one a line
  python3 -c 'import json,sys; [print(e["length"]) for e in map(json.loads, open(sys.argv[1])) if e["event"] == "chunk"]' "$1"
}

# 1. The default: one streamed PUT of the whole SIF after the POST; GHCR's cap never comes up.
push "$ghcr_FRONT" test/plain:v1 plain
[ "$(count ghcr-416 "$ghcr_EVENTS")" = 0 ] || fail "416s on a default push: $(cat "$ghcr_EVENTS")"
[ "$(count chunk "$ghcr_EVENTS")" = 0 ] || fail "the default push sent chunks"
grep -q "\"event\": \"put\", \"uuid\": \"[^\"]*\", \"length\": $sif_size, \"status\": 201" "$ghcr_EVENTS" ||
  fail "no single PUT of the whole SIF: $(cat "$ghcr_EVENTS")"
stored_is_the_sif test/plain:v1

# 2. Forced 32 MiB chunks (what sifter sent above 64 MiB): GHCR's 416 halves them down to 4 MiB.
: >"$ghcr_EVENTS"
push "$ghcr_FRONT" test/chunked:v1 chunked --chunk-size $((32 << 20))
[ "$(count ghcr-416 "$ghcr_EVENTS")" = 3 ] || fail "expected 416s for 32, 16 and 8 MiB: $(grep 416 "$ghcr_EVENTS")"
grep -q "REQUESTED_RANGE_NOT_SATISFIABLE the request body is too large and exceeds the maximum permissible limit of 4.00MiB); chunks of 4194304 bytes from now on" chunked.log ||
  fail "the log does not say what the registry answered: $(grep -i refused chunked.log)"
lengths=$(chunk_lengths "$ghcr_EVENTS")
[ "$(awk '$1 > 4194304' <<<"$lengths" | wc -l)" = 0 ] || fail "a chunk above 4 MiB was taken: $lengths"
[ "$(awk '{s += $1} END {print s}' <<<"$lengths")" = "$sif_size" ] || fail "the chunks do not add up to the SIF"
stored_is_the_sif test/chunked:v1

# 3. The single PUT is cut after 20 MiB, which the registry keeps: the push asks where the upload
#    stands and sends the rest from there, in chunks GHCR takes, in the same session.
push "$ghcrcut_FRONT" test/cut:v1 cut
grep -q '"event": "put-cut".*"held": 20971520' "$ghcrcut_EVENTS" || fail "the PUT was not cut: $(cat "$ghcrcut_EVENTS")"
grep -q "asking the registry where to resume" cut.log || fail "the push did not ask where to resume: $(tail -5 cut.log)"
grep -q '"event": "upload-status", "uuid": "[^"]*", "held": 20971520' "$ghcrcut_EVENTS" || fail "no status request found the 20 MiB"
[ "$(count upload-started "$ghcrcut_EVENTS")" = 2 ] || fail "the upload was started again instead of resumed (config + SIF expected)"
lengths=$(chunk_lengths "$ghcrcut_EVENTS")
[ "$(awk '$1 > 4194304' <<<"$lengths" | wc -l)" = 0 ] || fail "a chunk above 4 MiB was taken: $lengths"
[ "$(awk '{s += $1} END {print s}' <<<"$lengths")" = $((sif_size - (20 << 20))) ] || fail "the chunks do not add up to the rest of the SIF"
stored_is_the_sif test/cut:v1

# 4. Quay's status says how many bytes it holds (`bytes=0-<count>`): the rest starts exactly there.
push "$quaycut_FRONT" test/quay:v1 quay
grep -q '"event": "put-cut".*"held": 20971520' "$quaycut_EVENTS" || fail "the PUT was not cut: $(cat "$quaycut_EVENTS")"
[ "$(count out-of-order "$quaycut_EVENTS")" = 0 ] || fail "a chunk started at the wrong byte: $(grep out-of-order "$quaycut_EVENTS")"
[ "$(count upload-started "$quaycut_EVENTS")" = 2 ] || fail "the upload was started again instead of resumed"
[ "$(chunk_lengths "$quaycut_EVENTS" | awk '{s += $1} END {print s}')" = $((sif_size - (20 << 20))) ] || fail "the chunks do not add up"
stored_is_the_sif test/quay:v1
grep -qF "$REGISTRY_PASSWORD" ./*.out ./*.log && fail "the password appears in sifter's output"
echo "GHCR-like pushes: one PUT by default, 416s shrink chunks to 4 MiB, a cut PUT resumed at 20 MiB (GHCR and Quay status)"
