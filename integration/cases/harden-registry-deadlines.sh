# Nothing small can hold a run for long: a manifest trickled just above the stall detector's
# floor ends at the request deadline (SIFTER_REQUEST_TIMEOUT, here 2 s) with a message naming
# the operation and the deadline, and a docker credential helper that never answers is killed
# with its process group after SIFTER_CREDENTIAL_HELPER_TIMEOUT (here 2 s), the error naming it.
# No timing is asserted: only the outcome and the messages.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry basic
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" \
  oci:layout:t1 "docker://$REGISTRY/test/layered:t1"
"$REGISTRY_SCRIPTS/start-front.sh" "$CASE_WORK/reg" slow --trickle-manifest 64 >/dev/null
# shellcheck disable=SC1091
. reg/env

# A manifest at 64 bytes/s (the stall detector only fires below 1 KiB/s for a minute).
status=0
printf '%s' "$REGISTRY_PASSWORD" | SIFTER_REQUEST_TIMEOUT=2 timeout 300 "$SIFTER" build --plain-http -u "$REGISTRY_USER" \
  --password-stdin "docker://$slow_FRONT/test/layered:t1" slow.sif >slow.out 2>slow.err || status=$?
grep -q '"trickle"' "$slow_EVENTS" || fail "the front trickled nothing: $(cat "$slow_EVENTS")"
[ "$status" = 69 ] && [ ! -e slow.sif ] || fail "a trickled manifest did not end the build at its deadline: status $status, $(cat slow.err)"
grep -q "test/layered: GET manifest t1 did not complete within its deadline of 2 s (SIFTER_REQUEST_TIMEOUT sets it" slow.err ||
  fail "unclear error: $(cat slow.err)"

# A credential helper that sleeps forever, with a child in its process group.
mkdir -p bin docker
cat >bin/docker-credential-hang <<EOF
#!/bin/sh
echo \$\$ >"$CASE_WORK/helper.pid"
sleep 1000 &
echo \$! >"$CASE_WORK/helper-child.pid"
wait
EOF
chmod +x bin/docker-credential-hang
printf '{"credHelpers": {"%s": "hang"}}\n' "$REGISTRY" >docker/config.json
cleanup_helpers() {  # only the processes this case started, by their recorded ids
  local pid
  for pid in $(cat helper.pid helper-child.pid 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
}
trap 'cleanup_helpers; "$REGISTRY_SCRIPTS/stop.sh" "$CASE_WORK/reg" >/dev/null 2>&1 || true' EXIT
status=0
PATH="$CASE_WORK/bin:$PATH" DOCKER_CONFIG="$CASE_WORK/docker" SIFTER_CREDENTIAL_HELPER_TIMEOUT=2 \
  timeout 120 "$SIFTER" build --plain-http "docker://$REGISTRY/test/layered:t1" helper.sif </dev/null >helper.out 2>helper.err || status=$?
[ -s helper.pid ] || fail "the helper never ran: $(cat helper.err)"
[ "$status" = 74 ] && [ ! -e helper.sif ] || fail "a hanging credential helper was not stopped: status $status, $(cat helper.err)"
grep -q "credentials from docker-credential-hang: did not answer within 2 s; stopped it (SIFTER_CREDENTIAL_HELPER_TIMEOUT" helper.err ||
  fail "unclear error: $(cat helper.err)"
for pid in $(cat helper.pid helper-child.pid); do
  state=$(sed -n 's/^[0-9]* (.*) \(.\).*/\1/p' "/proc/$pid/stat" 2>/dev/null || true)
  for _ in $(seq 100); do [ -z "$state" ] || [ "$state" = Z ] && break; sleep 0.05; state=$(sed -n 's/^[0-9]* (.*) \(.\).*/\1/p' "/proc/$pid/stat" 2>/dev/null || true); done
  [ -z "$state" ] || [ "$state" = Z ] || fail "helper process $pid still runs (state $state)"
done
echo "a trickled manifest ends at its deadline; a hanging credential helper is stopped with its children"
