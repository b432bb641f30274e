# Progress, as a person and a CI log see it, on real builds: a registry behind a proxy that sends
# at 512 KiB/s (a slow download) and an mksquashfs fed at about 640 KiB/s (a slow compression),
# so each stage lasts longer than 10 s whatever the machine. Through a pipe (CI): plain lines,
# one when a stage starts and one when it ends, and periodic `STAGE: N% of SIZE, T s` lines at
# least 10 s apart, the download's and then the stream's; no terminal control sequences.
# Under `script` (a terminal, 60 columns): one live line redrawn in place with the stage that
# runs, bytes, rate and ETA, never wider than the terminal, never a download line once the
# stream began, and a line left per stage. --quiet prints only the result; --json's document is
# unchanged on stdout. The rates and ETAs printed depend on the machine; what is checked does not.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry none
"$IMAGES/make-layered.sh" layout t1 >/dev/null
mkdir -p noise/data
head -c $((6 << 20)) /dev/urandom >noise/data/noise.bin
tar -C noise -cf noise.tar data
umoci raw add-layer --image layout:t1 noise.tar >/dev/null
skopeo copy -q --dest-tls-verify=false oci:layout:t1 "docker://$REGISTRY/test/slow:1"
PROXY_BYTES_PER_SECOND=$((512 << 10)) start_logging_proxy

# mksquashfs reading its tar stream at about 640 KiB/s (its -version probe passes straight through).
real_mksquashfs=$(command -v mksquashfs)
cat >slow-mksquashfs <<EOF
#!/bin/sh
case " \$* " in
  *" -tar "*) python3 -c '
import sys, time
while True:
    block = sys.stdin.buffer.read(65536)
    if not block: break
    sys.stdout.buffer.write(block); sys.stdout.buffer.flush(); time.sleep(0.1)' | $real_mksquashfs "\$@" ;;
  *) exec $real_mksquashfs "\$@" ;;
esac
EOF
chmod 755 slow-mksquashfs
build() { SIFTER_CACHE_DIR=$CASE_WORK/cache-$1 "$SIFTER" build --plain-http --mksquashfs "$CASE_WORK/slow-mksquashfs" "docker://$proxy/test/slow:1" "${@:2}"; }

# CI: through a pipe.
build pipe pipe.sif 2>&1 >pipe.out | cat >pipe.err
grep -q "^pipe.sif: " pipe.out || fail "no result line: $(cat pipe.out)"
grep -q $'\r\|\e' pipe.err && fail "control sequences in a log: $(cat -A pipe.err)"
python3 - pipe.err <<'PY' || fail "log lines: $(cat pipe.err)"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
periodic = {}
started, ended = [], []
for line in lines:
    m = re.fullmatch(r"(download|index|stream|sif): (\d+)% of [\d.]+ (?:KiB|MiB), (\d+) s", line)
    if m:
        periodic.setdefault(m.group(1), []).append((int(m.group(2)), int(m.group(3))))
        continue
    m = re.fullmatch(r"(download|index|stream|sif): done.*", line)
    if m:
        ended.append(m.group(1))
        continue
    m = re.fullmatch(r"(download|index|stream|sif): .+", line)
    if m:
        started.append(m.group(1))
        continue
    assert re.fullmatch(r"docker://\S+: sha256:[0-9a-f]{12}, 5 layers \([\d.]+ MiB\), linux/amd64", line), line
# One start and one end line per stage.
assert sorted(started) == sorted(ended) == ["download", "index", "sif", "stream"], (started, ended)
# The slow download and the slow stream each show up as themselves, at least 10 s apart.
assert "download" in periodic and "stream" in periodic, periodic
for stage, seen in periodic.items():
    for (_, earlier), (_, later) in zip(seen, seen[1:]):
        assert later - earlier >= 9, (stage, seen)
    assert all(a <= b for (a, _), (b, _) in zip(seen, seen[1:])), (stage, seen)
# The stream's lines come after the download ended: never a stale download line.
last_download = max(i for i, l in enumerate(lines) if l.startswith("download:"))
first_stream = min(i for i, l in enumerate(lines) if l.startswith("stream:"))
assert last_download < first_stream, lines
print("log:", {k: v for k, v in periodic.items()})
PY

# A person: a terminal of 60 columns (script(1) gives the build a pseudo-terminal).
script -qec "stty cols 60 rows 20; SIFTER_CACHE_DIR=$CASE_WORK/cache-tty $SIFTER build --plain-http --mksquashfs $CASE_WORK/slow-mksquashfs docker://$proxy/test/slow:1 $CASE_WORK/tty.sif" tty.typescript >/dev/null </dev/null ||
  fail "the build under script failed: $(cat -A tty.typescript | tail)"
cmp pipe.sif tty.sif || fail "the terminal's build differs from the pipe's"
python3 - tty.typescript <<'PY' || fail "terminal output: $(cat -A tty.typescript | head -50)"
import re, sys
# The typescript as the terminal got it (newline="": no translation of CR); a pty sends LF as CR LF.
text = open(sys.argv[1], encoding="utf-8", errors="replace", newline="").read().replace("\r\n", "\n")
frames = text.split("\r\x1b[K")[1:]
live = [f for f in frames if f and "\n" not in f]
kept = [line for f in frames if "\n" in f for line in f.split("\n")[:-1]]
stages = ["download", "index", "stream", "sif"]
assert live, frames
assert all(len(f) <= 59 for f in live), [f for f in live if len(f) > 59]
# Live lines: the stage, bytes done of the total, percent, and for a byte stage with a rate, its ETA.
assert any(re.match(r"download +[\d.]+ (KiB|MiB) / [\d.]+ MiB +\d+% +[\d.]+ (KiB|MiB)/s +ETA", f) for f in live), live[:20]
assert any(re.match(r"stream +[\d.]+ (KiB|MiB) / [\d.]+ MiB +\d+%", f) for f in live), live
first_stream = min(i for i, f in enumerate(live) if f.startswith("stream"))
assert not any(f.startswith(("download", "index")) for f in live[first_stream:]), live[first_stream:]
# One line left per stage, in order, then the result.
done = [k.split()[0] for k in kept if re.match(r"(download|index|stream|sif) +done", k)]
assert done == stages, kept
assert any(k.startswith("/") and "tty.sif: " in k for k in kept), kept
print("terminal:", len(live), "live frames; kept:", [k for k in kept if "done" in k])
PY

# --quiet: the result only (the same build without it prints its stages); --json: the document
# on stdout, progress on stderr.
fast() { SIFTER_CACHE_DIR=$CASE_WORK/cache-pipe "$SIFTER" build --plain-http "docker://$REGISTRY/test/slow:1" "$@"; }
fast quiet.sif --quiet >quiet.out 2>quiet.err
[ ! -s quiet.err ] || fail "--quiet printed: $(cat quiet.err)"
grep -q "^quiet.sif: " quiet.out || fail "--quiet lost the result: $(cat quiet.out)"
fast json.sif --json >json.out 2>json.err
python3 -c 'import json,sys; d = json.load(open("json.out")); assert d["output"] == "json.sif", d' || fail "--json: $(cat json.out)"
grep -q "^stream: done" json.err || fail "no progress without --quiet: $(cat json.err)"
echo "progress: log and terminal modes, --quiet and --json checked"
