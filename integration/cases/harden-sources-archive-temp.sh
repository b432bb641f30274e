# oci-archive: and docker-archive: sources read the archive in place and copy out only the
# layers the chosen image uses: an archive of 1 MiB on disk holding an unreferenced 1 GiB member
# (a hole in the file) builds with TMPDIR on a 64 MiB tmpfs, gives the layout's tree, and
# leaves nothing in TMPDIR; so does a gzip-compressed `docker save` (read as a stream).
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
mkdir tmp
if ! mount -t tmpfs -o size=64m tmpfs tmp 2>mount.err; then
  echo "SKIP: cannot mount a tmpfs: $(cat mount.err)"
  exit 0
fi
trap 'umount "$CASE_WORK/tmp" 2>/dev/null || true' EXIT

"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q oci:layout:t1 oci-archive:plain-oci.tar:t1
skopeo copy -q oci:layout:t1 docker-archive:plain-docker.tar:example.org/layered:t1

# Copies an archive with a 1 GiB member of zeros first (not named by any manifest), written as
# a hole: the copy is about as small on disk as the original.
with_junk() {
  python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
source, target = sys.argv[1], sys.argv[2]
members = []
with tarfile.open(source) as tar:
    for member in tar:
        members.append((member, tar.extractfile(member).read() if member.isfile() else None))
with open(target, "wb") as out:
    junk = tarfile.TarInfo("blobs/sha256/" + "0" * 64)
    junk.size, junk.mode, junk.mtime = 1 << 30, 0o644, 1700000000
    out.write(junk.tobuf(tarfile.PAX_FORMAT))
    out.seek(1 << 30, io.SEEK_CUR)
    for member, data in members:
        out.write(member.tobuf(tarfile.PAX_FORMAT))
        if data is not None:
            out.write(data + b"\0" * (-len(data) % 512))
    out.write(b"\0" * 1024)
PY
}
with_junk plain-oci.tar junk-oci.tar
with_junk plain-docker.tar junk-docker.tar
[ "$(du -k junk-oci.tar | cut -f1)" -lt $((16 << 10)) ] || fail "the junk archive is not sparse"
gzip -c plain-docker.tar >docker.tar.gz
gzip -c junk-docker.tar >junk-docker.tar.gz

"$SIFTER" build oci:layout:t1 layout.sif >/dev/null
unsquashfs -q -d layout-tree -o "$(partition_offset layout.sif)" layout.sif >/dev/null
for source in oci-archive:junk-oci.tar:t1 docker-archive:junk-docker.tar docker-archive:docker.tar.gz \
  docker-archive:junk-docker.tar.gz; do
  name=$(tr -c 'a-z0-9\n' - <<<"$source")
  TMPDIR=$CASE_WORK/tmp timeout 300 "$SIFTER" build "$source" "$name.sif" >/dev/null 2>"$name.err" ||
    fail "$source with TMPDIR on a 64 MiB tmpfs: $(cat "$name.err")"
  unsquashfs -q -d "$name-tree" -o "$(partition_offset "$name.sif")" "$name.sif" >/dev/null
  python3 "$COMPARE_TREES" layout-tree "$name-tree" --ignore .singularity.d/Singularity --ignore .singularity.d/labels.json
  [ -z "$(ls -A tmp)" ] || fail "$source left $(ls -A tmp) in TMPDIR"
  echo "$source: built with TMPDIR on a 64 MiB tmpfs"
done

# A layer the manifest names with a size the archive member does not have is refused before
# anything is copied out.
python3 - <<'PY'
import io, json, tarfile
with tarfile.open("plain-oci.tar") as tar:
    members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar]
files = {m.name: data for m, data in members if data is not None}
index = json.loads(files["index.json"])
manifest_name = "blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]
manifest = json.loads(files[manifest_name])
layer_name = "blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1]
with open("short-layer-oci.tar", "wb") as out:
    for member, data in members:
        if member.name == layer_name:
            data = data[:-1]
            member.size = len(data)
        out.write(member.tobuf(tarfile.PAX_FORMAT))
        if data is not None:
            out.write(data + b"\0" * (-len(data) % 512))
    out.write(b"\0" * 1024)
print(layer_name)
PY
status=0
TMPDIR=$CASE_WORK/tmp "$SIFTER" build oci-archive:short-layer-oci.tar:t1 short.sif 2>short.err >/dev/null || status=$?
[ "$status" = 65 ] && grep -q "the descriptor says" short.err || fail "a short layer member: status $status: $(cat short.err)"
[ -z "$(ls -A tmp)" ] || fail "a refused archive left $(ls -A tmp) in TMPDIR"
echo "archives: read in place, only referenced layers copied out"
