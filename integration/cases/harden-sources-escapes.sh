# Text from outside (SIF descriptor names and objects, a registry's error messages) never
# reaches the terminal raw: control characters (ESC, BEL, CR, LF inside one-line messages),
# DEL, C1 controls and bidi overrides are printed escaped, in text and in JSON (where the JSON
# still decodes to the original name). A registry that answers with an error message made of
# terminal escapes and a forged "sifter: …" line is a small HTTP server of this case.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"

cat >clean.py <<'PY'
"""clean.py FILE…: fails when a file holds a control character other than LF and TAB, DEL, a
C1 control, a bidi override, or a line that starts with the forged "sifter: forged"."""
import re, sys
bad = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]")
failed = False
for name in sys.argv[1:]:
    text = open(name, "rb").read().decode("utf-8", "surrogateescape")
    for match in bad.finditer(text):
        print("%s: raw U+%04X at byte %d" % (name, ord(match.group()), match.start()))
        failed = True
    if re.search(r"(^|\n)sifter: forged", text):
        print("%s: a forged line" % name)
        failed = True
sys.exit(1 if failed else 0)
PY

# A SIF with a hostile descriptor name and hostile text objects.
name=$'\e]0;pwned\a\e[2J\r\nsifter: forged \x7f\xc2\x9b1m\xe2\x80\xaeevil'
printf 'Bootstrap: docker\n%%labels\n  a \e[31mred\e[0m \e]0;title\a\r\nsifter: forged too\n' >def.txt
printf '{"x": "\e[2J\xc2\x9b"}' >obj.json
"$SIFTER" sif new hostile.sif >/dev/null
"$SIFTER" sif add hostile.sif def.txt --type deffile >/dev/null
"$SIFTER" sif add hostile.sif obj.json --type genericJSON --name "$name" >/dev/null
"$SIFTER" sif add hostile.sif def.txt --type generic --name "$name" >/dev/null
"$SIFTER" inspect hostile.sif >inspect.txt 2>inspect.err
"$SIFTER" inspect --json hostile.sif >inspect.json 2>inspect-json.err
"$SIFTER" verify --offline hostile.sif >verify.txt 2>verify.err || true
"$SIFTER" verify --offline --json hostile.sif >verify.json 2>verify-json.err || true
python3 clean.py inspect.txt inspect.err inspect.json inspect-json.err verify.txt verify.err verify.json verify-json.err ||
  fail "raw control characters from the SIF reached the output"
grep -qF '\x1b]0;pwned\x07\x1b[2J\r\nsifter: forged' inspect.txt || fail "the name is not shown escaped: $(cat inspect.txt)"
NAME="$name" python3 - <<'PY' || fail "the JSON name does not decode to the original"
import json, os
names = [d["name"] for d in json.load(open("inspect.json"))["descriptors"]]
expected = os.environb[b"NAME"].decode()
assert names.count(expected) == 2, (names, expected)
PY
# An error message naming a file whose name holds the escapes.
"$SIFTER" sif add hostile.sif "$name" --type generic >add.out 2>add.err && fail "added a file that does not exist"
python3 clean.py add.out add.err || fail "raw control characters in an error message"
grep -qF 'sifter: forged' add.err || fail "the error does not name the file: $(cat add.err)"

# A registry whose every answer is a 400 carrying terminal escapes in its error message.
cat >hostile-registry.py <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
evil = "\x1b]0;pwned\x07\x1b[2J\r\nsifter: forged by the registry \x9b31m\u202eevil"
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length: self.rfile.read(length)
        if self.path == "/v2/":
            body, status = b"{}", 200
        else:
            body = json.dumps({"errors": [{"code": "DENIED", "message": evil, "detail": evil}]}).encode()
            status = 400
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = answer
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
open(sys.argv[1], "w").write(str(server.server_address[1]))
server.serve_forever()
PY
python3 hostile-registry.py port.txt </dev/null >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s port.txt ] && break; sleep 0.05; done
registry=127.0.0.1:$(cat port.txt)
"$IMAGES/make-layered.sh" layout t1 >/dev/null
"$SIFTER" build oci:layout:t1 layered.sif >/dev/null
n=0
for command in "build --plain-http docker://$registry/x/y:1 out.sif" "pull --plain-http oras://$registry/x/y:1 out.sif" \
  "def --plain-http docker://$registry/x/y:1" "push --plain-http layered.sif oras://$registry/x/y:1" \
  "verify --plain-http --source docker://$registry/x/y:1 layered.sif"; do
  n=$((n + 1))
  # shellcheck disable=SC2086
  "$SIFTER" $command </dev/null >"registry-$n.out" 2>"registry-$n.err" && fail "sifter $command succeeded"
  python3 clean.py "registry-$n.out" "registry-$n.err" || fail "sifter $command printed the registry's escapes raw"
  echo "sifter $command: $(cat "registry-$n.err" "registry-$n.out" | head -c 400)"
done
grep -qF 'forged by the registry' registry-1.err || fail "the registry's message is not shown at all: $(cat registry-1.err)"
echo "escapes: neutralised in text and JSON"
