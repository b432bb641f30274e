# `sifter build oci:…` of the layered image (every whiteout, hardlink and special-file case):
# the tree in the SIF equals `umoci unpack`'s (as root), each layer read once per pass,
# objects come in Apptainer's order, two builds are byte-identical, an unprivileged build
# gives the same file, and the runscript behaves as OCI Entrypoint/Cmd say in a chroot of the
# unpacked tree. `export` writes the same tree to a file and to standard output, and
# `--force` never renames over a device.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
"$IMAGES/make-layered.sh" layout t1 >/dev/null

"$SIFTER" build --json oci:layout:t1 out.sif >out.json
"$SIFTER" build oci:layout:t1 again.sif
cmp out.sif again.sif || fail "two builds of the same digest differ"
# Every layer was indexed (pass 1) before mksquashfs started, and the root is the image's.
python3 -c '
import json
r = json.load(open("out.json"))
stages = [name for name in r["timings"]]
assert stages.index("index") < stages.index("stream"), stages
assert r["warnings"] == [], r["warnings"]' || fail "the build report: $(cat out.json)"

# Objects in Apptainer's order, all in group 1, the primary partition, then the SBOM, sifter's
# provenance (what ran, known only once mksquashfs has run) and integrity record.
"$SIFTOOL" list out.sif | sed -n '/^ID /,$p' | awk -F'|' 'NR>2 {gsub(/ +$/,"",$5); print $1 "|" $2 "|" $5}' | tr -s ' ' >objects.txt
cat >expected-objects.txt <<'LIST'
1 |1 |Def.FILE
2 |1 |JSON.Generic
3 |1 |JSON.Generic
4 |1 |FS (Squashfs/*System/amd64)
5 |1 |SBOM (spdx-json)
6 |1 |JSON.Generic
7 |1 |JSON.Generic
LIST
diff expected-objects.txt objects.txt || fail "objects not in Apptainer's order"
"$SIFTER" inspect --json out.sif | python3 -c '
import json, sys
names = [d["name"] for d in json.load(sys.stdin)["descriptors"]]
assert names == ["", "inspect-metadata.json", "oci-config.json", "", "sbom.spdx.json", "sifter-provenance.json",
                 "sifter-integrity.json"], names'
# Provenance records what ran: mksquashfs's arguments with the root's owner and time, and
# SOURCE_DATE_EPOCH, as they were passed (the output file named OUTPUT).
"$SIFTOOL" dump 6 out.sif >provenance.json
python3 - <<'PY' || fail "provenance does not record what ran: $(cat provenance.json)"
import json
p = json.load(open("provenance.json"))
m = p["mksquashfs"]
args = m["arguments"]
assert args[:3] == ["-", "OUTPUT", "-tar"], args
epoch = m["environment"]["SOURCE_DATE_EPOCH"]
assert args[args.index("-root-time") + 1] == epoch, (args, epoch)
assert args[args.index("-root-uid") + 1] == "0" and "-offset" in args, args
assert m["executable"] == "mksquashfs" and p["mksquashfsVersion"], p
PY

# The tree: sifter's partition against umoci unpack, as root, apart from Apptainer's files.
offset=$(partition_offset out.sif)
unsquashfs -q -d sifter-tree -o "$offset" out.sif >/dev/null
umoci unpack --image layout:t1 bundle >/dev/null
python3 "$COMPARE_TREES" bundle/rootfs sifter-tree $APPTAINER_PATHS

# Apptainer's runtime files are there.
for f in .singularity.d/actions/run .singularity.d/env/10-docker2singularity.sh .singularity.d/runscript \
         .singularity.d/labels.json .singularity.d/Singularity; do
  [ -f "sifter-tree/$f" ] || fail "missing /$f"
done
grep -qx 'eval "set ${SINGULARITY_OCI_RUN}"' sifter-tree/.singularity.d/runscript || fail "runscript lacks the eval line"
[ "$(readlink sifter-tree/singularity)" = .singularity.d/runscript ] || fail "/singularity link"

# The runscript in a chroot: Entrypoint ["/bin/sh","-c"], Cmd ['echo "hello from layered"'].
[ "$(chroot sifter-tree /bin/sh /.singularity.d/runscript)" = "hello from layered" ] || fail "runscript without arguments"
[ "$(chroot sifter-tree /bin/sh /.singularity.d/runscript 'echo replaced')" = "replaced" ] || fail "runscript with arguments"
[ "$(SINGULARITY_NO_EVAL=1 chroot sifter-tree /bin/sh /.singularity.d/runscript 'echo "$0"' zero)" = "zero" ] || fail "runscript --no-eval"

# Unprivileged: the same bytes, owners and devices included.
chmod -R a+rX layout
mkdir -m 777 unprivileged
setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp "$SIFTER" build oci:layout:t1 unprivileged/out.sif
cmp out.sif unprivileged/out.sif || fail "unprivileged build differs"
# `export` to a file and to standard output: the same tree.
"$SIFTER" export oci:layout:t1 exported.tar
"$SIFTER" export oci:layout:t1 - >piped.tar
mkdir exported-tree piped-tree
tar --xattrs --xattrs-include='*' --numeric-owner -xpf exported.tar -C exported-tree 2>/dev/null
tar --xattrs --xattrs-include='*' --numeric-owner -xpf piped.tar -C piped-tree 2>/dev/null
python3 "$COMPARE_TREES" exported-tree piped-tree || fail "export to - gives another tree than export to a file"
# --force renames over regular files only: never over a device.
status=0
"$SIFTER" build --force oci:layout:t1 /dev/null 2>devnull.err || status=$?
[ "$status" != 0 ] && grep -q "not a regular file" devnull.err || fail "build --force replaced /dev/null: $(cat devnull.err)"
[ -c /dev/null ] || fail "/dev/null is no longer a device"
# A --platform the single-manifest image is not for: built as it is, with a warning naming both.
"$SIFTER" build --platform linux/arm64 oci:layout:t1 other-platform.sif 2>other-platform.err
grep -q "warning: oci:layout:t1 is a single image.*linux/amd64.*requested platform linux/arm64" other-platform.err ||
  fail "no platform warning: $(cat other-platform.err)"
cmp out.sif other-platform.sif >/dev/null 2>&1 && fail "the SIF ID does not record the requested platform"
"$SIFTER" build oci:layout:t1 default-platform.sif 2>default-platform.err
grep -q "warning" default-platform.err && fail "a warning without --platform: $(cat default-platform.err)"
echo "layered image: trees equal, reproducible, unprivileged build identical"
