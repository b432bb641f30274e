# `sifter build docker://…` from a real registry (CNCF distribution on 127.0.0.1) with token
# auth (anonymous clients may pull, as from public GHCR): the same tree as the OCI layout build, blobs land in the cache, a second build is served
# from the cache, the password never appears in output, and `cache ls/prune` see the blobs.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry token
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" \
  oci:layout:t1 "docker://$REGISTRY/test/layered:t1"

export SIFTER_CACHE_DIR=$CASE_WORK/cache
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" build --plain-http -u "$REGISTRY_USER" --password-stdin --verbose \
  --json "docker://$REGISTRY/test/layered:t1" remote.sif >build.json 2>build.log
grep -qF "$REGISTRY_PASSWORD" build.json build.log && fail "the password appears in sifter's output"
"$SIFTER" build oci:layout:t1 local.sif >/dev/null
unsquashfs -q -d remote-tree -o "$(partition_offset remote.sif)" remote.sif >/dev/null
unsquashfs -q -d local-tree -o "$(partition_offset local.sif)" local.sif >/dev/null
python3 "$COMPARE_TREES" local-tree remote-tree --ignore .singularity.d/Singularity --ignore .singularity.d/labels.json
# The same image with zstd layers (recompressed by skopeo; a copy straight into the registry
# would reuse the gzip blobs already there).
skopeo copy -q --dest-compress-format zstd oci:layout:t1 oci:zstd-layout:t1
skopeo copy -q --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" \
  oci:zstd-layout:t1 "docker://$REGISTRY/test/layered-zstd:t1"
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" build --plain-http -u "$REGISTRY_USER" --password-stdin \
  "docker://$REGISTRY/test/layered-zstd:t1" zstd.sif >/dev/null
grep -q 'tar+zstd' <<<"$("$SIFTER" inspect zstd.sif)" || fail "the registry copy has no zstd layers"
unsquashfs -q -d zstd-tree -o "$(partition_offset zstd.sif)" zstd.sif >/dev/null
python3 "$COMPARE_TREES" local-tree zstd-tree --ignore .singularity.d/Singularity --ignore .singularity.d/labels.json
grep -q "From: $REGISTRY/test/layered@sha256:" <<<"$("$SIFTER" inspect remote.sif)" || fail "definition file does not pin the digest"

# Every layer is in the cache; a second build (pinned by digest) reuses it.
digest=$(python3 -c 'import json; print(json.load(open("build.json"))["manifestDigest"])')
"$SIFTER" cache ls --json >cache.json
python3 - <<'PY' || fail "cache does not hold the layers"
import json
blobs = {b["digest"] for b in json.load(open("cache.json"))["blobs"]}
assert len(blobs) >= 4, blobs
PY
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" build --plain-http -u "$REGISTRY_USER" --password-stdin --verbose \
  "docker://$REGISTRY/test/layered@$digest" pinned.sif >/dev/null 2>pinned.log
layers=$(python3 -c '
import json
idx = json.load(open("layout/index.json"))
m = json.load(open("layout/blobs/sha256/" + idx["manifests"][0]["digest"].split(":")[1]))
print("\n".join(l["digest"] for l in m["layers"]))')
for layer in $layers; do
  grep -q "GET .*/blobs/$layer" pinned.log && fail "the second build downloaded layer $layer again"
done
unsquashfs -q -d pinned-tree -o "$(partition_offset pinned.sif)" pinned.sif >/dev/null
python3 "$COMPARE_TREES" remote-tree pinned-tree --ignore .singularity.d/Singularity --ignore .singularity.d/labels.json

# A wrong password is refused by the token server: a clear error, no output, no secret shown.
status=0
printf 'wrong-password' | "$SIFTER" build --plain-http -u "$REGISTRY_USER" --password-stdin \
  "docker://$REGISTRY/test/layered:t1" denied.sif 2>denied.err || status=$?
[ "$status" -ne 0 ] && [ ! -e denied.sif ] || fail "a wrong password was accepted: status $status"
grep -q "wrong-password" denied.err && fail "the password appears in the error"
grep -qi "auth\|401\|denied\|unauthorized" denied.err || fail "unclear error: $(cat denied.err)"
"$SIFTER" cache prune --max-size 0 >/dev/null
[ "$("$SIFTER" cache ls --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["blobs"]))')" = 0 ] || fail "prune left blobs"
echo "registry build equals layout build; cache reused; secrets kept"
