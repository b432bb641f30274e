# A failure is reported once, with its cause, in its category (exit status), the same for
# every source kind: a full disk shows mksquashfs's own message and the output's directory
# (exit 74), a mksquashfs that fails shows its message, a corrupt layer is bad input (65)
# from an OCI layout and from a registry alike. A bad layer is found before mksquashfs
# starts; mksquashfs starts at most once. Nothing is left beside the output.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
"$IMAGES/make-layered.sh" layout t1 >/dev/null

# A mksquashfs that logs each start, so the case can count them.
cat >mksquashfs-logged <<SH
#!/bin/sh
[ "\$1" = -version ] || echo start >>"$CASE_WORK/mksquashfs.starts"
exec mksquashfs "\$@"
SH
chmod +x mksquashfs-logged
starts() { [ -f mksquashfs.starts ] && wc -l <mksquashfs.starts || echo 0; }
nothing_left() { [ -z "$(find "$1" -maxdepth 1 -name '.*.sifter-*' 2>/dev/null)" ] || fail "temporary files left in $1: $(ls -a "$1")"; }

# A full disk: the output directory is a small tmpfs.
mkdir small
if mount -t tmpfs -o size=256k tmpfs small 2>/dev/null; then
  trap 'umount "$CASE_WORK/small" 2>/dev/null || true' EXIT
  status=0
  "$SIFTER" build --mksquashfs "$CASE_WORK/mksquashfs-logged" oci:layout:t1 small/out.sif 2>full.err || status=$?
  [ "$status" = 74 ] || fail "full disk: exit $status, expected 74: $(cat full.err)"
  grep -q "No space left on device" full.err || fail "full disk: mksquashfs's message is missing: $(cat full.err)"
  grep -q "small/" full.err || fail "full disk: the output's directory is not named: $(cat full.err)"
  grep -qi "broken pipe" full.err && fail "full disk: reported as a broken pipe: $(cat full.err)"
  [ "$(starts)" = 1 ] || fail "full disk: mksquashfs started $(starts) times"
  [ ! -e small/out.sif ] || fail "full disk: a partial SIF was left"
  nothing_left small
  umount small
  trap - EXIT
else
  echo "SKIP full disk: cannot mount a tmpfs here"
fi

# A mksquashfs that fails on its own: its message is the error.
cat >mksquashfs-fails <<'SH'
#!/bin/sh
[ "$1" = -version ] && exec mksquashfs -version
head -c 1000 >/dev/null
echo "FATAL ERROR: the compressor refused (test)" >&2
exit 3
SH
chmod +x mksquashfs-fails
status=0
"$SIFTER" build --mksquashfs "$CASE_WORK/mksquashfs-fails" oci:layout:t1 fails.sif 2>fails.err || status=$?
[ "$status" = 74 ] || fail "failing mksquashfs: exit $status: $(cat fails.err)"
grep -q "the compressor refused (test)" fails.err || fail "failing mksquashfs: its message is missing: $(cat fails.err)"
grep -q "exit status 3" fails.err || fail "failing mksquashfs: the status is missing: $(cat fails.err)"
[ ! -e fails.sif ] || fail "failing mksquashfs left fails.sif"
nothing_left .

# The same corrupt layer (its gzip stream damaged: same size, digest recomputed so only the
# content is wrong) from an OCI layout and from a registry: bad input, 65, both times,
# found before mksquashfs starts.
python3 - <<'PY'
import hashlib, json, os
root = "layout"
index = json.load(open(f"{root}/index.json"))
manifest_digest = index["manifests"][0]["digest"].split(":")[1]
manifest = json.load(open(f"{root}/blobs/sha256/{manifest_digest}"))
layer = max(manifest["layers"], key=lambda l: l["size"])
data = bytearray(open(f"{root}/blobs/sha256/{layer['digest'].split(':')[1]}", "rb").read())
for i in range(len(data) // 2, len(data) // 2 + 64):
    data[i] ^= 0x55
digest = hashlib.sha256(data).hexdigest()
open(f"{root}/blobs/sha256/{digest}", "wb").write(data)
layer["digest"] = "sha256:" + digest
body = json.dumps(manifest).encode()
new = hashlib.sha256(body).hexdigest()
open(f"{root}/blobs/sha256/{new}", "wb").write(body)
index["manifests"].append({"mediaType": manifest.get("mediaType", "application/vnd.oci.image.manifest.v1+json"),
                           "digest": "sha256:" + new, "size": len(body),
                           "annotations": {"org.opencontainers.image.ref.name": "corrupt"}})
json.dump(index, open(f"{root}/index.json", "w"))
print(digest, file=open("corrupt.digest", "w"))
PY
corrupt=$(cat corrupt.digest)
rm -f mksquashfs.starts
status=0
"$SIFTER" build --quiet --mksquashfs "$CASE_WORK/mksquashfs-logged" oci:layout:corrupt local.sif 2>local.err || status=$?
[ "$status" = 65 ] || fail "corrupt layer from oci: exit $status: $(cat local.err)"
grep -q "$corrupt" local.err || fail "corrupt layer from oci: the layer is not named: $(cat local.err)"
start_registry none
skopeo copy -q --dest-tls-verify=false oci:layout:corrupt "docker://$REGISTRY/test/corrupt:1"
status=0
"$SIFTER" build --quiet --plain-http --mksquashfs "$CASE_WORK/mksquashfs-logged" "docker://$REGISTRY/test/corrupt:1" remote.sif 2>remote.err || status=$?
[ "$status" = 65 ] || fail "corrupt layer from a registry: exit $status: $(cat remote.err)"
grep -q "$corrupt" remote.err || fail "corrupt layer from a registry: the layer is not named: $(cat remote.err)"
[ "$(starts)" = 0 ] || fail "mksquashfs started $(starts) times for corrupt layers"
# --quiet: progress lines aside, the failure is one message.
[ "$(grep -c . local.err)" = 1 ] && [ "$(grep -c . remote.err)" = 1 ] || fail "not one message: $(cat local.err remote.err)"
[ ! -e local.sif ] && [ ! -e remote.sif ] || fail "a SIF was written from a corrupt layer"
nothing_left .
echo "failure causes: full disk and mksquashfs's own failure in its words (74); corrupt layer 65 from both sources, mksquashfs never started"
