# `sifter push` when the registry sends the upload to another origin (an upload `Location` on
# another port, as an S3-style pre-signed URL would be): the registry's credentials never go
# there, the upload completes without them (monolithic and chunked), a host there that demands
# credentials is a clear error, and an https registry can never send the upload to plain http.
# front.py logs any Authorization header reaching the other origin as "authorization-leak".
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry basic
"$REGISTRY_SCRIPTS/start-front.sh" "$CASE_WORK/reg" elsewhere --upload-elsewhere >/dev/null
"$REGISTRY_SCRIPTS/start-front.sh" "$CASE_WORK/reg" demanding --upload-elsewhere-demands-auth >/dev/null
# shellcheck disable=SC1091
. reg/env

make_sif() {  # NAME BYTES: a SIF with a random partition of BYTES
  "$SIFTER" sif new "$1" --time 1700000000 >/dev/null
  head -c "$2" /dev/urandom >"$1.part"
  "$SIFTER" sif add "$1" "$1.part" --type partition --part primSys --arch amd64 --time 1700000000 >/dev/null
}
make_sif small.sif 300000
make_sif big.sif $((3 << 20))
push() {  # FRONT REPO SIF [flags…]
  local front=$1 repo=$2 sif=$3
  shift 3
  printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" push --plain-http -u "$REGISTRY_USER" --password-stdin --verbose "$@" \
    "$sif" "oras://$front/$repo"
}

# 1. Monolithic and chunked uploads continue at the other origin without credentials.
push "$elsewhere_FRONT" test/elsewhere:small small.sif >small.out 2>small.log || fail "push failed: $(tail -5 small.log)"
push "$elsewhere_FRONT" test/elsewhere:big big.sif --chunk-size $((1 << 20)) >big.out 2>big.log || fail "chunked push failed: $(tail -5 big.log)"
grep -q '"upload-elsewhere"' "$elsewhere_EVENTS" || fail "the front never moved an upload: $(cat "$elsewhere_EVENTS")"
grep -q '"upload-proxied".*"PATCH"' "$elsewhere_EVENTS" || fail "no chunk went to the other origin: $(cat "$elsewhere_EVENTS")"
grep -q '"authorization-leak"' "$elsewhere_EVENTS" && fail "credentials reached the upload host: $(grep leak "$elsewhere_EVENTS")"
grep -q "upload continues at http://127.0.0.1:.* (other host: no Authorization sent)" small.log || fail "no log line about the other host"
for tag in small big; do
  "$SIFTER" pull --plain-http -u "$REGISTRY_USER" --password-stdin "oras://$REGISTRY/test/elsewhere:$tag" "$tag-pulled.sif" \
    <<<"$REGISTRY_PASSWORD" >/dev/null || fail "pull of $tag failed"
  cmp -s "$tag-pulled.sif" "$tag.sif" || fail "the $tag SIF stored through the other origin differs"
done

# 2. The other origin demands credentials: a clear error, and still none sent there.
status=0
push "$demanding_FRONT" test/demanding:v1 small.sif >demanding.out 2>demanding.err || status=$?
[ "$status" -ne 0 ] || fail "the push succeeded although the upload host refused it"
grep -q "asks for credentials; sifter sends credentials to the registry's own address (http://$demanding_FRONT) only" demanding.err ||
  fail "unclear error: $(cat demanding.err)"
grep -q '"upload-host-401"' "$demanding_EVENTS" || fail "the upload host was never asked: $(cat "$demanding_EVENTS")"
grep -q '"authorization-leak"' "$demanding_EVENTS" && fail "credentials reached the demanding upload host"
grep -qF "$REGISTRY_PASSWORD" demanding.err demanding.out && fail "the password appears in the output"

# 3. An https registry whose upload Location is plain http: refused before anything goes there.
mkdir -p tls
REGISTRY_TLS=1 "$REGISTRY_SCRIPTS/start.sh" basic "$CASE_WORK/tls" >/dev/null
trap '"$REGISTRY_SCRIPTS/stop.sh" "$CASE_WORK/reg" >/dev/null 2>&1 || true; "$REGISTRY_SCRIPTS/stop.sh" "$CASE_WORK/tls" >/dev/null 2>&1 || true' EXIT
"$REGISTRY_SCRIPTS/start-front.sh" "$CASE_WORK/tls" downgrade --upload-elsewhere >/dev/null
downgrade_FRONT=$(sed -n 's/^downgrade_FRONT=//p' tls/env)
downgrade_EVENTS=$(sed -n 's/^downgrade_EVENTS=//p' tls/env)
status=0
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" push --ca-file tls/tls.crt -u "$REGISTRY_USER" --password-stdin \
  small.sif "oras://$downgrade_FRONT/test/downgrade:v1" >downgrade.out 2>downgrade.err || status=$?
[ "$status" -ne 0 ] || fail "an https registry's upload went to plain http"
grep -q '"upload-elsewhere"' "$downgrade_EVENTS" || fail "the https front never moved an upload: $(cat "$downgrade_EVENTS")"
grep -q "refusing to continue the upload at http://127.0.0.1:" downgrade.err || fail "unclear error: $(cat downgrade.err)"
grep -qE '"(upload-proxied|authorization-leak)"' "$downgrade_EVENTS" && fail "a request went to the plain-http upload host: $(cat "$downgrade_EVENTS")"
echo "uploads at another origin carry no credentials; a demanding one is a clear error; https never downgrades"
