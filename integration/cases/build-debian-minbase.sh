# A real Debian base: debootstrap bookworm minbase (from the Debian mirror apt uses), packed by
# umoci, served by the real registry, converted with `sifter build docker://…`; the tree in the
# SIF equals `umoci unpack`'s, and bash in a chroot of it runs the image's command. Skipped (and
# says so) when no Debian mirror is reachable: the other cases need no network.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
if ! command -v debootstrap >/dev/null || ! timeout 15 curl -sfI "$mirror/dists/bookworm/Release" >/dev/null; then
  echo "skipped: debootstrap or the Debian mirror $mirror is not available"
  exit 0
fi
umoci init --layout layout >/dev/null
umoci new --image layout:minbase >/dev/null
umoci unpack --image layout:minbase bundle >/dev/null
debootstrap --variant=minbase bookworm bundle/rootfs "$mirror" >debootstrap.log 2>&1 || { tail -20 debootstrap.log; fail "debootstrap failed"; }
umoci repack --image layout:minbase bundle >/dev/null
umoci config --image layout:minbase --config.cmd /bin/bash --config.cmd -c \
  --config.cmd '. /etc/os-release; echo "$PRETTY_NAME"' --created 2024-06-01T00:00:00Z >/dev/null

start_registry none
skopeo copy -q --dest-tls-verify=false oci:layout:minbase "docker://$REGISTRY/debian/minbase:bookworm"
SIFTER_CACHE_DIR=$CASE_WORK/cache "$SIFTER" build --json --plain-http "docker://$REGISTRY/debian/minbase:bookworm" minbase.sif >build.json
# A real Debian tree (merged /usr, hard links, the created time older than every file): no
# warnings.
python3 -c 'import json; r=json.load(open("build.json")); assert r["warnings"] == [], r' || fail "warnings: $(cat build.json)"

unsquashfs -q -d sifter-tree -o "$(partition_offset minbase.sif)" minbase.sif >/dev/null
rm -rf bundle && umoci unpack --image layout:minbase bundle >/dev/null
python3 "$COMPARE_TREES" bundle/rootfs sifter-tree $APPTAINER_PATHS
[ "$(chroot sifter-tree /bin/sh /.singularity.d/runscript)" = "Debian GNU/Linux 12 (bookworm)" ] || fail "runscript in the Debian tree"
grep -Eq 'Primary Architecture: +amd64' <<<"$("$SIFTOOL" header minbase.sif)" || fail "arch from /bin/sh's ELF header"
echo "debian minbase: tree equals umoci unpack's; runscript runs bash"
