# The SBOM of a real Debian image: a debootstrap bookworm minbase (kept in a cache outside the
# clone, made once from the Debian mirror; skipped, saying so, when neither is there), then a
# layer in which dpkg purges a package (umoci repack: a new status file and whiteouts of the
# package's files). Served by the real registry and built from docker://: the SBOM's dpkg
# packages equal `dpkg-query --admindir=…/var/lib/dpkg -W` on `umoci unpack`'s tree, the purged
# package is gone (and was listed in the image without that layer), the document names the
# image by reference and digest, and it validates.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
cache=${SIFTER_TEST_CACHE:-/var/cache/sifter-tests}
root=$cache/minbase-bookworm
purged=libsemanage-common
if [ ! -x "$root/usr/bin/dpkg-query" ]; then
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  if ! command -v debootstrap >/dev/null || ! timeout 15 curl -sfI "$mirror/dists/bookworm/Release" >/dev/null; then
    echo "SKIP: no cached Debian root in $root and the Debian mirror $mirror is not available"
    exit 0
  fi
  mkdir -p "$cache" && rm -rf "$root.tmp"
  debootstrap --variant=minbase bookworm "$root.tmp" "$mirror" >debootstrap.log 2>&1 || { tail -20 debootstrap.log; fail "debootstrap failed"; }
  mv "$root.tmp" "$root"
fi

umoci init --layout layout >/dev/null
umoci new --image layout:debian >/dev/null
umoci unpack --image layout:debian bundle >/dev/null
cp -a "$root/." bundle/rootfs/
umoci repack --image layout:debian bundle >/dev/null
umoci config --image layout:debian --created 2024-06-01T00:00:00Z >/dev/null
grep -q "^Package: $purged\$" bundle/rootfs/var/lib/dpkg/status || fail "the minbase has no $purged"
# A second layer: dpkg itself purges a package.
chroot bundle/rootfs dpkg --purge --force-depends "$purged" >purge.log 2>&1 || { cat purge.log; fail "dpkg --purge"; }
umoci repack --image layout:purged bundle >/dev/null
umoci config --image layout:purged --created 2024-06-01T00:00:00Z >/dev/null
rm -rf bundle

start_registry none
skopeo copy -q --dest-tls-verify=false oci:layout:debian "docker://$REGISTRY/debian/minbase:full"
skopeo copy -q --dest-tls-verify=false oci:layout:purged "docker://$REGISTRY/debian/minbase:purged"
export SIFTER_CACHE_DIR=$CASE_WORK/cache

# dpkg's own listing of an unpacked tree: the oracle.
dpkg_list() {
  dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Package} ${Version} ${Architecture}\n' | sort
}
# The SBOM's dpkg packages, in the same shape.
sbom_debs() {
  python3 -c 'import json, sys, urllib.parse
d = json.load(open(sys.argv[1]))
for p in d["packages"][1:]:
    purl = [r["referenceLocator"] for r in p["externalRefs"]][0]
    if purl.startswith("pkg:deb/"):
        arch = urllib.parse.parse_qs(purl.split("?", 1)[1])["arch"][0]
        print(p["name"], p["versionInfo"], arch)' "$1" | sort
}

for tag in full purged; do
  image=layout:debian
  [ "$tag" = purged ] && image=layout:purged
  "$SIFTER" build --json --plain-http "docker://$REGISTRY/debian/minbase:$tag" "$tag.sif" >"$tag.build.json"
  "$SIFTER" sbom "$tag.sif" -o "$tag.spdx.json"
  validate_sbom "$tag.spdx.json"
  rm -rf bundle && umoci unpack --image "$image" bundle >/dev/null
  dpkg_list bundle/rootfs >"$tag.expected"
  [ "$(wc -l <"$tag.expected")" -gt 50 ] || fail "dpkg-query lists $(wc -l <"$tag.expected") packages"
  diff "$tag.expected" <(sbom_debs "$tag.spdx.json") || fail "$tag: the SBOM's dpkg packages differ from dpkg-query"
  python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); n = sum(1 for _ in open(sys.argv[2]))
assert r["sbom"] == {"format": "spdx", "packages": n} and r["warnings"] == [], r' "$tag.build.json" "$tag.expected" ||
    fail "build summary: $(cat "$tag.build.json")"
  echo "$tag: $(wc -l <"$tag.expected") packages, as dpkg-query lists them"
done
grep -q "^$purged " full.expected || fail "$purged missing from the full image"
grep -q "\"name\": \"$purged\"" purged.spdx.json && fail "the purged $purged is listed"
[ "$(wc -l <purged.expected)" -eq $(($(wc -l <full.expected) - 1)) ] || fail "the purge removed more than one package"

# The document names the image: reference, manifest digest, and its purl.
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifestDigest"])' purged.build.json)
python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); image = d["packages"][0]; registry, digest = sys.argv[2], sys.argv[3]
assert d["name"] == f"docker://{registry}/debian/minbase:purged", d["name"]
assert image["name"].endswith("debian/minbase:purged") and image["versionInfo"] == digest, image
assert image["checksums"] == [{"algorithm": "SHA256", "checksumValue": digest[7:]}], image
purl = image["externalRefs"][0]["referenceLocator"]
assert purl == f"pkg:oci/minbase@{digest}?repository_url={registry}/debian/minbase", purl
bash = [p for p in d["packages"] if p["name"] == "bash"][0]["externalRefs"][0]["referenceLocator"]
assert bash.startswith("pkg:deb/debian/bash@") and "arch=amd64" in bash and "distro=debian-12" in bash, bash' \
  purged.spdx.json "$REGISTRY" "$digest" || fail "the document does not name the image"
echo "debian: the purge's layer removes $purged from the SBOM; the document names $digest"
