# `sifter convert docker://… oras://…` on CNCF distribution with token auth: the first run
# builds and pushes a SIF identical to `sifter build` of the same source; the second run is
# skipped (no layer download, no blob upload, under a second); --force rebuilds to the same
# digest; other build options rebuild; requests are counted at a logging proxy.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
registry=$REGISTRY_SCRIPTS
trap '"$registry/stop.sh" "$CASE_WORK/reg" >/dev/null 2>&1 || true' EXIT
"$registry/start.sh" token "$CASE_WORK/reg" >/dev/null
# shellcheck disable=SC1091
. reg/env
export SIFTER_CACHE_DIR=$CASE_WORK/cache
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" oci:layout:t1 "docker://$REGISTRY/test/layered:t1"

cat >proxy.py <<'PY'
import http.client, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
upstream, log, portfile = sys.argv[1], sys.argv[2], sys.argv[3]
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailers", "upgrade", "proxy-authorization", "proxy-authenticate"}
lock = threading.Lock()
class P(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def go(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        conn = http.client.HTTPConnection(upstream, timeout=120)
        conn.request(self.command, self.path, body=body, headers={k: v for k, v in self.headers.items() if k.lower() not in HOP})
        r = conn.getresponse()
        data = r.read()
        with lock, open(log, "a") as f:
            f.write("%s %s %d\n" % (self.command, self.path.split("?")[0], r.status))
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length": self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(data)
        conn.close()
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = go
s = ThreadingHTTPServer(("127.0.0.1", 0), P)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
python3 proxy.py "$REGISTRY" "$CASE_WORK/requests.log" proxy.port &
echo $! >>reg/pids
for _ in $(seq 50); do [ -s proxy.port ] && break; sleep 0.1; done
proxy=127.0.0.1:$(cat proxy.port)
convert() {
  printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" convert --plain-http -u "$REGISTRY_USER" --password-stdin "$@"
}
uploads() { grep -cE '^(POST|PUT|PATCH) /v2/[^ ]*/blobs/uploads/' requests.log || true; }
layer_gets() { grep -cE '^GET /v2/test/layered/blobs/' requests.log || true; }

# First run: builds and pushes.
: >requests.log
convert --semver v1.0.0 --json --output first.sif "docker://$proxy/test/layered:t1" "oras://$proxy/test/layered-sif:t1" >first.json 2>first.err ||
  fail "convert failed: $(cat first.err)"
grep -qF "$REGISTRY_PASSWORD" first.json first.err && fail "the password appears in sifter's output"
python3 -c 'import json; r = json.load(open("first.json")); assert r["skipped"] is False and r["layer"] == "uploaded", r' || fail "first run: $(cat first.json)"
digest=$(python3 -c 'import json; print(json.load(open("first.json"))["digest"])')
[ "$(uploads)" -ge 2 ] || fail "the first run uploaded nothing"
"$SIFTER" build --plain-http "docker://$proxy/test/layered:t1" built.sif >/dev/null
cmp -s first.sif built.sif || fail "convert's SIF differs from sifter build's"
"$SIFTER" pull --plain-http "oras://$REGISTRY/test/layered-sif:1.0" pulled.sif >/dev/null
cmp -s pulled.sif built.sif || fail "the pushed SIF differs from sifter build's"

# Second run: nothing changed, so nothing is built, downloaded or uploaded.
: >requests.log
rm -rf "$SIFTER_CACHE_DIR"
start=$(date +%s.%N)
convert --semver v1.0.0 --json "docker://$proxy/test/layered:t1" "oras://$proxy/test/layered-sif:t1" >second.json 2>second.err ||
  fail "second convert failed: $(cat second.err)"
seconds=$(python3 -c "import time; print(round($(date +%s.%N) - $start, 3))")
python3 -c 'import json; r = json.load(open("second.json")); assert r["skipped"] is True, r' || fail "second run not skipped: $(cat second.json)"
[ "$(python3 -c 'import json; print(json.load(open("second.json"))["digest"])')" = "$digest" ] || fail "second run reports another digest"
[ "$(uploads)" = 0 ] || fail "the skipped run uploaded: $(cat requests.log)"
[ "$(layer_gets)" = 0 ] || fail "the skipped run downloaded blobs: $(cat requests.log)"
grep -qE '^PUT /v2/[^ ]*/manifests/' requests.log && fail "the skipped run re-put manifests whose tags were in place"
python3 -c "import sys; sys.exit(0 if $seconds <= 1.0 else 1)" || fail "the skipped run took $seconds s"
echo "skipped run: $seconds s, $(wc -l <requests.log) requests"
grep -q "up to date" <<<"$(convert "docker://$proxy/test/layered:t1" "oras://$proxy/test/layered-sif:t1")" || fail "the text output does not say it was skipped"

# A new tag on a skipped run is pointed at the existing manifest (a manifest PUT, no blob).
: >requests.log
convert --tag extra "docker://$proxy/test/layered:t1" "oras://$proxy/test/layered-sif:t1" >/dev/null
[ "$(uploads)" = 0 ] && [ "$(grep -c '^PUT /v2/test/layered-sif/manifests/extra' requests.log)" = 1 ] || fail "extra tag: $(cat requests.log)"

# --force rebuilds; the build is deterministic, so the digest is the same and the blob exists.
convert --force --json "docker://$proxy/test/layered:t1" "oras://$proxy/test/layered-sif:t1" >forced.json
python3 -c 'import json,sys; r = json.load(open("forced.json")); assert r["skipped"] is False and r["layer"] == "existed" and r["digest"] == sys.argv[1], r' "$digest" ||
  fail "forced run: $(cat forced.json)"

# Other build options are another SIF: rebuilt and pushed.
convert --json --block-size 65536 "docker://$proxy/test/layered:t1" "oras://$proxy/test/layered-sif:t1" >options.json
python3 -c 'import json,sys; r = json.load(open("options.json")); assert r["skipped"] is False and r["digest"] != sys.argv[1], r' "$digest" ||
  fail "changed options were skipped: $(cat options.json)"
echo "convert: built once, skipped when unchanged, forced and option changes rebuild"
