"""Upload rules of registries we cannot reach, enforced by front.py in front of the real registry.

distribution keeps an upload's state in its Location (`_state=`), so a client must always use
the newest one. GHCR and Quay keep it on the server: their upload URL stays the same for the
whole session. In these modes the front does the same: it keeps distribution's newest Location
per upload itself and gives the client a stable `/v2/<name>/blobs/uploads/<uuid>`. Then:

--ghcr   A PATCH body above 4 MiB is answered 416 with GHCR's error body ("the request body is
         too large and exceeds the maximum permissible limit of 4.00MiB": ocx-sh/ocx#237,
         oras-project/rust-oci-client#35); a PATCH whose Content-Range does not start where the
         upload stands is answered 416 (distribution-spec, out-of-order chunks). A PUT of the
         whole blob is allowed (what oras-go, whose only upload is POST then PUT, does to GHCR).
--quay   A status GET answers `Range: bytes=0-<count>` (the count of bytes held, with a `bytes=`
         prefix) and no Location, as quay/quay endpoints/v2/blob.py `fetch_existing_upload`
         does; a chunk out of order gets 416 with `Range: 0-<count>`.
--cut-first-put N  The first PUT with a body longer than N bytes is cut: its first N bytes reach
         the registry (sent on as a chunk, so the upload holds them, as a registry that keeps
         what arrived does), then the client's connection is reset.

Bodies are streamed, never held whole. Every decision is one JSON line in the events file.
"""
import http.client, json, re, socket, struct, threading
from urllib.parse import urlsplit

UPLOAD_RE = re.compile(r"^/v2/(.+)/blobs/uploads/([^/]*)$")
HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
       "transfer-encoding", "upgrade", "content-length", "host"}
GHCR_CHUNK_LIMIT = 4 << 20
GHCR_416 = {"errors": [{"code": "REQUESTED_RANGE_NOT_SATISFIABLE",
                        "message": "the request body is too large and exceeds the maximum permissible limit of 4.00MiB"}]}


class Body:
    """The request body as a file for http.client: exactly `length` bytes of the client's stream."""

    def __init__(self, stream, length):
        self.stream, self.left = stream, length

    def read(self, n=-1):
        if self.left <= 0:
            return b""
        n = self.left if n is None or n < 0 else min(n, self.left)
        data = self.stream.read(n)
        self.left -= len(data)
        return data

    def drain(self):
        while self.read(1 << 20):
            pass


class UploadRules:
    def __init__(self, args, event):
        self.ghcr, self.quay, self.cut_at = args.ghcr, args.quay, args.cut_first_put
        self.upstream, self.tls = args.upstream, args.upstream_tls
        self.event = event
        self.lock = threading.Lock()
        self.sessions = {}  # uuid -> {"location": path?query of distribution's newest Location, "held": bytes}
        self.body_puts = 0

    @property
    def enabled(self):
        return self.ghcr or self.quay or self.cut_at is not None

    def connect(self):
        if self.tls:
            import ssl
            return http.client.HTTPSConnection(self.upstream, timeout=120, context=ssl._create_unverified_context(), blocksize=1 << 20)
        return http.client.HTTPConnection(self.upstream, timeout=120, blocksize=1 << 20)

    def send(self, h, method, target, headers, body=None, length=0):
        headers = dict(headers)
        headers["Host"] = h.headers.get("Host", self.upstream)
        headers["Content-Length"] = str(length)
        conn = self.connect()
        conn.request(method, target, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response, data

    def answer(self, h, status, headers=(), body=b""):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def relay(self, h, response, data):
        self.answer(h, response.status, [(k, v) for k, v in response.getheaders() if k.lower() not in HOP], data)

    def error(self, h, status, errors, headers=()):
        self.answer(h, status, [("Content-Type", "application/json")] + list(headers), json.dumps(errors).encode())

    @staticmethod
    def held_after(response):
        """Bytes held per distribution's Range (`0-<last>`, `0-0` when empty)."""
        value = response.getheader("Range") or "0-0"
        end = int(value.rsplit("-", 1)[1])
        return 0 if end == 0 else end + 1

    def stable(self, name, uuid):
        return "/v2/%s/blobs/uploads/%s" % (name, uuid)

    def range_header(self, held):
        return "0-%d" % max(held - 1, 0)

    def handle(self, h):
        path = urlsplit(h.path).path
        match = UPLOAD_RE.match(path)
        length = int(h.headers.get("Content-Length") or 0)
        body = Body(h.rfile, length)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in HOP}
        if not match:
            body.drain()
            return self.error(h, 404, {"errors": [{"code": "NAME_UNKNOWN"}]})
        name, uuid = match.group(1), match.group(2)
        if h.command == "POST":
            response, data = self.send(h, "POST", h.path, headers, body.read(), length)
            if response.status != 202:
                return self.relay(h, response, data)
            location = re.sub(r"^[a-z]+://[^/]+", "", response.getheader("Location"))
            uuid = UPLOAD_RE.match(urlsplit(location).path).group(2)
            with self.lock:
                self.sessions[uuid] = {"location": location, "held": 0}
            self.event(event="upload-started", uuid=uuid)
            return self.answer(h, 202, [("Location", self.stable(name, uuid)), ("Range", "0-0"), ("Docker-Upload-UUID", uuid)])
        with self.lock:
            session = self.sessions.get(uuid)
        if session is None:
            body.drain()
            return self.error(h, 404, {"errors": [{"code": "BLOB_UPLOAD_UNKNOWN", "message": "blob upload unknown to registry"}]})
        if h.command in ("GET", "HEAD"):
            response, data = self.send(h, "GET", session["location"], headers)
            if response.status not in (200, 204):
                return self.relay(h, response, data)
            self.update(uuid, response)
            held = self.sessions[uuid]["held"]
            self.event(event="upload-status", uuid=uuid, held=held)
            if self.quay:
                return self.answer(h, 204, [("Range", "bytes=0-%d" % held), ("Docker-Upload-UUID", uuid)])
            return self.answer(h, 204, [("Location", self.stable(name, uuid)), ("Range", self.range_header(held)), ("Docker-Upload-UUID", uuid)])
        if h.command == "PATCH":
            if self.ghcr and length > GHCR_CHUNK_LIMIT:
                body.drain()
                self.event(event="ghcr-416", uuid=uuid, length=length)
                return self.error(h, 416, GHCR_416)
            given = h.headers.get("Content-Range")
            if given is not None and int(given.split("-")[0]) != session["held"]:
                body.drain()
                self.event(event="out-of-order", uuid=uuid, range=given, held=session["held"])
                end = session["held"] if self.quay else max(session["held"] - 1, 0)
                return self.answer(h, 416, [("Location", self.stable(name, uuid)), ("Range", "0-%d" % end)])
            return self.chunk(h, name, uuid, session, headers, body, length)
        if h.command == "PUT":
            with self.lock:
                first = self.cut_at is not None and length > self.cut_at and self.body_puts == 0
                if first:
                    self.body_puts += 1
            if first:
                part = self.cut_at
                data = body.read(part)
                response, _ = self.send(h, "PATCH", session["location"], headers, data, len(data))
                self.update(uuid, response)
                self.event(event="put-cut", uuid=uuid, at=part, of=length, held=self.sessions[uuid]["held"])
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                h.close_connection = True
                h.connection.close()
                return
            query = urlsplit(h.path).query
            target = session["location"] + ("&" if "?" in session["location"] else "?") + query
            response, data = self.send(h, "PUT", target, headers, body, length)
            self.event(event="put", uuid=uuid, length=length, status=response.status)
            if response.status in (201, 204):
                with self.lock:
                    self.sessions.pop(uuid, None)
            return self.relay(h, response, data)
        if h.command == "DELETE":
            body.drain()
            response, data = self.send(h, "DELETE", session["location"], headers)
            with self.lock:
                self.sessions.pop(uuid, None)
            return self.relay(h, response, data)
        body.drain()
        return self.error(h, 405, {"errors": [{"code": "UNSUPPORTED"}]})

    def chunk(self, h, name, uuid, session, headers, body, length):
        response, data = self.send(h, "PATCH", session["location"], headers, body, length)
        if response.status != 202:
            return self.relay(h, response, data)
        self.update(uuid, response)
        held = self.sessions[uuid]["held"]
        self.event(event="chunk", uuid=uuid, length=length, held=held)
        return self.answer(h, 202, [("Location", self.stable(name, uuid)), ("Range", self.range_header(held)), ("Docker-Upload-UUID", uuid)])

    def update(self, uuid, response):
        location = response.getheader("Location")
        with self.lock:
            if location:
                self.sessions[uuid]["location"] = re.sub(r"^[a-z]+://[^/]+", "", location)
            self.sessions[uuid]["held"] = self.held_after(response)
