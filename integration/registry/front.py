#!/usr/bin/env python3
"""Test fixture: an HTTP front for a registry started by start.sh, Python stdlib only.

  front.py --upstream 127.0.0.1:PORT --port-file F --events LOG [--redirect] [--faults]
           [--upstream-auth USER:PASSWORD]

Everything is proxied to the registry unchanged (Host header too, so the registry's own
Location URLs point back at the front), except:

--redirect  GET /v2/<name>/blobs/<digest> answers 307 to a second listener on another port
            (another origin, like GHCR's pkg-containers.githubusercontent.com), with a one-time
            signature in the query (a second use is refused with 403, like an expired signed
            URL). If an Authorization header ever arrives at the second listener it answers 400
            and logs {"event": "authorization-leak"}: the test then fails. The second listener
            fetches the blob itself with --upstream-auth, as a storage backend would.
--paginate-tags  GET /v2/<name>/tags/list?n=N[&last=T] answers N tags after T with a relative
            `Link: <…>; rel="next"` (distribution 2.8 itself ignores n for tags).
--corrupt   Blob GET bodies get their first byte flipped; manifest GETs get a wrong
            Docker-Content-Digest header. A client must refuse both.
--faults    Per path: the first manifest GET answers 429 with Retry-After: 1; the first blob
            GET answers 500; the second is cut in the middle (headers and half the body, then a
            TCP reset); later ones pass (Range is passed through, so a client may resume).
--upload-elsewhere  Upload `Location`s (answers to POST/PATCH/GET of blobs/uploads) point to the
            second listener (another origin, like an S3 pre-signed URL), which proxies the upload
            to the registry with --upstream-auth. An Authorization header arriving there is
            logged as {"event": "authorization-leak"} and refused with 400.
--upload-elsewhere-demands-auth  Like --upload-elsewhere, but the second listener answers every
            request with 401 and a Basic challenge (it wants credentials it must never get).
--realm-host NAME  The host of WWW-Authenticate realms is replaced by NAME (port kept): a token
            service on another host, for a client that must refuse to send it credentials.
--huge-header  Manifest GETs answer 200 with a 1 MiB header (beyond every client's limit).
--trickle-manifest N  Manifest GET bodies are sent at N bytes per second (headers at once).
--reset-uploads  Every PATCH and every PUT with a body is cut: half the body is read, then the
            connection is reset before the registry sees it.
--tls-cert F --tls-key K  The front (not the second listener) serves https; --upstream-tls talks
            https to the registry (certificate not checked: it is the test's own).
--ghcr, --quay, --cut-first-put N  Upload sessions as GHCR or Quay run them (stable upload URLs;
            GHCR's 416 for a PATCH body above 4 MiB; Quay's status Range), and the first PUT
            longer than N bytes cut after N bytes the registry keeps: see upload_rules.py.

Each decision is appended to --events as one JSON line. The listening ports go to --port-file
as "FRONT_PORT BLOB_PORT".
"""
import argparse, signal, base64, http.client, json, re, secrets, socket, ssl, struct, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs
from upload_rules import UploadRules

BLOB_RE = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
MANIFEST_RE = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")
HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
       "transfer-encoding", "upgrade"}


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main():
    # A test runner may start us with signals blocked (its threads block them and children
    # inherit the mask); unblock so stop.sh's SIGTERM works.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--events", required=True)
    p.add_argument("--redirect", action="store_true")
    p.add_argument("--faults", action="store_true")
    p.add_argument("--paginate-tags", action="store_true")
    p.add_argument("--corrupt", action="store_true")
    p.add_argument("--upstream-auth")
    p.add_argument("--upload-elsewhere", action="store_true")
    p.add_argument("--upload-elsewhere-demands-auth", action="store_true")
    p.add_argument("--realm-host")
    p.add_argument("--huge-header", action="store_true")
    p.add_argument("--trickle-manifest", type=int)
    p.add_argument("--reset-uploads", action="store_true")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--upstream-tls", action="store_true")
    p.add_argument("--ghcr", action="store_true")
    p.add_argument("--quay", action="store_true")
    p.add_argument("--cut-first-put", type=int)
    args = p.parse_args()
    elsewhere = args.upload_elsewhere or args.upload_elsewhere_demands_auth
    lock = threading.Lock()
    counts = {}
    signatures = set()

    def event(**record):
        with lock, open(args.events, "a") as f:
            f.write(json.dumps(record) + "\n")

    uploads = UploadRules(args, event)

    def bump(key):
        with lock:
            counts[key] = counts.get(key, 0) + 1
            return counts[key]

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def upstream(self, method, path, headers, body=None):
            if args.upstream_tls:
                conn = http.client.HTTPSConnection(args.upstream, timeout=60, context=ssl._create_unverified_context())
            else:
                conn = http.client.HTTPConnection(args.upstream, timeout=60)
            conn.request(method, path, body=body, headers=headers)
            return conn, conn.getresponse()

        def rewrite(self, name, value):
            """Header values as this test front wants the client to see them."""
            lower = name.lower()
            if elsewhere and lower == "location" and "/blobs/uploads/" in value:
                # The upload continues on the second listener: another origin.
                path = re.sub(r"^[a-z]+://[^/]+", "", value)
                value = "http://127.0.0.1:%d%s" % (blob_server.server_address[1], path)
                event(event="upload-elsewhere", location=value.split("?")[0])
            if args.realm_host and lower == "www-authenticate":
                value = re.sub(r'realm="(https?)://[^/:"]+', lambda m: 'realm="%s://%s' % (m.group(1), args.realm_host), value)
            return value

        def relay(self, response, head_only=False, cut_at=None, wrong_digest=False, flip=False, trickle=None):
            self.send_response(response.status)
            for k, v in response.getheaders():
                if k.lower() not in HOP:
                    if wrong_digest and k.lower() == "docker-content-digest":
                        v = "sha256:" + "0" * 64
                    self.send_header(k, self.rewrite(k, v))
            self.end_headers()
            if trickle and not head_only:
                data = response.read()
                event(event="trickle", bytes=len(data), rate=trickle)
                step = max(1, trickle // 4)
                for i in range(0, len(data), step):
                    self.wfile.write(data[i:i + step])
                    self.wfile.flush()
                    time.sleep(0.25)
                return
            if head_only:
                return
            sent = 0
            while True:
                chunk = response.read(64 * 1024)
                if not chunk:
                    break
                if flip and sent == 0 and response.status == 200:
                    chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
                if cut_at is not None and sent + len(chunk) >= cut_at:
                    self.wfile.write(chunk[: cut_at - sent])
                    self.wfile.flush()
                    # SO_LINGER 0: close sends a TCP reset, as a dying proxy or LB does.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                self.wfile.write(chunk)
                sent += len(chunk)

        def reply(self, status, body, extra=None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def cut(self):
            """A TCP reset (SO_LINGER 0), as a dying proxy or load balancer does."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def forward(self):
            if uploads.enabled and "/blobs/uploads/" in urlsplit(self.path).path:
                return uploads.handle(self)
            length = int(self.headers.get("Content-Length") or 0)
            if args.reset_uploads and "/blobs/uploads/" in self.path and length > 2 and self.command in ("PATCH", "PUT"):
                self.rfile.read(length // 2)
                body = None
            else:
                body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            path = urlsplit(self.path).path
            if self.command == "GET" and args.redirect and BLOB_RE.match(path):
                sig = secrets.token_hex(8)
                with lock:
                    signatures.add(sig)
                event(event="redirect", path=path)
                host = "127.0.0.1:%d" % blob_server.server_address[1]
                return self.reply(307, {}, {"Location": "http://%s/storage%s?sig=%s" % (host, path, sig)})
            query = parse_qs(urlsplit(self.path).query)
            if args.paginate_tags and self.command == "GET" and path.endswith("/tags/list") and "n" in query:
                conn, response = self.upstream("GET", path, headers)
                if response.status != 200:
                    self.relay(response)
                    conn.close()
                    return
                listing = json.loads(response.read() or b"{}")
                conn.close()
                tags = sorted(listing.get("tags") or [])
                last = query.get("last", [""])[0]
                rest = [t for t in tags if t > last]
                n = int(query["n"][0])
                page = rest[:n]
                event(event="tags-page", last=last, n=n)
                extra = {}
                if len(rest) > n:
                    extra["Link"] = '<%s?n=%d&last=%s>; rel="next"' % (path, n, page[-1])
                return self.reply(response.status, {"name": listing.get("name"), "tags": page}, extra)
            if args.huge_header and self.command == "GET" and MANIFEST_RE.match(path):
                event(event="huge-header", path=path)
                self.send_response(200)
                self.send_header("X-Padding", "p" * (1 << 20))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                return
            if args.reset_uploads and "/blobs/uploads/" in path and length > 2 and self.command in ("PATCH", "PUT"):
                event(event="upload-reset", method=self.command, path=path)
                return self.cut()
            if args.trickle_manifest and self.command == "GET" and MANIFEST_RE.match(path):
                conn, response = self.upstream("GET", self.path, headers)
                self.relay(response, trickle=args.trickle_manifest)
                conn.close()
                return
            if args.faults and self.command == "PATCH" and bump("patch") == 2:
                # The registry takes the chunk but its answer (with the newest Location) is lost.
                conn, response = self.upstream(self.command, self.path, headers, body)
                response.read()
                conn.close()
                event(event="patch-answer-lost", path=path)
                return self.reply(500, {"errors": [{"code": "UNKNOWN", "message": "injected after the chunk was stored"}]})
            if args.faults and self.command == "GET":
                if MANIFEST_RE.match(path) and bump("m " + path) == 1:
                    event(event="429", path=path)
                    return self.reply(429, {"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]}, {"Retry-After": "1"})
                if BLOB_RE.match(path):
                    n = bump("b " + path)
                    if n == 1:
                        event(event="500", path=path)
                        return self.reply(500, {"errors": [{"code": "UNKNOWN", "message": "injected"}]})
                    if n == 2:
                        conn, response = self.upstream("GET", self.path, headers, body)
                        size = int(response.getheader("Content-Length") or 0)
                        event(event="reset", path=path, at=size // 2)
                        self.relay(response, cut_at=size // 2)
                        conn.close()
                        return
                    if "Range" in self.headers:
                        event(event="range", path=path, range=self.headers["Range"])
            conn, response = self.upstream(self.command, self.path, headers, body)
            corrupt = args.corrupt and self.command == "GET"
            if corrupt and MANIFEST_RE.match(path):
                event(event="wrong-digest-header", path=path)
                self.relay(response, wrong_digest=True)
            elif corrupt and BLOB_RE.match(path):
                event(event="flipped", path=path)
                self.relay(response, flip=True)
            else:
                self.relay(response, head_only=self.command == "HEAD")
            conn.close()

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = forward

    class Storage(Proxy):
        def upload(self):
            """--upload-elsewhere: the upload's other origin."""
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if "Authorization" in self.headers:
                event(event="authorization-leak", path=url.path, method=self.command)
                return self.reply(400, {"error": "Authorization header sent to the upload host"})
            if args.upload_elsewhere_demands_auth:
                event(event="upload-host-401", path=url.path, method=self.command)
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "storage wants credentials"}]},
                                  {"WWW-Authenticate": 'Basic realm="storage"'})
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP and k.lower() != "host"}
            headers["Host"] = self.headers.get("Host", "")
            if args.upstream_auth:
                headers["Authorization"] = "Basic " + base64.b64encode(args.upstream_auth.encode()).decode()
            event(event="upload-proxied", path=url.path, method=self.command)
            conn, response = self.upstream(self.command, self.path, headers, body)
            self.relay(response, head_only=self.command == "HEAD")
            conn.close()

        do_PUT = do_PATCH = do_DELETE = do_POST = do_HEAD = upload

        def do_GET(self):
            if "/blobs/uploads/" in self.path:
                return self.upload()
            url = urlsplit(self.path)
            if "Authorization" in self.headers:
                event(event="authorization-leak", path=url.path)
                return self.reply(400, {"error": "Authorization header sent to the storage host"})
            sig = parse_qs(url.query).get("sig", [""])[0]
            with lock:
                valid = sig in signatures
                signatures.discard(sig)
            if not valid:
                event(event="expired-signature", path=url.path)
                return self.reply(403, {"error": "signature expired or reused"})
            headers = {}
            if args.upstream_auth:
                headers["Authorization"] = "Basic " + base64.b64encode(args.upstream_auth.encode()).decode()
            if "Range" in self.headers:
                headers["Range"] = self.headers["Range"]
                event(event="range", path=url.path, range=self.headers["Range"])
            event(event="storage-get", path=url.path)
            conn, response = self.upstream("GET", url.path[len("/storage"):], headers)
            self.relay(response)
            conn.close()

    front = Server(("127.0.0.1", 0), Proxy)
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        front.socket = context.wrap_socket(front.socket, server_side=True)
    blob_server = Server(("127.0.0.1", 0), Storage)
    threading.Thread(target=blob_server.serve_forever, daemon=True).start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d %d\n" % (front.server_address[1], blob_server.server_address[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    front.serve_forever()


if __name__ == "__main__":
    main()
