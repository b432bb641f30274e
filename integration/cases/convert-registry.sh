# `sifter convert docker://… oras://…` on CNCF distribution with token auth: the first run
# builds and pushes a SIF identical to `sifter build` of the same source; the second run is
# skipped (no layer download, no blob upload, under a second); --force rebuilds to the same
# digest; other build options rebuild; requests are counted at a logging proxy.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry token
export SIFTER_CACHE_DIR=$CASE_WORK/cache
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" oci:layout:t1 "docker://$REGISTRY/test/layered:t1"

start_logging_proxy
convert() {
  printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" convert --plain-http -u "$REGISTRY_USER" --password-stdin "$@"
}
uploads() { grep -cE '^(POST|PUT|PATCH) /v2/[^ ]*/blobs/uploads/' requests.log || true; }
layer_gets() { grep -cE '^GET /v2/test/layered/blobs/' requests.log || true; }

# First run: builds and pushes.
: >requests.log
convert --semver v1.0.0 --json --output first.sif "docker://$proxy/test/layered:t1" "oras://$proxy/test/layered-sif:t1" >first.json 2>first.err ||
  fail "convert failed: $(cat first.err)"
grep -qF "$REGISTRY_PASSWORD" first.json first.err && fail "the password appears in sifter's output"
python3 -c 'import json; r = json.load(open("first.json")); assert r["skipped"] is False and r["layer"] == "uploaded", r' || fail "first run: $(cat first.json)"
digest=$(python3 -c 'import json; print(json.load(open("first.json"))["digest"])')
[ "$(uploads)" -ge 2 ] || fail "the first run uploaded nothing"
"$SIFTER" build --plain-http "docker://$proxy/test/layered:t1" built.sif >/dev/null
cmp -s first.sif built.sif || fail "convert's SIF differs from sifter build's"
"$SIFTER" pull --plain-http "oras://$REGISTRY/test/layered-sif:1.0" pulled.sif >/dev/null
cmp -s pulled.sif built.sif || fail "the pushed SIF differs from sifter build's"

# Second run: nothing changed, so nothing is built, downloaded or uploaded.
: >requests.log
rm -rf "$SIFTER_CACHE_DIR"
start=$(date +%s.%N)
convert --semver v1.0.0 --json "docker://$proxy/test/layered:t1" "oras://$proxy/test/layered-sif:t1" >second.json 2>second.err ||
  fail "second convert failed: $(cat second.err)"
seconds=$(python3 -c "import time; print(round($(date +%s.%N) - $start, 3))")
python3 -c 'import json; r = json.load(open("second.json")); assert r["skipped"] is True, r' || fail "second run not skipped: $(cat second.json)"
[ "$(python3 -c 'import json; print(json.load(open("second.json"))["digest"])')" = "$digest" ] || fail "second run reports another digest"
[ "$(uploads)" = 0 ] || fail "the skipped run uploaded: $(cat requests.log)"
[ "$(layer_gets)" = 0 ] || fail "the skipped run downloaded blobs: $(cat requests.log)"
grep -qE '^PUT /v2/[^ ]*/manifests/' requests.log && fail "the skipped run re-put manifests whose tags were in place"
python3 -c "import sys; sys.exit(0 if $seconds <= 1.0 else 1)" || fail "the skipped run took $seconds s"
echo "skipped run: $seconds s, $(wc -l <requests.log) requests"
grep -q "up to date" <<<"$(convert "docker://$proxy/test/layered:t1" "oras://$proxy/test/layered-sif:t1")" || fail "the text output does not say it was skipped"

# A new tag on a skipped run is pointed at the existing manifest (a manifest PUT, no blob).
: >requests.log
convert --tag extra "docker://$proxy/test/layered:t1" "oras://$proxy/test/layered-sif:t1" >/dev/null
[ "$(uploads)" = 0 ] && [ "$(grep -c '^PUT /v2/test/layered-sif/manifests/extra' requests.log)" = 1 ] || fail "extra tag: $(cat requests.log)"

# --force rebuilds; the build is deterministic, so the digest is the same and the blob exists.
convert --force --json "docker://$proxy/test/layered:t1" "oras://$proxy/test/layered-sif:t1" >forced.json
python3 -c 'import json,sys; r = json.load(open("forced.json")); assert r["skipped"] is False and r["layer"] == "existed" and r["digest"] == sys.argv[1], r' "$digest" ||
  fail "forced run: $(cat forced.json)"

# Other build options are another SIF: rebuilt and pushed.
convert --json --block-size 65536 "docker://$proxy/test/layered:t1" "oras://$proxy/test/layered-sif:t1" >options.json
python3 -c 'import json,sys; r = json.load(open("options.json")); assert r["skipped"] is False and r["digest"] != sys.argv[1], r' "$digest" ||
  fail "changed options were skipped: $(cat options.json)"
echo "convert: built once, skipped when unchanged, forced and option changes rebuild"
