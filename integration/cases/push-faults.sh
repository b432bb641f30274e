# `sifter push` and `pull` through an unreliable front on an open registry (no auth): a
# chunked upload whose PATCH answer is lost after the registry stored the chunk recovers and
# completes; the pull survives a 429 on the manifest, a 500 and a
# connection reset in the middle of the blob, and is byte-identical. Checked with curl.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry none
"$REGISTRY_SCRIPTS/start-front.sh" "$CASE_WORK/reg" faulty --faults >/dev/null
# shellcheck disable=SC1091
. reg/env

# A 6 MiB SIF (random partition, so nothing compresses): with 1 MiB chunks, six PATCHes.
"$SIFTER" sif new big.sif --time 1700000000 >/dev/null
head -c $((6 << 20)) /dev/urandom >part.bin
"$SIFTER" sif add big.sif part.bin --type partition --part primSys --arch amd64 --time 1700000000 >/dev/null

"$SIFTER" push --plain-http --verbose --chunk-size $((1 << 20)) --json big.sif "oras://$faulty_FRONT/test/big:v1" >push.json 2>push.log
grep -q '"patch-answer-lost"' "$faulty_EVENTS" || fail "the fault was not injected: $(cat "$faulty_EVENTS")"
grep -q "PATCH .* -> 500" push.log || fail "the push never saw the lost answer"
# distribution cannot continue a session whose newest Location was lost (its _state no longer
# matches), so the client abandons it and uploads once more; either way the push completes.
grep -q "starting a new upload session\|asking the registry where to resume" push.log || fail "the push did not recover from the lost answer"
[ "$(grep -c 'PATCH ' push.log)" -ge 6 ] || fail "expected chunked PATCHes: $(grep -c 'PATCH ' push.log)"
digest=$(python3 -c 'import json; print(json.load(open("push.json"))["digest"])')

# An independent client sees the whole SIF as the layer (curl, no auth needed here).
curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' -o manifest.json "http://$REGISTRY/v2/test/big/manifests/v1"
[ "sha256:$(sha256sum <manifest.json | cut -d' ' -f1)" = "$digest" ] || fail "manifest digest differs"
python3 -c '
import json; m = json.load(open("manifest.json")); a = m["annotations"]
assert a == {"org.opencontainers.image.created": "2023-11-14T22:13:20Z"}, a   # from the SIF header
assert m["layers"][0]["annotations"]["org.opencontainers.image.title"] == "big.sif"' || fail "annotations: $(cat manifest.json)"
layer=$(python3 -c 'import json; print(json.load(open("manifest.json"))["layers"][0]["digest"])')
curl -sf -o layer.bin "http://$REGISTRY/v2/test/big/blobs/$layer"
cmp -s layer.bin big.sif || fail "the stored blob is not the SIF"

# Pull through the faults: 429 on the manifest, 500 then a reset mid-blob; resumed with Range.
"$SIFTER" pull --plain-http --verbose "oras://$faulty_FRONT/test/big:v1" pulled.sif >/dev/null 2>pull.log
cmp -s pulled.sif big.sif || fail "the pulled SIF differs"
grep -q '"reset"' "$faulty_EVENTS" && grep -q '"range"' "$faulty_EVENTS" || fail "the pull did not resume after the reset: $(cat "$faulty_EVENTS")"

# A connection cut in the middle of an upload body (which front.py does not inject): a proxy
# reads half of the 3rd PATCH's body, then resets the connection before the registry sees it,
# and does the same to the first monolithic PUT of a blob. The chunked upload must ask the
# registry where it stands (GET of the upload URL) and continue from there, not restart.
cat >cut.py <<'PY'
import http.client, socket, struct, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
upstream, log, portfile = sys.argv[1], sys.argv[2], sys.argv[3]
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailers", "upgrade"}
lock, counts = threading.Lock(), {}
def bump(key):
    with lock:
        counts[key] = counts.get(key, 0) + 1
        return counts[key]
def note(line):
    with lock, open(log, "a") as f: f.write(line + "\n")
class P(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def go(self):
        n = int(self.headers.get("Content-Length") or 0)
        path = self.path.split("?")[0]
        upload_body = "/blobs/uploads/" in path and n > 2
        if upload_body and ((self.command == "PATCH" and bump("patch") == 3) or (self.command == "PUT" and bump("put") == 1)):
            self.rfile.read(n // 2)
            note("CUT %s %s at %d of %d" % (self.command, path, n // 2, n))
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        body = self.rfile.read(n) if n else None
        conn = http.client.HTTPConnection(upstream, timeout=120)
        conn.request(self.command, self.path, body=body, headers={k: v for k, v in self.headers.items() if k.lower() not in HOP})
        r = conn.getresponse()
        data = r.read()
        note("%s %s %d %s" % (self.command, path, r.status, r.getheader("Range") or ""))
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
python3 cut.py "$REGISTRY" "$CASE_WORK/cut.log" cut.port &
echo $! >>reg/pids
for _ in $(seq 50); do [ -s cut.port ] && break; sleep 0.1; done
cut=127.0.0.1:$(cat cut.port)
"$SIFTER" push --plain-http --verbose --chunk-size $((1 << 20)) big.sif "oras://$cut/test/cut:v1" >cut-push.out 2>cut-push.log ||
  fail "the push with a cut connection failed: $(tail -5 cut-push.log)"
grep -q "^CUT PATCH" cut.log || fail "no PATCH was cut: $(cat cut.log)"
grep -q "asking the registry where to resume" cut-push.log || fail "the push did not ask where to resume: $(cat cut-push.log)"
grep -qE "^GET /v2/test/cut/blobs/uploads/[^ ]+ 204 0-" cut.log || fail "no upload status request reached the registry: $(cat cut.log)"
[ "$(grep -c '^POST /v2/test/cut/blobs/uploads/' cut.log)" = 2 ] || fail "the upload was restarted instead of resumed: $(cat cut.log)"
curl -sf -o cut-layer.bin "http://$REGISTRY/v2/test/cut/blobs/$layer"
cmp -s cut-layer.bin big.sif || fail "the blob stored after the cut is not the SIF"
"$SIFTER" sif new small.sif --time 1700000000 >/dev/null
head -c 300000 /dev/urandom >small.bin
"$SIFTER" sif add small.sif small.bin --type partition --part primSys --arch amd64 --time 1700000000 >/dev/null
"$SIFTER" push --plain-http --verbose small.sif "oras://$cut/test/cut:small" >/dev/null 2>cut-small.log ||
  fail "the monolithic push with a cut connection failed: $(tail -5 cut-small.log)"
grep -q "^CUT PUT" cut.log || fail "no PUT was cut: $(cat cut.log)"
"$SIFTER" pull --plain-http "oras://$REGISTRY/test/cut:small" small-pulled.sif >/dev/null
cmp -s small-pulled.sif small.sif || fail "the SIF pushed through a cut PUT differs"

# A repeat push of the same file through the faults: no upload at all, same digest.
"$SIFTER" push --plain-http --verbose --chunk-size $((1 << 20)) --json big.sif "oras://$faulty_FRONT/test/big:v1" >push2.json 2>push2.log
grep -qE "(POST|PATCH|PUT) .*/blobs/uploads/" push2.log && fail "the second push uploaded: $(grep uploads push2.log)"
[ "$(python3 -c 'import json; print(json.load(open("push2.json"))["digest"])')" = "$digest" ] || fail "second push gave another digest"
echo "chunked push completed after a lost PATCH answer; pull resumed after a reset; identical bytes"
