# `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` through a real proxy (Debian's tinyproxy, started here
# on 127.0.0.1), with a TCP tap before it that records every byte sifter sends to the proxy
# (integration/registry/tap.py). An https registry (Basic auth) is reached through the proxy by a
# CONNECT tunnel: the proxy's log shows the CONNECTs, and nothing sent to it holds the password
# or the Authorization header. A plain-http registry with credentials through a proxy is refused
# before the credentials are sent (the proxy would read them), unless the proxy is listed in
# SIFTER_PLAIN_HTTP_PROXIES — then the tap does see them, which is why the rule exists —; NO_PROXY
# goes direct; anonymous plain-http requests may use the proxy.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
command -v tinyproxy >/dev/null || fail "tinyproxy is not installed (integration/install-deps.sh installs tinyproxy-bin)"
REGISTRY_TLS=1 start_registry basic
tls_registry=$REGISTRY
"$REGISTRY_SCRIPTS/start.sh" basic "$CASE_WORK/plain" >/dev/null
"$REGISTRY_SCRIPTS/start.sh" none "$CASE_WORK/open" >/dev/null
trap 'for d in reg plain open; do "$REGISTRY_SCRIPTS/stop.sh" "$CASE_WORK/$d" >/dev/null 2>&1 || true; done' EXIT
plain_registry=$(. plain/env && echo "$REGISTRY")
open_registry=$(. open/env && echo "$REGISTRY")
unset HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy NO_PROXY no_proxy SIFTER_PLAIN_HTTP_PROXIES

# tinyproxy on a free loopback port, logging every request; the tap in front of it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cat >tinyproxy.conf <<EOF
Port $port
Listen 127.0.0.1
Timeout 120
LogFile "$CASE_WORK/tinyproxy.log"
LogLevel Connect
MaxClients 64
Allow 127.0.0.1
EOF
tinyproxy -d -c tinyproxy.conf >tinyproxy.out 2>&1 &
echo $! >>reg/pids
python3 "$REGISTRY_SCRIPTS/tap.py" "127.0.0.1:$port" "$CASE_WORK/tap.bin" tap.port &
echo $! >>reg/pids
for _ in $(seq 100); do [ -s tap.port ] && grep -q "Accepting connections" tinyproxy.log 2>/dev/null && break; sleep 0.1; done
proxy=http://127.0.0.1:$(cat tap.port)
: >tap.bin

basic=$(printf '%s' "$REGISTRY_USER:$REGISTRY_PASSWORD" | base64 -w0)
no_secret_reached_the_proxy() {
  grep -qaiF "authorization:" tap.bin && fail "$1: an Authorization header reached the proxy"
  grep -qaF "$basic" tap.bin && fail "$1: the Basic credentials reached the proxy"
  grep -qaF "$REGISTRY_PASSWORD" tap.bin && fail "$1: the password reached the proxy"
  return 0
}
"$SIFTER" sif new app.sif --time 1700000000 >/dev/null
head -c 3000000 /dev/urandom >part.bin
"$SIFTER" sif add app.sif part.bin --type partition --part primSys --arch amd64 --time 1700000000 >/dev/null

# 1. https through the proxy: push and pull, CONNECT tunnels only, no secret seen by the proxy.
printf '%s' "$REGISTRY_PASSWORD" | HTTPS_PROXY=$proxy "$SIFTER" push --ca-file "$REGISTRY_CA" -u "$REGISTRY_USER" --password-stdin \
  --verbose app.sif "oras://$tls_registry/test/proxied:v1" >push.out 2>push.log || fail "push through the proxy failed: $(tail -5 push.log)"
printf '%s' "$REGISTRY_PASSWORD" | https_proxy=$proxy "$SIFTER" pull --ca-file "$REGISTRY_CA" -u "$REGISTRY_USER" --password-stdin \
  "oras://$tls_registry/test/proxied:v1" pulled.sif >/dev/null 2>pull.log || fail "pull through the proxy failed: $(tail -5 pull.log)"
cmp -s pulled.sif app.sif || fail "the SIF pulled through the proxy differs"
grep -q "^sifter: PUT https://$tls_registry/v2/test/proxied/manifests/v1 -> 201 via proxy $proxy" push.log || fail "--verbose does not name the proxy"
connects=$(grep -c "Request (file descriptor [0-9]*): CONNECT $tls_registry HTTP/1.1" tinyproxy.log || true)
[ "$connects" -ge 2 ] || fail "the proxy's log shows $connects CONNECTs to $tls_registry: $(cat tinyproxy.log)"
grep -q "Request (file descriptor [0-9]*): [A-Z]* http" tinyproxy.log && fail "a request went to the proxy in clear: $(grep Request tinyproxy.log)"
[ "$(grep -aoF "CONNECT $tls_registry HTTP/1.1" tap.bin | wc -l)" = "$connects" ] || fail "the tap and the proxy disagree"
no_secret_reached_the_proxy "https through the proxy"

# NO_PROXY: the same pull goes direct, the proxy sees nothing.
before=$(wc -l <tinyproxy.log)
printf '%s' "$REGISTRY_PASSWORD" | HTTPS_PROXY=$proxy NO_PROXY=localhost,127.0.0.1 "$SIFTER" pull --ca-file "$REGISTRY_CA" -u "$REGISTRY_USER" \
  --password-stdin "oras://$tls_registry/test/proxied:v1" direct.sif >/dev/null 2>direct.log || fail "direct pull failed: $(tail -5 direct.log)"
[ "$(wc -l <tinyproxy.log)" = "$before" ] || fail "NO_PROXY was not honoured: $(tail -3 tinyproxy.log)"

# 2. A plain-http registry with credentials through the proxy: refused before they are sent.
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" push --plain-http -u "$REGISTRY_USER" --password-stdin app.sif "oras://$plain_registry/test/plain:v1" >/dev/null
: >tap.bin
status=0
printf '%s' "$REGISTRY_PASSWORD" | http_proxy=$proxy "$SIFTER" pull --plain-http -u "$REGISTRY_USER" --password-stdin \
  "oras://$plain_registry/test/plain:v1" refused.sif >refused.out 2>refused.err || status=$?
[ "$status" = 69 ] && [ ! -e refused.sif ] || fail "a plain-http pull with credentials went through the proxy (exit $status)"
grep -q "refusing to send credentials over plain http through the proxy $proxy, which would read them" refused.err || fail "unclear error: $(cat refused.err)"
grep -q "SIFTER_PLAIN_HTTP_PROXIES=127.0.0.1:$(cat tap.port)" refused.err && grep -q NO_PROXY refused.err || fail "the error does not say how to proceed"
grep -qa "^GET http://$plain_registry/v2/" tap.bin || fail "the anonymous first request did not go through the proxy"
no_secret_reached_the_proxy "plain http, refused"

# …allowed for a trusted proxy (upper-case HTTP_PROXY counts too, which libcurl alone ignores):
# it works, and the tap sees the Authorization header in clear.
printf '%s' "$REGISTRY_PASSWORD" | HTTP_PROXY=$proxy SIFTER_PLAIN_HTTP_PROXIES=127.0.0.1:$(cat tap.port) "$SIFTER" pull --plain-http \
  -u "$REGISTRY_USER" --password-stdin "oras://$plain_registry/test/plain:v1" allowed.sif >/dev/null 2>allowed.err ||
  fail "the allowed proxy was refused: $(cat allowed.err)"
cmp -s allowed.sif app.sif || fail "the SIF pulled through the allowed proxy differs"
grep -qaF "Authorization: Basic $basic" tap.bin || fail "the tap did not see the credentials the allowed proxy was trusted with"
grep -q "Request (file descriptor [0-9]*): GET http://$plain_registry/v2/test/plain/manifests/v1" tinyproxy.log || fail "tinyproxy did not log the request"

# …and NO_PROXY goes direct.
: >tap.bin
printf '%s' "$REGISTRY_PASSWORD" | HTTP_PROXY=$proxy no_proxy=$plain_registry "$SIFTER" pull --plain-http -u "$REGISTRY_USER" \
  --password-stdin "oras://$plain_registry/test/plain:v1" bypass.sif >/dev/null 2>bypass.err || fail "NO_PROXY pull failed: $(cat bypass.err)"
[ ! -s tap.bin ] || fail "no_proxy=$plain_registry was not honoured"

# 3. Anonymous plain http carries nothing secret: through the proxy it goes.
"$SIFTER" push --plain-http app.sif "oras://$open_registry/test/open:v1" >/dev/null
HTTP_PROXY=$proxy "$SIFTER" pull --plain-http "oras://$open_registry/test/open:v1" open.sif >/dev/null 2>open.err || fail "anonymous pull failed: $(cat open.err)"
cmp -s open.sif app.sif || fail "the SIF pulled anonymously through the proxy differs"
grep -q "GET http://$open_registry/v2/test/open/blobs/sha256:" tinyproxy.log || fail "the anonymous pull did not go through the proxy"
echo "https through tinyproxy in CONNECT tunnels, no secret seen; plain-http credentials refused unless the proxy is trusted; NO_PROXY honoured"
