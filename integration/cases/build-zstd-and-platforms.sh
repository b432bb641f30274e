# A zstd-compressed copy of the layered image (made by skopeo) converts to the same tree as the
# gzip original; a two-platform index converts for each platform, and an unknown platform is
# refused with the list of available ones.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-compress-format zstd oci:layout:t1 oci:zstd:t1
python3 - <<'PY' || fail "skopeo did not write zstd layers"
import json
idx = json.load(open("zstd/index.json"))
m = json.load(open("zstd/blobs/sha256/" + idx["manifests"][0]["digest"].split(":")[1]))
assert all(l["mediaType"].endswith("+zstd") for l in m["layers"]), m["layers"]
PY
"$SIFTER" build oci:layout:t1 gzip.sif >/dev/null
"$SIFTER" build oci:zstd:t1 zstd.sif >/dev/null
unsquashfs -q -d gzip-tree -o "$(partition_offset gzip.sif)" gzip.sif >/dev/null
unsquashfs -q -d zstd-tree -o "$(partition_offset zstd.sif)" zstd.sif >/dev/null
# The definition file and labels name the source; everything else must match.
python3 "$COMPARE_TREES" gzip-tree zstd-tree --ignore .singularity.d/Singularity --ignore .singularity.d/labels.json

# Two platforms in one index: amd64 (the layered image) and arm64 (no ELF shell, so the SIF
# takes the config's architecture).
umoci new --image layout:arm >/dev/null
printf 'arm64 image\n' >note && tar -cf arm.tar note
umoci raw add-layer --image layout:arm arm.tar >/dev/null
umoci config --image layout:arm --architecture arm64 --os linux --created 2024-01-01T00:00:00Z >/dev/null
python3 - <<'PY'
import hashlib, json, os
idx = json.load(open("layout/index.json"))
by_tag = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
entries = []
for tag, arch in (("t1", "amd64"), ("arm", "arm64")):
    d = dict(by_tag[tag]); d.pop("annotations")
    d["platform"] = {"os": "linux", "architecture": arch}
    entries.append(d)
entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": by_tag["arm"]["digest"],
                "size": by_tag["arm"]["size"], "platform": {"os": "unknown", "architecture": "unknown"}})
body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}).encode()
digest = hashlib.sha256(body).hexdigest()
open(f"layout/blobs/sha256/{digest}", "wb").write(body)
idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + digest,
                         "size": len(body), "annotations": {"org.opencontainers.image.ref.name": "multi"}})
json.dump(idx, open("layout/index.json", "w"))
PY
"$SIFTER" build --platform linux/amd64 --json oci:layout:multi amd64.sif >amd64.json
"$SIFTER" build --platform linux/arm64 --json oci:layout:multi arm64.sif >arm64.json
python3 - <<'PY' || fail "platform selection"
import json
a, b = json.load(open("amd64.json")), json.load(open("arm64.json"))
assert a["arch"] == "amd64" and b["arch"] == "arm64", (a["arch"], b["arch"])
assert a["indexDigest"] == b["indexDigest"] and a["indexDigest"], (a, b)
assert a["manifestDigest"] != b["manifestDigest"]
PY
grep -Eq 'Primary Architecture: +arm64' <<<"$("$SIFTOOL" header arm64.sif)" || fail "SIF header arch is not arm64"
status=0; "$SIFTER" build --platform linux/s390x oci:layout:multi s390x.sif 2>err.txt || status=$?
[ "$status" -ne 0 ] && grep -q "linux/amd64, linux/arm64" err.txt || fail "unknown platform: $(cat err.txt)"
grep -q "unknown/unknown" err.txt && fail "attestation entries listed as platforms"
echo "zstd tree equals gzip tree; platforms selected from the index"
