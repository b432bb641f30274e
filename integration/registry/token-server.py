#!/usr/bin/env python3
"""Test fixture: a Docker-registry token server (distribution `auth: token`), Python stdlib only.

GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...] answers
{"token", "access_token", "expires_in", "issued_at"} with an RS256 JWT signed by `openssl dgst`
(the key's certificate is the registry's rootcertbundle, found by "kid").

What it checks, so client bugs fail tests:
- `service` must be the configured one; every `scope` must be one scope (one parameter per scope,
  never space-joined) of the form repository:<name>:<actions>;
- Basic credentials, when sent, must be right (else 401); anonymous clients get `pull` only --
  `push` is granted only with credentials (the intersection, as real token servers do);
- a Bearer header sent to the token endpoint is refused (401), like GHCR does.
POST /token with a form (grant_type=refresh_token|password, client_id, service, one space-joined
scope) is the OAuth2 variant used with docker's `identitytoken`; --refresh-token is the one
refresh token it accepts.
Every request is appended to --log as one JSON line (scopes, whether credentials came, granted).
"""
import argparse, signal, base64, json, re, subprocess, sys, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

SCOPE_RE = re.compile(r"^repository:([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*):([a-z*]+(?:,[a-z*]+)*)$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Server(ThreadingHTTPServer):
    daemon_threads = True


def make_handler(args):
    log_lock = threading.Lock()

    def log(record):
        with log_lock, open(args.log, "a") as f:
            f.write(json.dumps(record) + "\n")

    def sign(claims):
        header = {"typ": "JWT", "alg": "RS256", "kid": args.kid}
        signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.key], input=signing_input,
                             capture_output=True, check=True).stdout
        return signing_input.decode() + "." + b64url(sig)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body, extra=None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            if urlsplit(self.path).path != "/token":
                return self.reply(404, {"error": "not found"})
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            record = {"oauth": True, "grant": form.get("grant_type", []), "scopes": form.get("scope", [])}
            ok = (form.get("grant_type") == ["refresh_token"] and form.get("refresh_token") == [args.refresh_token]) or \
                 (form.get("grant_type") == ["password"] and form.get("username") == [args.user] and form.get("password") == [args.password])
            if not form.get("client_id") or form.get("service") != [args.service]:
                record["refused"] = "form"
                log(record)
                return self.reply(400, {"error": "invalid_request"})
            if not ok:
                record["refused"] = "credentials"
                log(record)
                return self.reply(401, {"error": "invalid_grant"})
            scopes = " ".join(form.get("scope", [])).split()
            self.grant(scopes, True, record)

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/healthz":
                return self.reply(200, {})
            if url.path != "/token":
                return self.reply(404, {"error": "not found"})
            query = parse_qs(url.query, keep_blank_values=True)
            scopes = query.get("scope", [])
            auth = self.headers.get("Authorization", "")
            record = {"scopes": scopes, "service": query.get("service", []), "basic": auth.startswith("Basic "),
                      "bearer": auth.startswith("Bearer ")}
            if query.get("service") != [args.service]:
                record["refused"] = "service"
                log(record)
                return self.reply(400, {"error": "wrong or missing service"})
            authenticated = False
            if auth.startswith("Basic "):
                try:
                    user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                except Exception:
                    user, password = "", None
                if user != args.user or password != args.password:
                    record["refused"] = "credentials"
                    log(record)
                    return self.reply(401, {"error": "bad credentials"}, {"WWW-Authenticate": 'Basic realm="token"'})
                authenticated = True
            elif auth:
                record["refused"] = "scheme"
                log(record)
                return self.reply(401, {"error": "only Basic is accepted here"})
            self.grant(scopes, authenticated, record)

        def grant(self, scopes, authenticated, record):
            access = []
            for scope in scopes:
                m = SCOPE_RE.match(scope)
                if not m:
                    record["refused"] = "scope"
                    log(record)
                    return self.reply(400, {"error": "malformed scope %r" % scope})
                wanted = m.group(2).split(",")
                allowed = {"pull", "push", "delete", "*"} if authenticated else {"pull"}
                granted = [a for a in wanted if a in allowed]
                access.append({"type": "repository", "name": m.group(1), "actions": granted})
            record["granted"] = access
            log(record)
            now = int(time.time())
            claims = {"iss": args.issuer, "sub": args.user if authenticated else "", "aud": args.service,
                      "exp": now + args.expires, "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()),
                      "access": access}
            token = sign(claims)
            # Alternate the field names so clients must read either (both are in the spec).
            body = {"expires_in": args.expires, "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
            if len(scopes) % 2 == 0:
                body["token"] = token
            else:
                body["access_token"] = token
            self.reply(200, body)

    return Handler


def main():
    # A test runner may start us with signals blocked (its threads block them and children
    # inherit the mask); unblock so stop.sh's SIGTERM works.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    p = argparse.ArgumentParser()
    for name in ("key", "kid", "issuer", "service", "user", "password", "log"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--expires", type=int, default=300)
    p.add_argument("--refresh-token", default="")
    args = p.parse_args()
    server = Server(("127.0.0.1", args.port), make_handler(args))
    server.serve_forever()


if __name__ == "__main__":
    main()
