# oci-archive: and docker-archive: sources (written by skopeo) convert to the same tree as the
# OCI layout they were copied from.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q oci:layout:t1 oci-archive:image-oci.tar:t1
skopeo copy -q oci:layout:t1 docker-archive:image-docker.tar:example.org/layered:t1
"$SIFTER" build oci:layout:t1 layout.sif >/dev/null
"$SIFTER" build oci-archive:image-oci.tar:t1 oci-archive.sif >/dev/null
"$SIFTER" build docker-archive:image-docker.tar docker-archive.sif >/dev/null
"$SIFTER" build docker-archive:image-docker.tar:example.org/layered:t1 docker-archive-tagged.sif >/dev/null
cmp docker-archive.sif docker-archive-tagged.sif >/dev/null && fail "the reference should appear in the definition file"
for sif in layout oci-archive docker-archive; do
  unsquashfs -q -d "$sif-tree" -o "$(partition_offset "$sif.sif")" "$sif.sif" >/dev/null
done
python3 "$COMPARE_TREES" layout-tree oci-archive-tree --ignore .singularity.d/Singularity --ignore .singularity.d/labels.json
python3 "$COMPARE_TREES" layout-tree docker-archive-tree --ignore .singularity.d/Singularity --ignore .singularity.d/labels.json
status=0; "$SIFTER" build docker-archive:image-docker.tar:no/such:tag x.sif 2>err.txt || status=$?
[ "$status" -ne 0 ] && grep -q "example.org/layered:t1" err.txt || fail "a missing reference: $(cat err.txt)"
grep -q '^sifter-archive-' <<<"$(ls "${TMPDIR:-/tmp}")" && fail "unpacked archive left behind"
echo "archives convert to the layout's tree"
