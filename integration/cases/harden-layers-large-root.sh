# Large root directories and many files: with 1,000 entries directly under /, and with 300,000
# files (in 300 directories: mksquashfs's tar reader looks names up linearly, so 300,000 in one
# directory take it most of an hour), the default (gzip) build succeeds and the image holds
# every entry, with the root's time the latest in the tree. Before, the root-time patch read the directory index count from the wrong field of the
# root inode and failed ("the root inode is not the last inode", "truncated root inode index");
# there is no patch any more: the root gets its time from mksquashfs's command line.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
for count in 1000 300000; do
  python3 - "$count" <<'PY'
import io, sys, tarfile
count = int(sys.argv[1])
with tarfile.open(f"root-{count}.tar", "w", format=tarfile.GNU_FORMAT) as tar:
    for i in range(count):
        name = f"entry-{i:06d}" if count <= 1000 else f"entry-dir-{i // 1000:03d}/entry-{i:06d}"
        info = tarfile.TarInfo(name)
        info.mtime = 1704067200 + (i % 1000)
        tar.addfile(info, io.BytesIO(b""))
    data = b"#!/bin/true\n"
    info = tarfile.TarInfo("latest")
    info.size, info.mode, info.mtime = len(data), 0o755, 1717200000
    tar.addfile(info, io.BytesIO(data))
PY
  "$IMAGES/make-from-layers.sh" layout "root-$count" "root-$count.tar" >/dev/null
  "$SIFTER" build "oci:layout:root-$count" "root-$count.sif" >/dev/null
  listing=$(TZ=UTC unsquashfs -lln -o "$(partition_offset "root-$count.sif")" "root-$count.sif")
  entries=$(grep -c ' squashfs-root/\(entry-dir-[0-9]*/\)\?entry-[0-9]*$' <<<"$listing")
  [ "$entries" = "$count" ] || fail "$count entries under /: the image holds $entries"
  grep -q "^d.* 2024-06-01 00:00 squashfs-root$" <<<"$listing" ||
    fail "$count entries: the root's time is not the latest in the tree: $(grep ' squashfs-root$' <<<"$listing")"
  echo "$count entries: built, all there, root time 2024-06-01"
done
