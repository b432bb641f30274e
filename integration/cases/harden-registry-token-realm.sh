# Where `-u` credentials go with --plain-http and a Bearer token service (README, Credentials):
# the test's token server listens on another port — another origin, but a loopback address — and
# gets them; a realm naming another host over plain http is refused before any connection, with
# a message saying how to allow it. The token server logs every request it gets.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry token
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" \
  oci:layout:t1 "docker://$REGISTRY/test/layered:t1"
"$REGISTRY_SCRIPTS/start-front.sh" "$CASE_WORK/reg" moved --realm-host sifter-realm.invalid >/dev/null
# shellcheck disable=SC1091
. reg/env
build() {  # REGISTRY OUT
  printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" build --plain-http -u "$REGISTRY_USER" --password-stdin \
    "docker://$1/test/layered:t1" "$2"
}
basic_requests() { grep -c '"basic": true' "$TOKEN_LOG" || true; }

# The token service on another port of 127.0.0.1: credentials go there (loopback).
before=$(basic_requests)
build "$REGISTRY" direct.sif >direct.out 2>direct.err || fail "build through the loopback token service failed: $(cat direct.err)"
[ "$(basic_requests)" -gt "$before" ] || fail "the token service never got the credentials"

# The same registry, its challenge naming a token service on another host: refused, nothing sent.
before=$(wc -l <"$TOKEN_LOG")
status=0
build "$moved_FRONT" moved.sif >moved.out 2>moved.err || status=$?
[ "$status" -ne 0 ] && [ ! -e moved.sif ] || fail "a build sent credentials to a plain-http token service on another host"
grep -q "refusing to send credentials over plain http to the token service http://sifter-realm.invalid:[0-9]*/token" moved.err ||
  fail "unclear error: $(cat moved.err)"
grep -q "SIFTER_PLAIN_HTTP_REALMS=sifter-realm.invalid:" moved.err || fail "the error does not say how to allow it: $(cat moved.err)"
grep -qiE "resolve|connect" moved.err && fail "sifter tried to reach the other host: $(cat moved.err)"
[ "$(wc -l <"$TOKEN_LOG")" = "$before" ] || fail "the token service got a request"
grep -qF "$REGISTRY_PASSWORD" moved.err moved.out && fail "the password appears in the output"
echo "credentials go to the loopback token service; a plain-http realm on another host is refused unreached"
