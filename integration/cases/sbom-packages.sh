# The SBOM object of `sifter build` (issue 16 part 2), on images made here with no network:
# - an rpm image: a real rpmdb.sqlite written by Debian's rpm (rpmbuild, `rpm --justdb -i`) in
#   /usr/lib/sysimage/rpm with /var/lib/rpm a link to it (Fedora 36+), a second layer that
#   erases a package writing through that link, Python distributions one of which a whiteout
#   removes: the SBOM lists what `rpm -qa` and importlib.metadata list on `umoci unpack`'s tree;
# - an apk image (apk's documented `installed` format; a later layer drops a package);
# - a distroless-style image (dpkg status.d files, one whited out), listed as dpkg-query lists
#   those records.
# Every SBOM validates with spdx-tools / cyclonedx-python-lib; the build is reproducible; the
# descriptor reads the same in the reference implementation; inspect shows it, `sifter sbom`
# extracts it, verify covers it, --no-sbom leaves it out.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
export HOME=$CASE_WORK
python3 "$(dirname "$COMPARE_READERS")/embed-spdx-licenses.py" --check

# Package lines "type name version arch license" of an SBOM, sorted (either format).
sbom_packages() {
  python3 - "$@" <<'PY'
import json, sys, urllib.parse
document = json.load(open(sys.argv[1]))
wanted = sys.argv[2] if len(sys.argv) > 2 else None
rows = []
def row(purl, version, license):
    kind = purl[4:].split("/", 1)[0]
    name = urllib.parse.unquote(purl.split("?")[0].split("@")[0].rsplit("/", 1)[1])
    query = urllib.parse.parse_qs(purl.split("?", 1)[1]) if "?" in purl else {}
    if wanted is None or kind == wanted:
        rows.append(f"{kind} {name} {version} {query.get('arch', ['-'])[0]} {license}")
if "spdxVersion" in document:
    extracted = {e["licenseId"]: e["extractedText"] for e in document.get("hasExtractedLicensingInfos", [])}
    for p in document["packages"]:
        if p["SPDXID"] == "SPDXRef-Image":
            continue
        purl = [r["referenceLocator"] for r in p["externalRefs"] if r["referenceType"] == "purl"][0]
        license = extracted.get(p["licenseDeclared"], p["licenseDeclared"])
        row(purl, p["versionInfo"], "-" if license == "NOASSERTION" else license)
else:
    for c in document["components"]:
        licenses = c.get("licenses", [])
        license = (licenses[0].get("expression") or licenses[0]["license"]["name"]) if licenses else "-"
        row(c["purl"], c["version"], license)
print("\n".join(sorted(rows)))
PY
}

# --- the rpm image ---------------------------------------------------------------------------
mkdir -p l1/usr/lib/sysimage/rpm l1/var/lib l1/etc l1/usr/bin rpmbuild
ln -s ../../usr/lib/sysimage/rpm l1/var/lib/rpm
printf 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\n' >l1/etc/os-release
echo tool >l1/usr/bin/tool
rpm --dbpath "$CASE_WORK/l1/usr/lib/sysimage/rpm" --initdb
make_rpm() {  # NAME VERSION RELEASE EPOCH ARCH LICENSE
  local epoch=""
  [ "$4" = "-" ] || epoch="Epoch: $4"
  printf 'Name: %s\nVersion: %s\nRelease: %s\n%s\nSummary: test\nLicense: %s\nBuildArch: %s\n%%description\ntest\n%%files\n' \
    "$1" "$2" "$3" "$epoch" "$6" "$5" >"$1.spec"
  rpmbuild --define "_topdir $CASE_WORK/rpmbuild" -bb "$1.spec" >"$1.build.log" 2>&1 || { cat "$1.build.log"; fail "rpmbuild $1"; }
  rpm --dbpath "$CASE_WORK/l1/usr/lib/sysimage/rpm" --justdb --nodeps --ignorearch -i \
    "rpmbuild/RPMS/$5/$1-$2-$3.$5.rpm" 2>/dev/null
}
make_rpm tiny-hello 1.2.3 4.fc40 2 x86_64 'MIT AND (Apache-2.0 OR GPL-2.0-or-later)'
make_rpm old-style 0.9 1 - x86_64 'GPLv2+ and BSD'
make_rpm data-files 2024.1 7 - noarch CC0-1.0
site=usr/lib/python3.12/site-packages
for dist in requests:2.32.3:Apache-2.0 typing_extensions:4.12.2: six:1.16.0:MIT; do
  IFS=: read -r name version license <<<"$dist"
  mkdir -p "l1/$site/$name-$version.dist-info"
  { printf 'Metadata-Version: 2.1\nName: %s\nVersion: %s\n' "$name" "$version"
    [ -z "$license" ] || printf 'License: %s\n' "$license"
    printf '\nA long description.\nName: not-a-header\n'; } >"l1/$site/$name-$version.dist-info/METADATA"
done
tar --numeric-owner -C l1 -cf layer1.tar .
# Layer 2: rpm erases a package, and the database is written through the /var/lib/rpm link
# (the member's parents are not in the layer); a whiteout removes a Python distribution.
mkdir -p l2db l2/var/lib/rpm "l2/$site"
cp -a l1/usr/lib/sysimage/rpm/. l2db/
rpm --dbpath "$CASE_WORK/l2db" --justdb --nodeps -e old-style 2>/dev/null
cp l2db/rpmdb.sqlite l2/var/lib/rpm/rpmdb.sqlite
: >"l2/$site/.wh.six-1.16.0.dist-info"
tar --numeric-owner -C l2 -cf layer2.tar "var/lib/rpm/rpmdb.sqlite" "$site/.wh.six-1.16.0.dist-info"
"$IMAGES/make-from-layers.sh" layout rpm layer1.tar layer2.tar >/dev/null
umoci config --image layout:rpm --created 2024-06-01T00:00:00Z >/dev/null

"$SIFTER" build --json oci:layout:rpm rpm.sif >rpm.build.json
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["sbom"] == {"format": "spdx", "packages": 4}, r["sbom"]; assert r["warnings"] == [], r["warnings"]' rpm.build.json ||
  fail "build summary: $(cat rpm.build.json)"
"$SIFTER" sbom rpm.sif -o rpm.spdx.json
validate_sbom rpm.spdx.json

rm -rf bundle && umoci unpack --image layout:rpm bundle >/dev/null
# The oracle for rpm: `rpm -qa` on the unpacked tree, through its /var/lib/rpm link.
rpm -qa --dbpath "$CASE_WORK/bundle/rootfs/var/lib/rpm" --qf 'rpm %{NAME} %{EPOCH}:%{VERSION}-%{RELEASE} %{ARCH} %{LICENSE}\n' |
  sed 's/ (none):/ /' | sort >rpm.expected
[ "$(wc -l <rpm.expected)" -eq 2 ] || fail "rpm -qa lists $(cat rpm.expected)"
diff rpm.expected <(sbom_packages rpm.spdx.json rpm) || fail "the SBOM's rpm packages differ from rpm -qa"
# The oracle for Python: importlib.metadata on the unpacked site-packages.
python3 -c 'import importlib.metadata as m, sys
for d in m.distributions(path=[sys.argv[1]]):
    print("pypi", d.metadata["Name"].lower().replace("_", "-"), d.version, "-", d.metadata.get("License") or "-")' \
  "bundle/rootfs/$site" | sort >pypi.expected
[ "$(wc -l <pypi.expected)" -eq 2 ] || fail "importlib.metadata lists $(cat pypi.expected)"
diff pypi.expected <(sbom_packages rpm.spdx.json pypi) || fail "the SBOM's Python packages differ from importlib.metadata"
grep -q '"pkg:rpm/fedora/tiny-hello@1.2.3-4.fc40?arch=x86_64&distro=fedora-40&epoch=2&upstream=tiny-hello-1.2.3-4.fc40.src.rpm"' rpm.spdx.json ||
  fail "rpm purl: $(grep -o '"pkg:rpm[^"]*' rpm.spdx.json)"
grep -q '"sourceInfo": "listed in /usr/lib/sysimage/rpm/rpmdb.sqlite"' rpm.spdx.json || fail "rpm database location"
grep -q '"created": "2024-06-01T00:00:00Z"' rpm.spdx.json || fail "SPDX created is not the image's time"
echo "rpm image: rpm -qa and importlib.metadata agree with the SBOM"

# Reproducible: the same source gives the same SIF, so the same SBOM bytes.
"$SIFTER" build oci:layout:rpm rpm2.sif >/dev/null
cmp rpm.sif rpm2.sif || fail "two builds differ"
"$SIFTER" sbom rpm2.sif >rpm2.spdx.json
cmp rpm.spdx.json rpm2.spdx.json || fail "sifter sbom to stdout differs from -o"

# The descriptor: SBOM (0x4009) with format spdx-json, in group 1 after the partition and
# before the provenance; the reference reader agrees.
same_as_reference rpm.sif
python3 -c 'import json, sys
d = json.load(sys.stdin)["descriptors"]
types = [(x["type"], x.get("name"), (x.get("sbom") or {}).get("format")) for x in d]
assert types[3][0] == "partition" and types[4] == ("sbom", "sbom.spdx.json", "spdx-json"), types
assert d[4]["typeCode"] == 0x4009 and d[4]["group"] == 1, d[4]
assert types[5][1] == "sifter-provenance.json", types' <<<"$("$SIFTER" inspect --json rpm.sif)" || fail "SBOM descriptor"
grep -q '^SBOM: *spdx-json (object 5 "sbom.spdx.json", ' <<<"$("$SIFTER" inspect rpm.sif)" || fail "inspect shows no SBOM"
grep -q '"sbom":"spdx"' <<<"$("$SIFTER" inspect rpm.sif)" || fail "the provenance does not record the SBOM format"

# CycloneDX: format code 1, same packages.
"$SIFTER" build --sbom-format cyclonedx oci:layout:rpm rpm-cdx.sif >/dev/null
"$SIFTER" sbom --format cyclonedx rpm-cdx.sif -o rpm.cdx.json
validate_sbom rpm.cdx.json
same_as_reference rpm-cdx.sif
grep -q '^SBOM: *cyclonedx-json (object 5 "sbom.cdx.json", ' <<<"$("$SIFTER" inspect rpm-cdx.sif)" || fail "inspect: CycloneDX"
diff <(sbom_packages rpm.spdx.json) <(sbom_packages rpm.cdx.json) || fail "SPDX and CycloneDX list different packages"
status=0
"$SIFTER" sbom --format spdx rpm-cdx.sif >/dev/null 2>wrong.err || status=$?
[ "$status" -eq 65 ] && grep -q 'no spdx-json SBOM object (it has object 5: cyclonedx-json)' wrong.err || fail "wrong format: $status $(cat wrong.err)"
status=0
"$SIFTER" build --no-sbom --sbom-format cyclonedx oci:layout:rpm x.sif >/dev/null 2>both.err || status=$?
[ "$status" -eq 64 ] && [ ! -e x.sif ] || fail "--no-sbom with --sbom-format: $status"

# --no-sbom: no object, and a build option of its own (another SIF ID).
"$SIFTER" build --no-sbom oci:layout:rpm none.sif >/dev/null
grep -q '^SBOM: *none$' <<<"$("$SIFTER" inspect none.sif)" || fail "--no-sbom wrote an SBOM"
[ "$("$SIFTER" inspect --json none.sif | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["id"])')" != \
  "$("$SIFTER" inspect --json rpm.sif | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["id"])')" ] ||
  fail "--no-sbom gives the same SIF ID"
status=0
"$SIFTER" sbom none.sif >/dev/null 2>none.err || status=$?
[ "$status" -eq 65 ] && grep -q 'no SBOM object' none.err || fail "sbom of a SIF without one: $status $(cat none.err)"

# verify covers the SBOM like any object: one changed byte in it is named.
"$SIFTER" verify --offline rpm.sif >/dev/null || fail "verify"
offset=$("$SIFTER" inspect --json rpm.sif | python3 -c 'import json,sys; print([d for d in json.load(sys.stdin)["descriptors"] if d["type"] == "sbom"][0]["offset"] + 40)')
python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1)[0]; f.seek(int(sys.argv[2])); f.write(bytes([b ^ 0x20]))' rpm2.sif "$offset"
status=0
"$SIFTER" verify --offline rpm2.sif >tampered.out 2>&1 || status=$?
[ "$status" -eq 1 ] && grep -q 'sbom.spdx.json' tampered.out || fail "a changed SBOM byte: exit $status, $(cat tampered.out)"
echo "rpm image: reproducible, CycloneDX, --no-sbom, inspect, verify"

# --- the apk image ---------------------------------------------------------------------------
mkdir -p a1/lib/apk/db a1/usr/lib a1/etc a2/lib/apk/db
printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\n' >a1/usr/lib/os-release
ln -s ../usr/lib/os-release a1/etc/os-release
apk_record() {  # NAME VERSION ARCH LICENSE ORIGIN
  printf 'C:Q1%s=\nP:%s\nV:%s\nA:%s\nS:1000\nI:2000\nT:%s package\nU:https://example.org/\nL:%s\no:%s\nm:Someone <x@example.org>\nt:1718000000\nc:0123456789abcdef\nD:so:libc.musl-x86_64.so.1\np:cmd:%s=%s\nF:usr/bin\nR:%s\na:0:0:755\nZ:Q1abc=\n\n' \
    "$1" "$1" "$2" "$3" "$1" "$4" "$5" "$1" "$2" "$1"
}
{ apk_record musl 1.2.5-r0 x86_64 MIT musl; apk_record busybox 1.36.1-r29 x86_64 GPL-2.0-only busybox
  apk_record ssl_client 1.36.1-r29 x86_64 GPL-2.0-only busybox
  apk_record ca-certificates-bundle 20240705-r0 x86_64 'MPL-2.0 AND MIT' ca-certificates; } >a1/lib/apk/db/installed
{ apk_record musl 1.2.5-r0 x86_64 MIT musl; apk_record busybox 1.36.1-r29 x86_64 GPL-2.0-only busybox
  apk_record ca-certificates-bundle 20240705-r0 x86_64 'MPL-2.0 AND MIT' ca-certificates; } >a2/lib/apk/db/installed
tar --numeric-owner -C a1 -cf apk1.tar . && tar --numeric-owner -C a2 -cf apk2.tar .
"$IMAGES/make-from-layers.sh" layout apk apk1.tar apk2.tar >/dev/null
"$SIFTER" build --sbom-format cyclonedx oci:layout:apk apk.sif >/dev/null
"$SIFTER" sbom apk.sif -o apk.cdx.json
validate_sbom apk.cdx.json
rm -rf bundle && umoci unpack --image layout:apk bundle >/dev/null
# The oracle: the documented format (blank-line separated blocks of K:value), parsed here.
python3 -c 'import sys
for block in open(sys.argv[1]).read().split("\n\n"):
    f = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
    if "P" in f: print("apk", f["P"], f["V"], f["A"], f["L"])' bundle/rootfs/lib/apk/db/installed | sort >apk.expected
[ "$(wc -l <apk.expected)" -eq 3 ] || fail "apk database: $(cat apk.expected)"
diff apk.expected <(sbom_packages apk.cdx.json apk) || fail "the SBOM's apk packages differ from the database"
grep -q '"pkg:apk/alpine/ssl' apk.cdx.json && fail "a package the later layer removed is listed"
grep -q '"purl": "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=alpine-3.20.3"' apk.cdx.json || fail "apk purl"
echo "apk image: the SBOM lists the final installed database"

# --- a distroless-style image: dpkg status.d ------------------------------------------------
mkdir -p d1/var/lib/dpkg/status.d d2/var/lib/dpkg/status.d
printf 'Package: libc6\nVersion: 2.36-9+deb12u7\nArchitecture: amd64\nSource: glibc\nMaintainer: x\nDescription: GNU C Library\n shared libraries\n' \
  >d1/var/lib/dpkg/status.d/libc6
printf 'd41d8cd98f00b204e9800998ecf8427e  lib/x86_64-linux-gnu/libc.so.6\n' >d1/var/lib/dpkg/status.d/libc6.md5sums
printf 'Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\nMaintainer: x\nDescription: time zones\n' \
  >d1/var/lib/dpkg/status.d/tzdata
printf 'Package: base-files\nVersion: 12.4+deb12u6\nArchitecture: amd64\nMaintainer: x\nDescription: base\n' \
  >d1/var/lib/dpkg/status.d/base-files
: >d2/var/lib/dpkg/status.d/.wh.tzdata
tar --numeric-owner -C d1 -cf dl1.tar . && tar --numeric-owner -C d2 -cf dl2.tar .
"$IMAGES/make-from-layers.sh" layout distroless dl1.tar dl2.tar >/dev/null
"$SIFTER" build oci:layout:distroless distroless.sif >/dev/null
"$SIFTER" sbom distroless.sif -o distroless.spdx.json
validate_sbom distroless.spdx.json
rm -rf bundle && umoci unpack --image layout:distroless bundle >/dev/null
# The oracle: dpkg-query over the records left in status.d (md5sums aside), as one status file.
mkdir -p admindir/info admindir/updates && : >admindir/available
for record in bundle/rootfs/var/lib/dpkg/status.d/*; do
  case $record in *.md5sums) ;; *) cat "$record"; printf 'Status: install ok installed\n\n' ;; esac
done >admindir/status
dpkg-query --admindir=admindir -W -f='deb ${Package} ${Version} ${Architecture} -\n' | sort >distroless.expected
[ "$(wc -l <distroless.expected)" -eq 2 ] || fail "dpkg-query: $(cat distroless.expected)"
diff distroless.expected <(sbom_packages distroless.spdx.json deb) || fail "the SBOM's status.d packages differ from dpkg-query"
echo "distroless image: status.d records, whiteouts applied"
