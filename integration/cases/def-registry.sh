# `sifter def docker://…` against a real registry (CNCF distribution on 127.0.0.1, token auth,
# anonymous pulls): From: names the repository pinned to the manifest digest, --unpinned keeps
# the tag, only the manifest and config are fetched (no layer lands in the cache), and the text
# is the one `build` stores for the same reference.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry token
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" \
  oci:layout:t1 "docker://$REGISTRY/test/layered:t1"
digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/test/layered:t1")

export SIFTER_CACHE_DIR=$CASE_WORK/cache
"$SIFTER" def --plain-http --verbose "docker://$REGISTRY/test/layered:t1" >pinned.def 2>def.log
# Pinned by digest alone (Apptainer 1.3 and 1.5+ refuse a tag and a digest together); the tag
# stays in a comment and a label.
[ "$(head -2 pinned.def)" = "$(printf 'Bootstrap: docker\nFrom: %s/test/layered@%s' "$REGISTRY" "$digest")" ] ||
  fail "pinned header: $(head -2 pinned.def)"
grep -q "^# From: pins $REGISTRY/test/layered:t1 by digest alone" pinned.def || fail "no comment naming the tag"
grep -qx "    org.sylabs.sifter.source.reference $REGISTRY/test/layered:t1" pinned.def || fail "no label naming the tag"
python3 - <<'PY' || fail "def downloaded layers"
import json, os
idx = json.load(open("layout/index.json"))
layers = json.load(open("layout/blobs/sha256/" + idx["manifests"][0]["digest"].split(":")[1]))["layers"]
log = open("def.log").read()
assert not any(l["digest"] in log for l in layers), "a layer was requested"
PY
"$SIFTER" def --plain-http --unpinned "docker://$REGISTRY/test/layered:t1" | head -2 >unpinned.txt
[ "$(cat unpinned.txt)" = "$(printf 'Bootstrap: docker\nFrom: %s/test/layered:t1' "$REGISTRY")" ] || fail "unpinned header: $(cat unpinned.txt)"
# A digest given on the command line is kept (and is the manifest digest).
"$SIFTER" def --plain-http "docker://$REGISTRY/test/layered@$digest" | sed -n 2p | grep -qx "From: $REGISTRY/test/layered@$digest" ||
  fail "a digest reference is not kept"

"$SIFTER" build --plain-http "docker://$REGISTRY/test/layered:t1" out.sif >/dev/null
"$SIFTOOL" dump 1 out.sif >deffile.bin
cmp deffile.bin pinned.def || fail "build stores other text than sifter def prints"
echo "registry def: pinned, unpinned, no layer downloads, same text as build"
