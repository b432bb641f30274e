# Error messages say what the registry (or the connection) did: a chunked push whose every
# upload body is cut by a connection reset reports the reset after its attempts, never a
# made-up "HTTP 0"; a response header of 1 MiB is reported as a header above curl's limit,
# not as curl's "Out of memory".
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry none
"$REGISTRY_SCRIPTS/start-front.sh" "$CASE_WORK/reg" resets --reset-uploads >/dev/null
"$REGISTRY_SCRIPTS/start-front.sh" "$CASE_WORK/reg" huge --huge-header >/dev/null
# shellcheck disable=SC1091
. reg/env

"$SIFTER" sif new big.sif --time 1700000000 >/dev/null
head -c $((3 << 20)) /dev/urandom >part.bin
"$SIFTER" sif add big.sif part.bin --type partition --part primSys --arch amd64 --time 1700000000 >/dev/null
status=0
"$SIFTER" push --plain-http --chunk-size $((1 << 20)) big.sif "oras://$resets_FRONT/test/big:v1" >push.out 2>push.err || status=$?
[ "$status" -ne 0 ] || fail "the push succeeded although every upload body was cut"
grep -q '"upload-reset"' "$resets_EVENTS" || fail "no upload was cut: $(cat "$resets_EVENTS")"
grep -q "HTTP 0" push.err && fail "the error invents a status: $(cat push.err)"
grep -qE "chunked upload of blob sha256:[0-9a-f]{12} still failing after 5 attempts; the last one got no answer: .*\[CURLcode (55|56|65)\]" push.err ||
  fail "the error does not say what happened: $(cat push.err)"

"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-tls-verify=false oci:layout:t1 "docker://$REGISTRY/test/layered:t1"
status=0
"$SIFTER" build --plain-http "docker://$huge_FRONT/test/layered:t1" huge.sif >huge.out 2>huge.err || status=$?
[ "$status" -ne 0 ] && [ ! -e huge.sif ] || fail "a 1 MiB response header was accepted"
grep -q '"huge-header"' "$huge_EVENTS" || fail "the front sent no huge header: $(cat "$huge_EVENTS")"
grep -q "Out of memory" huge.err && fail "the error blames memory: $(cat huge.err)"
grep -q "response from http://$huge_FRONT/v2/test/layered/manifests/t1 has a header larger than curl's limit (102400 bytes)" huge.err ||
  fail "the error does not name the header: $(cat huge.err)"
echo "a reset upload is reported as such; a huge header is named"
