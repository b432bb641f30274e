# `sifter push` and `pull` against CNCF distribution on 127.0.0.1 with token auth: the
# manifest, config and layer seen by independent clients (skopeo, curl) are Apptainer's ORAS
# layout; --semver tags; GitHub Actions outputs; a byte-identical pull; a second push of the
# same file uploads no blob (counted at a logging proxy in front of the registry); files
# Apptainer would refuse are refused.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry token
"$IMAGES/make-layered.sh" layout t1 >/dev/null
"$SIFTER" build oci:layout:t1 app.sif >/dev/null

start_logging_proxy
: >requests.log
uploads() { grep -cE '^(POST|PUT|PATCH) /v2/[^ ]*/blobs/uploads/' requests.log || true; }

# First push, as a release: --semver expands, outputs go to the GitHub Actions files.
export GITHUB_OUTPUT=$CASE_WORK/gh-output GITHUB_STEP_SUMMARY=$CASE_WORK/gh-summary
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" push --plain-http -u "$REGISTRY_USER" --password-stdin \
  --semver v1.2.3 --tag ci --digest-file digest.txt --json app.sif "oras://$proxy/test/app:build-1" >push1.json 2>push1.err
unset GITHUB_OUTPUT GITHUB_STEP_SUMMARY
grep -qF "$REGISTRY_PASSWORD" push1.json push1.err && fail "the password appears in sifter's output"
digest=$(cat digest.txt)
[ "$(python3 -c 'import json; print(json.load(open("push1.json"))["digest"])')" = "$digest" ] || fail "--json and --digest-file disagree"
first_uploads=$(uploads)
[ "$first_uploads" -ge 2 ] || fail "the first push uploaded $first_uploads blob requests (config and SIF expected)"
grep -qx "digest=$digest" gh-output || fail "GITHUB_OUTPUT has no digest: $(cat gh-output)"
grep -qx "ref=$proxy/test/app@$digest" gh-output || fail "GITHUB_OUTPUT has no ref"
grep -q "^tags<<ghadelimiter_" gh-output && grep -qx "$proxy/test/app:1.2" gh-output || fail "GITHUB_OUTPUT has no tags"
grep -qF "apptainer pull oras://$proxy/test/app@$digest" gh-summary || fail "the summary lacks the pull-by-digest command"

# Tags: the reference's, --tag, and the semver expansion.
creds=(--creds "$REGISTRY_USER:$REGISTRY_PASSWORD" --tls-verify=false)
skopeo list-tags "${creds[@]}" "docker://$REGISTRY/test/app" >tags.json
python3 - <<'PY' || fail "wrong tags: $(cat tags.json)"
import json
assert sorted(json.load(open("tags.json"))["Tags"]) == sorted(["build-1", "ci", "1.2.3", "1.2", "1", "latest"])
PY

# The manifest, config and layer as an independent client sees them.
skopeo inspect --raw "${creds[@]}" "docker://$REGISTRY/test/app:1.2.3" >manifest.json
[ "sha256:$(sha256sum <manifest.json | cut -d' ' -f1)" = "$digest" ] || fail "the manifest bytes do not hash to the reported digest"
skopeo inspect --raw --config "${creds[@]}" "docker://$REGISTRY/test/app:1.2.3" >config.json
[ "$(cat config.json)" = "{}" ] || fail "config blob is $(cat config.json)"
python3 - "$(sha256sum app.sif | cut -d' ' -f1)" "$(stat -c %s app.sif)" <<'PY' || fail "manifest is not Apptainer's layout: $(cat manifest.json)"
import json, sys
m = json.load(open("manifest.json"))
assert m["schemaVersion"] == 2 and m["mediaType"] == "application/vnd.oci.image.manifest.v1+json", m
assert m["config"] == {"mediaType": "application/vnd.sylabs.sif.config.v1+json", "size": 2,
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "data": "e30="}, m["config"]
assert len(m["layers"]) == 1, m["layers"]
layer = m["layers"][0]
assert layer["mediaType"] == "application/vnd.sylabs.sif.layer.v1.sif"
assert layer["digest"] == "sha256:" + sys.argv[1] and layer["size"] == int(sys.argv[2]), layer
assert layer["annotations"] == {"org.opencontainers.image.title": "app.sif"}, layer
a = m["annotations"]
assert a["org.opencontainers.image.created"] == "2024-01-02T03:04:05Z", a   # the image's created, not the clock
assert a["org.opencontainers.image.source"] == "oci:layout:t1", a
assert a["org.sylabs.sifter.source.digest"].startswith("sha256:") and a["org.opencontainers.image.base.digest"] == a["org.sylabs.sifter.source.digest"]
assert a["org.sylabs.sifter.build-options"].startswith("platform=linux/"), a
assert "artifactType" not in m and "subject" not in m
PY
token=$(curl -sf -u "$REGISTRY_USER:$REGISTRY_PASSWORD" "$TOKEN_REALM?service=sifter-registry&scope=repository:test/app:pull" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("token") or d["access_token"])')
layer=$(python3 -c 'import json; print(json.load(open("manifest.json"))["layers"][0]["digest"])')
curl -sf -H "Authorization: Bearer $token" -o layer.bin "http://$REGISTRY/v2/test/app/blobs/$layer"
cmp -s layer.bin app.sif || fail "the layer blob is not the SIF"

# Pull back, by tag and by digest: byte-identical, executable, atomic (no temporary left).
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" pull --plain-http -u "$REGISTRY_USER" --password-stdin "oras://$proxy/test/app:1.2" pulled.sif >/dev/null
cmp -s pulled.sif app.sif || fail "the pulled SIF differs"
[ -x pulled.sif ] || fail "the pulled SIF is not executable"
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" pull --plain-http -u "$REGISTRY_USER" --password-stdin "oras://$proxy/test/app@$digest" by-digest.sif >/dev/null
cmp -s by-digest.sif app.sif || fail "the SIF pulled by digest differs"
status=0
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" pull --plain-http -u "$REGISTRY_USER" --password-stdin "oras://$proxy/test/app:1.2" pulled.sif 2>exists.err || status=$?
[ "$status" -ne 0 ] && grep -q "exists" exists.err || fail "pull replaced an existing file without --force"
grep -q '\.sifter-' <<<"$(ls -a)" && fail "a temporary file was left behind"

# The same file again: the same manifest digest, no blob upload, one manifest PUT per tag.
: >requests.log
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" push --plain-http -u "$REGISTRY_USER" --password-stdin \
  --semver v1.2.3 --digest-file digest2.txt app.sif "oras://$proxy/test/app:build-1" >push2.out
cmp -s digest.txt digest2.txt || fail "pushing the same SIF again gave another digest"
[ "$(uploads)" = 0 ] || fail "the second push uploaded blobs: $(grep uploads requests.log)"
[ "$(grep -c '^PUT /v2/test/app/manifests/' requests.log)" = 5 ] || fail "expected 5 manifest PUTs: $(cat requests.log)"
grep -q "already there" push2.out || fail "the second push does not say the SIF was there"

# An image pushed by skopeo is not a SIF artifact: pull refuses it and writes nothing.
skopeo copy -q --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" oci:layout:t1 "docker://$REGISTRY/test/image:t1"
status=0
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" pull --plain-http -u "$REGISTRY_USER" --password-stdin "oras://$REGISTRY/test/image:t1" image.sif 2>image.err || status=$?
[ "$status" -ne 0 ] && [ ! -e image.sif ] && grep -q "not a SIF artifact" image.err || fail "pulled a non-SIF image: $status $(cat image.err)"

# What Apptainer would refuse to push, sifter refuses before any request.
"$SIFTER" sif new nopart.sif >/dev/null
head -c 5000 /dev/urandom >data.bin
"$SIFTER" sif add nopart.sif data.bin --type partition --part data --arch amd64 >/dev/null
: >requests.log
for bad in nopart.sif manifest.json; do
  status=0
  "$SIFTER" push --plain-http "$bad" "oras://$proxy/test/bad:1" 2>bad.err || status=$?
  [ "$status" = 65 ] || fail "pushing $bad: status $status, $(cat bad.err)"
done
status=0
"$SIFTER" push --plain-http --semver 1.2 app.sif "oras://$proxy/test/bad:1" 2>semver.err || status=$?
[ "$status" -ne 0 ] && grep -q "invalid version" semver.err || fail "an invalid --semver was accepted"
[ ! -s requests.log ] || fail "refused pushes still talked to the registry: $(cat requests.log)"

# build remembers the SIF's digest so push does not hash it again; a file changed in place
# after the build (same size, old mtime put back) is hashed again, and what is pushed is its
# digest (the registry would refuse a wrong one, or, worse, a HEAD would find an old blob).
"$SIFTER" build oci:layout:t1 changed.sif >/dev/null
[ -n "$(ls "$SIFTER_CACHE_DIR/file-digests")" ] || fail "build remembered no digest"
stamp=$(stat -c %y changed.sif)
offset=$(partition_offset changed.sif)
printf '\x5a' | dd of=changed.sif bs=1 seek=$((offset + 200)) conv=notrunc status=none
touch -d "$stamp" changed.sif
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" push --plain-http -u "$REGISTRY_USER" --password-stdin --json \
  changed.sif "oras://$proxy/test/changed:1" >changed.json
pushed=$(skopeo inspect --raw "${creds[@]}" "docker://$REGISTRY/test/changed:1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
[ "$pushed" = "sha256:$(sha256sum changed.sif | cut -d' ' -f1)" ] || fail "pushed $pushed, not the changed file's digest"
echo "push: Apptainer layout, tags, outputs, identical pull, no second upload, refusals, digests remembered safely"
