# `sifter convert --platform linux/amd64,linux/arm64` on CNCF distribution with token auth:
# one SIF per platform under one tag, as an OCI index whose entries carry their platform
# (read back with skopeo), each SIF identical to `sifter build --platform` of the same source;
# `sifter pull` and skopeo's own platform choice (--override-arch, as go-containerregistry's
# WithPlatform in Apptainer) get the right one. An unchanged re-run uploads and PUTs nothing
# (counted at a logging proxy); a source whose arm64 image changed rebuilds arm64 only.
# --all-platforms skips the attestation; --expires-after adds quay.expires-after without
# rebuilding; a bad value is refused.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry token
export SIFTER_CACHE_DIR=$CASE_WORK/cache
creds=(--creds "$REGISTRY_USER:$REGISTRY_PASSWORD")
seed() {  # LAYOUT [--arm64-note TEXT]: the two-platform index of make-image.py as test/multi:latest
  python3 "$REGISTRY_SCRIPTS/make-image.py" "$@" --big-mib 1 --seed 7 >"$1.image.json"
  skopeo copy -q --all --preserve-digests --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" \
    "oci:$1:latest" "docker://$REGISTRY/test/multi:latest"
}
seed first
start_logging_proxy
sifter_() { printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" "$1" --plain-http -u "$REGISTRY_USER" --password-stdin "${@:2}"; }
writes() { grep -cE '^(POST|PUT|PATCH|DELETE) ' requests.log || true; }
field() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

# First run: both platforms built and pushed, the index on v1, per-platform tags.
: >requests.log
sifter_ convert --platform linux/amd64,linux/arm64 --platform-tags --json \
  "docker://$proxy/test/multi:latest" "oras://$proxy/test/multi-sif:v1" >first.json 2>first.err || fail "convert: $(cat first.err)"
[ "$(field first.json '[p["outcome"] for p in r["platforms"]]')" = "['built', 'built']" ] || fail "first run: $(cat first.json)"
index=$(field first.json 'r["digest"]')

# The index as skopeo reads it: two entries, their platforms, each a SIF artifact recording its
# source manifest (the seed's per-platform digests).
skopeo inspect --raw --tls-verify=false "${creds[@]}" "docker://$REGISTRY/test/multi-sif:v1" >index.json
python3 - index.json first.json "$index" <<'EOF' || fail "index: $(cat index.json)"
import hashlib, json, sys
raw = open(sys.argv[1], "rb").read()
assert "sha256:" + hashlib.sha256(raw).hexdigest() == sys.argv[3], "the tag is not the reported index"
index = json.loads(raw)
assert index["mediaType"] == "application/vnd.oci.image.index.v1+json", index
platforms = [m["platform"] for m in index["manifests"]]
assert platforms == [{"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux", "variant": "v8"}], platforms
assert all(m["mediaType"] == "application/vnd.oci.image.manifest.v1+json" for m in index["manifests"])
EOF
for arch in amd64 arm64; do
  canonical=linux/$arch; [ "$arch" = arm64 ] && canonical=linux/arm64/v8
  digest=$(field index.json "[m['digest'] for m in r['manifests'] if m['platform']['architecture']=='$arch'][0]")
  skopeo inspect --raw --tls-verify=false "${creds[@]}" "docker://$REGISTRY/test/multi-sif@$digest" >"$arch.manifest.json"
  want=$(field first.image.json "r['$arch']['digest']")
  python3 - "$arch.manifest.json" "$want" <<'EOF' || fail "$arch manifest: $(cat "$arch.manifest.json")"
import json, sys
m = json.load(open(sys.argv[1]))
assert [l["mediaType"] for l in m["layers"]] == ["application/vnd.sylabs.sif.layer.v1.sif"], m
assert m["annotations"]["org.sylabs.sifter.source.digest"] == sys.argv[2], (m["annotations"], sys.argv[2])
EOF
  [ "$(skopeo inspect --raw --tls-verify=false "${creds[@]}" "docker://$REGISTRY/test/multi-sif:v1-$arch" | sha256sum | cut -c1-64)" = "${digest#sha256:}" ] ||
    fail "tag v1-$arch does not point at the $arch SIF"
  # Each platform's SIF is what `sifter build --platform` makes of the same source (the
  # platform as the index names it: Go's names, arm64's variant v8).
  sifter_ build --platform "$canonical" "docker://$proxy/test/multi:latest" "built-$arch.sif" >/dev/null
  sifter_ pull --platform "linux/$arch" "oras://$REGISTRY/test/multi-sif:v1" "pulled-$arch.sif" >/dev/null
  cmp -s "built-$arch.sif" "pulled-$arch.sif" || fail "the pulled $arch SIF differs from sifter build --platform $canonical"
  [ "$("$SIFTER" inspect --json "pulled-$arch.sif" | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["arch"])')" = "$arch" ] ||
    fail "pulled-$arch.sif has another architecture"
  # An independent client choosing by platform from the index (containers/image, as
  # go-containerregistry does for Apptainer) gets the same SIF blob.
  rm -rf "copy-$arch"
  skopeo --override-os linux --override-arch "$arch" copy -q --src-tls-verify=false --src-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" \
    "docker://$REGISTRY/test/multi-sif:v1" "oci:copy-$arch:x"
  sha=$(sha256sum "pulled-$arch.sif" | cut -c1-64)
  [ -f "copy-$arch/blobs/sha256/$sha" ] || fail "skopeo --override-arch $arch did not get the $arch SIF"
done
# Without --platform, pull takes this machine's.
sifter_ pull "oras://$REGISTRY/test/multi-sif:v1" host.sif >/dev/null
cmp -s host.sif pulled-amd64.sif || fail "pull without --platform did not pick linux/amd64 on this amd64 machine"

# Unchanged re-run (cold cache): GETs and HEADs only.
rm -rf "$SIFTER_CACHE_DIR"
: >requests.log
sifter_ convert --platform linux/amd64,linux/arm64 --platform-tags --json \
  "docker://$proxy/test/multi:latest" "oras://$proxy/test/multi-sif:v1" >second.json
[ "$(field second.json 'r["skipped"]')" = True ] && [ "$(field second.json 'r["digest"]')" = "$index" ] || fail "second run: $(cat second.json)"
[ "$(writes)" = 0 ] || fail "the unchanged re-run wrote to the registry: $(grep -E '^(POST|PUT|PATCH)' requests.log)"
grep -qE '^GET /v2/test/multi/blobs/' requests.log && fail "the unchanged re-run downloaded layers"
echo "unchanged re-run: $(wc -l <requests.log) requests, none writes"

# The arm64 image changes, amd64 does not: only arm64 is rebuilt and uploaded.
seed second --arm64-note changed
[ "$(field second.image.json 'r["amd64"]["digest"]')" = "$(field first.image.json 'r["amd64"]["digest"]')" ] || fail "the reseed changed amd64"
[ "$(field second.image.json 'r["arm64"]["digest"]')" != "$(field first.image.json 'r["arm64"]["digest"]')" ] || fail "the reseed kept arm64"
: >requests.log
sifter_ convert --platform linux/amd64,linux/arm64 --platform-tags --json \
  "docker://$proxy/test/multi:latest" "oras://$proxy/test/multi-sif:v1" >third.json
[ "$(field third.json '[p["outcome"] for p in r["platforms"]]')" = "['up-to-date', 'built']" ] || fail "third run: $(cat third.json)"
arm=$(field third.json 'r["platforms"][1]["digest"]')
[ "$(grep -cE '^PUT /v2/test/multi-sif/blobs/uploads/' requests.log)" = 1 ] || fail "not exactly one blob uploaded: $(cat requests.log)"
puts=$(grep -E '^PUT /v2/test/multi-sif/manifests/' requests.log | cut -d' ' -f2 | sort | tr '\n' ' ')
[ "$puts" = "/v2/test/multi-sif/manifests/$arm /v2/test/multi-sif/manifests/v1 /v2/test/multi-sif/manifests/v1-arm64 " ] ||
  fail "manifest PUTs: $puts"
grep -qE '^GET /v2/test/multi/blobs/' requests.log || fail "arm64 was not rebuilt"
echo "changed arm64: one SIF uploaded, manifests PUT: $puts"

# --all-platforms: amd64 and arm64, the attestation skipped; both up to date already.
sifter_ convert --all-platforms --json "docker://$proxy/test/multi:latest" "oras://$proxy/test/multi-sif:all" >all.json
[ "$(field all.json '[(p["platform"], p["outcome"]) for p in r["platforms"]]')" = "[('linux/amd64', 'built'), ('linux/arm64/v8', 'built')]" ] ||
  fail "--all-platforms: $(cat all.json)"

# --expires-after: the same SIFs, annotated (a manifest PUT each, no blob), the index too.
: >requests.log
sifter_ convert --platform linux/amd64,linux/arm64 --expires-after 2w --json \
  "docker://$proxy/test/multi:latest" "oras://$proxy/test/multi-sif:v1" >expiry.json
[ "$(field expiry.json '[p["outcome"] for p in r["platforms"]]')" = "['annotated', 'annotated']" ] || fail "expiry: $(cat expiry.json)"
grep -qE '^(POST|PATCH|PUT) /v2/[^ ]*/blobs/' requests.log && fail "--expires-after uploaded a blob"
skopeo inspect --raw --tls-verify=false "${creds[@]}" "docker://$REGISTRY/test/multi-sif:v1" >expiry-index.json
python3 - expiry-index.json <<'EOF' || fail "the index has no quay.expires-after: $(cat expiry-index.json)"
import json, sys
assert json.load(open(sys.argv[1]))["annotations"]["quay.expires-after"] == "2w"
EOF
digest=$(field expiry-index.json 'r["manifests"][0]["digest"]')
skopeo inspect --raw --tls-verify=false "${creds[@]}" "docker://$REGISTRY/test/multi-sif@$digest" | grep -q '"quay.expires-after":"2w"' ||
  fail "the amd64 manifest has no quay.expires-after"
# push --expires-after on one SIF; a value Quay would ignore is refused (usage, 64).
sifter_ push --expires-after 12h --json pulled-amd64.sif "oras://$REGISTRY/test/single-sif:tmp" >push.json
skopeo inspect --raw --tls-verify=false "${creds[@]}" "docker://$REGISTRY/test/single-sif:tmp" | grep -q '"quay.expires-after":"12h"' ||
  fail "push --expires-after did not annotate"
status=0
sifter_ push --expires-after 2weeks pulled-amd64.sif "oras://$REGISTRY/test/single-sif:tmp" 2>bad.err || status=$?
[ "$status" = 64 ] && grep -q "expires-after" bad.err || fail "--expires-after 2weeks: exit $status, $(cat bad.err)"
echo "convert --platform: index round-trips, per-platform skip, --all-platforms, --expires-after"
