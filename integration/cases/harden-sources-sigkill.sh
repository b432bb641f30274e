# SIGKILL of sifter in the middle of a build: mksquashfs dies with it (killed by SIGKILL, not
# left to finish writing the temporary file), and the next build of the same output removes the
# temporary files the killed run left, while never touching those of a build still running.
# The killer runs as a child subreaper, so the orphaned mksquashfs becomes its child and its
# end can be observed exactly (waitpid), with no timing involved. mksquashfs is stopped
# (SIGSTOP) while sifter is killed: the end of its input, which it would see as sifter's
# descriptors close, cannot make it exit first, and only the parent-death SIGKILL (which ends
# a stopped process) can end it before it is continued.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
"$IMAGES/make-layered.sh" layout t1 >/dev/null

# An image whose squashing takes a while: one uncompressed layer of 192 MiB of random bytes.
python3 - <<'PY'
import hashlib, io, json, os, tarfile
os.makedirs("big/blobs/sha256", exist_ok=True)
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    with open("big/blobs/sha256/" + digest, "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
    for i in range(4):
        data = os.urandom(48 << 20)
        info = tarfile.TarInfo("data/f%d" % i)
        info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
        tar.addfile(info, io.BytesIO(data))
layer = buf.getvalue()
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **put(config)),
                       "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar", **put(layer))]}).encode()
index = {"schemaVersion": 2, "manifests": [dict(mediaType="application/vnd.oci.image.manifest.v1+json",
         annotations={"org.opencontainers.image.ref.name": "big"}, **put(manifest))]}
json.dump(index, open("big/index.json", "w"))
open("big/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
PY

cat >killer.py <<'PY'
"""killer.py OUTPUT COMMAND…: runs COMMAND (a sifter build writing OUTPUT), waits until a
mksquashfs writing OUTPUT's temporary file runs and has written something, SIGKILLs the
command, then reaps every orphan and fails unless each mksquashfs died of SIGKILL."""
import ctypes, os, signal, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_CHILD_SUBREAPER = 36
assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
output, command = sys.argv[1], sys.argv[2:]
directory, name = os.path.split(os.path.abspath(output))
prefix = "." + name + ".sifter-"

def squashers():
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
        except OSError:
            continue
        if any(b"mksquashfs" in a for a in argv[:3]) and any(prefix.encode() in a for a in argv):
            found[int(pid)] = argv
    return found

def temporary_size():
    return sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory)
               if f.startswith(prefix) and f.endswith(".tmp"))

build = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
while build.poll() is None and not (squashers() and temporary_size() > (1 << 20)):
    time.sleep(0.05)
if build.poll() is not None:
    sys.exit("the build ended (status %s) before mksquashfs was seen writing" % build.returncode)
seen = squashers()
for pid in seen:
    os.kill(pid, signal.SIGSTOP)
os.kill(build.pid, signal.SIGKILL)
build.wait()
for pid in seen:
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass
print("killed sifter %d; mksquashfs was %s" % (build.pid, sorted(seen)))
ended = {}
while True:
    try:
        pid, status = os.waitpid(-1, 0)
    except ChildProcessError:
        break
    ended[pid] = status
bad = []
for pid in seen:
    status = ended.get(pid)
    if status is None:
        bad.append("mksquashfs %d was not reaped here" % pid)
    elif not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
        how = "exit status %d" % os.WEXITSTATUS(status) if os.WIFEXITED(status) else "signal %d" % os.WTERMSIG(status)
        bad.append("mksquashfs %d outlived sifter and ended with %s" % (pid, how))
if bad:
    sys.exit("; ".join(bad))
print("every mksquashfs died of SIGKILL with sifter")
PY

mkdir out
timeout 300 python3 killer.py out/app.sif "$SIFTER" build oci:big:big out/app.sif || fail "mksquashfs outlived a SIGKILLed sifter"
for pid in $(pgrep -f 'mksquashfs.*\.app\.sif\.sifter-' || true); do fail "mksquashfs $pid still runs"; done
left=$(ls -A out)
[ -n "$left" ] || fail "the killed build left nothing (was it killed in the middle?)"
echo "left by the killed build: $left"
[ ! -e out/app.sif ] || fail "the killed build wrote out/app.sif"

# The next build of the same output removes what the killed one left.
"$SIFTER" build oci:layout:t1 out/app.sif >/dev/null
[ "$(ls -A out)" = app.sif ] || fail "after the next build: $(ls -A out)"
echo "the next build removed the stale temporaries"

# A build still running keeps its temporary files: stop one (SIGSTOP) while mksquashfs writes,
# build the same output again, and the stopped build's files are still there; resumed, it
# fails because the output now exists, and removes its own files.
rm out/app.sif
"$SIFTER" build oci:big:big out/app.sif >stopped.out 2>stopped.err &
stopped=$!
for _ in $(seq 600); do
  [ -n "$(find out -name '.app.sif.sifter-*.tmp' -size +1M)" ] && break
  sleep 0.05
done
[ -n "$(find out -name '.app.sif.sifter-*.tmp' -size +1M)" ] || fail "the stopped build never started writing"
kill -STOP "$stopped"
live=$(ls -A out | sort)
"$SIFTER" build oci:layout:t1 out/app.sif >/dev/null
for file in $live; do
  [ -e "out/$file" ] || fail "the build removed $file of a build still running"
done
kill -CONT "$stopped"
status=0; wait "$stopped" || status=$?
[ "$status" != 0 ] || fail "the resumed build replaced the output without --force"
grep -q "already exists" stopped.err || fail "the resumed build: $(cat stopped.err)"
[ "$(ls -A out)" = app.sif ] || fail "after the resumed build failed: $(ls -A out)"
"$SIFTER" verify --offline out/app.sif >/dev/null || fail "out/app.sif is not the finished build"
echo "SIGKILL: mksquashfs dies with sifter, stale temporaries removed, live ones kept"
