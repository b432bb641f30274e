#!/usr/bin/env python3
"""A proxy in front of a test registry that logs one "METHOD PATH STATUS" line per request, so
cases can count uploads and downloads. Usage: logging-proxy.py UPSTREAM LOGFILE PORTFILE
With PROXY_BYTES_PER_SECOND set, response bodies are sent at about that rate (to interrupt a
transfer half way)."""
import http.client, os, sys, threading, time
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
        # A header sent several times (skopeo sends one Accept per media type) is joined, not
        # reduced to its last value.
        headers = {}
        for k, v in self.headers.items():
            if k.lower() not in HOP:
                headers[k] = headers[k] + ", " + v if k in headers else v
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        with lock, open(log, "a") as f:
            f.write("%s %s %d\n" % (self.command, self.path.split("?")[0], r.status))
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length": self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        rate = int(os.environ.get("PROXY_BYTES_PER_SECOND") or 0)
        if self.command != "HEAD":
            step = max(rate // 10, 1) if rate else len(data) or 1
            for start in range(0, len(data), step):
                self.wfile.write(data[start:start + step])
                if rate: time.sleep(0.1)
        conn.close()
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = go
s = ThreadingHTTPServer(("127.0.0.1", 0), P)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
