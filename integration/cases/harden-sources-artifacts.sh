# What is not a container image is named as such: a Helm chart or a SIF pushed as an ORAS
# artifact given to `build` or `def` gets a message naming its config media type (and, for a
# SIF, pointing at `sifter pull`), from an OCI layout and from the real registry. Indexes nested
# in an image index are followed two levels deep (those build); deeper ones, and a nested index
# without the platform, are named as nested in the message, from a layout and from the
# registry alike.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry none
"$IMAGES/make-layered.sh" layout t1 >/dev/null
"$SIFTER" build oci:layout:t1 layered.sif >/dev/null
cp -r layout art

# Adds the artifacts and indexes to the layout, each tagged in index.json.
python3 - <<'PY'
import gzip, hashlib, io, json, tarfile
root = "art"
def put(data, media_type, **extra):
    digest = hashlib.sha256(data).hexdigest()
    open("%s/blobs/sha256/%s" % (root, digest), "wb").write(data)
    return dict(mediaType=media_type, digest="sha256:" + digest, size=len(data), **extra)
def manifest(config, layers, **extra):
    doc = dict(schemaVersion=2, mediaType="application/vnd.oci.image.manifest.v1+json", config=config, layers=layers, **extra)
    return json.dumps(doc).encode()
def index(entries):
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}).encode()
amd64 = {"os": "linux", "architecture": "amd64"}

chart = io.BytesIO()
with tarfile.open(fileobj=chart, mode="w:gz") as tar:
    data = b"apiVersion: v2\nname: demo\nversion: 0.1.0\n"
    info = tarfile.TarInfo("demo/Chart.yaml"); info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
helm = manifest(put(b'{"name":"demo","version":"0.1.0","apiVersion":"v2"}', "application/vnd.cncf.helm.config.v1+json"),
                [put(chart.getvalue(), "application/vnd.cncf.helm.chart.content.v1.tar+gzip")])
sif = manifest(put(b"{}", "application/vnd.sylabs.sif.config.v1+json"),
               [put(open("layered.sif", "rb").read(), "application/vnd.sylabs.sif.layer.v1.sif",
                    annotations={"org.opencontainers.image.title": "layered.sif"})])

top = json.load(open(root + "/index.json"))
image = top["manifests"][0]
image_entry = {k: image[k] for k in ("mediaType", "digest", "size")}
level2 = put(index([dict(image_entry, platform=amd64)]), "application/vnd.oci.image.index.v1+json", platform=amd64)
level1 = put(index([level2]), "application/vnd.oci.image.index.v1+json", platform=amd64)
level0 = put(index([level1]), "application/vnd.oci.image.index.v1+json")
deeper = put(index([level0]), "application/vnd.oci.image.index.v1+json")
arm = put(index([dict(image_entry, platform={"os": "linux", "architecture": "arm64"})]),
          "application/vnd.oci.image.index.v1+json", platform={"os": "linux", "architecture": "arm64"})
arm_top = put(index([arm]), "application/vnd.oci.image.index.v1+json")
def tagged(descriptor, tag):
    return dict(descriptor, annotations={"org.opencontainers.image.ref.name": tag})
top["manifests"] += [
    tagged(put(helm, "application/vnd.oci.image.manifest.v1+json"), "helm"),
    tagged(put(sif, "application/vnd.oci.image.manifest.v1+json"), "sif"),
    tagged(level1, "nested"),      # index → index → manifest
    tagged(level0, "two-deep"),    # index → index → index → manifest
    tagged(deeper, "too-deep"),    # index → index → index → index → manifest
    tagged(arm_top, "nested-arm"), # index → index (arm64) → manifest
]
json.dump(top, open(root + "/index.json", "w"))
PY

# COMMAND… must fail with status 65 and every TEXT (given before the command, up to --).
refused() {
  local texts=() status=0
  while [ "$1" != -- ]; do texts+=("$1"); shift; done
  shift
  "$SIFTER" "$@" </dev/null >out.txt 2>err.txt || status=$?
  [ "$status" = 65 ] || fail "sifter $*: status $status, expected 65: $(cat err.txt)"
  for text in "${texts[@]}"; do
    grep -qF -- "$text" err.txt || fail "sifter $*: the message does not say \"$text\": $(cat err.txt)"
  done
  grep -q "DecodingError\|keyNotFound\|CodingKeys" err.txt && fail "sifter $*: a raw decoding error: $(cat err.txt)"
  echo "sifter $*: $(cat err.txt)"
}

refused "application/vnd.cncf.helm.config.v1+json" "not a container image" -- build oci:art:helm helm.sif
refused "application/vnd.cncf.helm.config.v1+json" -- def oci:art:helm
refused "application/vnd.sylabs.sif.config.v1+json" "sifter pull" -- build oci:art:sif sif.sif
refused "nested" "more than 2" -- build oci:art:too-deep deep.sif
refused "nested" "linux/arm64" -- build --platform linux/amd64 oci:art:nested-arm arm.sif

"$SIFTER" build oci:layout:t1 plain.sif >/dev/null
unsquashfs -q -d plain-tree -o "$(partition_offset plain.sif)" plain.sif >/dev/null
for tag in nested two-deep; do
  "$SIFTER" build "oci:art:$tag" "$tag.sif" >/dev/null || fail "an index nesting indexes ($tag) does not build"
  unsquashfs -q -d "$tag-tree" -o "$(partition_offset "$tag.sif")" "$tag.sif" >/dev/null
  python3 "$COMPARE_TREES" plain-tree "$tag-tree" --ignore .singularity.d/Singularity --ignore .singularity.d/labels.json
done

# The same artifacts in the real registry: the SIF pushed by sifter, the chart copied by skopeo.
"$SIFTER" push --plain-http layered.sif "oras://$REGISTRY/test/sif:1" >/dev/null
skopeo copy -q --dest-tls-verify=false oci:art:helm "docker://$REGISTRY/test/chart:0.1.0"
refused "application/vnd.sylabs.sif.config.v1+json" "sifter pull oras://$REGISTRY/test/sif:1" -- \
  build --plain-http "docker://$REGISTRY/test/sif:1" sif.sif
refused "application/vnd.cncf.helm.config.v1+json" "not a container image" -- \
  build --plain-http "docker://$REGISTRY/test/chart:0.1.0" chart.sif
refused "application/vnd.cncf.helm.config.v1+json" -- def --plain-http "docker://$REGISTRY/test/chart:0.1.0"
echo "artifacts named, nested indexes followed"

# Nested indexes from the registry too: the layout's nested tags pushed as they are (blobs,
# then manifests and indexes bottom-up, each by digest, the top one by tag).
python3 - "$REGISTRY" <<'PY'
import json, sys, urllib.request
registry = sys.argv[1]
root = "art"
index = json.load(open(root + "/index.json"))
def blob(digest):
    return open(root + "/blobs/sha256/" + digest.split(":")[1], "rb").read()
def request(method, url, data=None, headers={}):
    req = urllib.request.Request("http://" + registry + url, data=data, method=method, headers=headers)
    return urllib.request.urlopen(req)
def push(repo, descriptor, reference):
    body = blob(descriptor["digest"])
    media = descriptor["mediaType"]
    if "index" in media or "manifest" in media:
        document = json.loads(body)
        for child in document.get("manifests", []):
            push(repo, child, child["digest"])
        for part in [document.get("config")] + document.get("layers", []):
            if part:
                location = request("POST", f"/v2/{repo}/blobs/uploads/").headers["Location"]
                separator = "&" if "?" in location else "?"
                path = location.split(registry, 1)[-1]
                request("PUT", f"{path}{separator}digest={part['digest']}", blob(part["digest"]),
                        {"Content-Type": "application/octet-stream"})
        request("PUT", f"/v2/{repo}/manifests/{reference}", body, {"Content-Type": media})
for entry in index["manifests"]:
    tag = entry.get("annotations", {}).get("org.opencontainers.image.ref.name")
    if tag in ("nested", "nested-arm", "too-deep"):
        push("test/nested", entry, tag)
PY
"$SIFTER" build --plain-http "docker://$REGISTRY/test/nested:nested" nested-remote.sif >/dev/null ||
  fail "a nested index from the registry does not build"
cmp nested.sif nested-remote.sif >/dev/null 2>&1 || {
  unsquashfs -q -d nested-remote-tree -o "$(partition_offset nested-remote.sif)" nested-remote.sif >/dev/null
  python3 "$COMPARE_TREES" nested-tree nested-remote-tree --ignore .singularity.d
}
refused "nested" "linux/arm64" -- build --plain-http --platform linux/amd64 "docker://$REGISTRY/test/nested:nested-arm" arm-remote.sif
refused "nested" "more than 2" -- build --plain-http "docker://$REGISTRY/test/nested:too-deep" deep-remote.sif
echo "nested indexes from the registry followed and named"
