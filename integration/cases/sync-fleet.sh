# `sifter sync` of a wishlist on CNCF distribution with token auth (credentials from a docker
# config.json): images by tag, a repository expanded through its tag list by a semver range
# (newest 2, pre-releases left out) and by a glob, a two-platform image mirrored as an index
# into a registry namespace. With --jobs 2 the base layer the images share is downloaded once;
# SIFs equal `sifter build`'s; a re-run converts nothing; a changed image is the only one
# rebuilt; two overlapping runs convert each output once; a broken entry fails alone (exit
# status of its failure, the others done, the report and summary say why); a file sync did
# not write is never replaced; --prune removes only SIFs sync wrote that the list dropped;
# --plan shards are disjoint and cover the plan; wishlist errors name their line.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry token
export SIFTER_CACHE_DIR=$CASE_WORK/cache
copy() { skopeo copy -q --all --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "$1" "docker://$REGISTRY/$2"; }
python3 "$IMAGES/fleet.py" fleet --images 4 --base-mib 1 >fleet.json
for k in 1 2 3; do copy "oci:fleet:app-$k" "fleet/app-$k:1.0"; done
for tag in 1.0.0 1.1.0 1.2.0 1.3.0-rc1 2.0.0 main; do copy oci:fleet:app-4 "fleet/tool:$tag"; done
python3 "$REGISTRY_SCRIPTS/make-image.py" multi --big-mib 1 --seed 3 >multi.json
copy oci:multi:latest test/multi:latest
start_logging_proxy
export DOCKER_CONFIG=$CASE_WORK/docker
mkdir -p "$DOCKER_CONFIG" sifs
auth=$(printf '%s:%s' "$REGISTRY_USER" "$REGISTRY_PASSWORD" | base64 -w0)
printf '{"auths":{"%s":{"auth":"%s"},"%s":{"auth":"%s"}}}\n' "$proxy" "$auth" "$REGISTRY" "$auth" >"$DOCKER_CONFIG/config.json"
wishlist() {  # the wishlist, with extra entries appended
  cat <<EOF
version: 1
defaults:
  destination: sifs
images:
  - docker://$proxy/fleet/app-1:1.0
  - docker://$proxy/fleet/app-2:1.0
  - source: docker://$proxy/fleet/app-3:1.0
    name: three
    block-size: 65536
  - source: docker://$proxy/fleet/tool
    versions: ">=1.1 <2"
    newest: 2
  - source: docker://$proxy/fleet/tool
    tags: [ma*]
    name: tool-edge
  - source: docker://$proxy/test/multi:latest
    platforms: linux/amd64,linux/arm64
    destination: oras://$proxy/mirror/
EOF
  printf '%s\n' "$@"
}
wishlist >list.yaml
sync_() { "$SIFTER" sync --plain-http "$@"; }
field() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
expected="app-1_1.0.sif app-2_1.0.sif three_1.0.sif tool-edge_main.sif tool_1.1.0.sif tool_1.2.0.sif"

# The plan, whole and in shards.
sync_ --plan --json list.yaml >plan.json
[ "$(field plan.json 'len(r["items"])')" = 7 ] || fail "plan: $(cat plan.json)"
for i in 0 1 2; do sync_ --plan --json --shard "$i/3" list.yaml >"plan-$i.json"; done
python3 - plan.json plan-0.json plan-1.json plan-2.json <<'EOF' || fail "the shards do not partition the plan"
import json, sys
whole = sorted(i["destination"] for i in json.load(open(sys.argv[1]))["items"])
parts = [sorted(i["destination"] for i in json.load(open(p))["items"]) for p in sys.argv[2:]]
assert sorted(sum(parts, [])) == whole, (parts, whole)
EOF
[ "$(sync_ --plan --matrix 3 list.yaml)" = '{"shard":["0/3","1/3","2/3"]}' ] || fail "matrix: $(sync_ --plan --matrix 3 list.yaml)"

# First run, two jobs: everything converted, the shared base layer downloaded once.
: >requests.log
GITHUB_STEP_SUMMARY=$CASE_WORK/step-summary.md sync_ --jobs 2 --report first.json --summary first.md list.yaml >first.out 2>first.err ||
  fail "first run: $(cat first.err)"
[ "$(field first.json 'len(r["converted"])')" = 7 ] && [ "$(field first.json 'len(r["failed"])')" = 0 ] || fail "first run: $(cat first.json)"
[ "$(cd sifs && ls | tr '\n' ' ')" = "$expected " ] || fail "outputs: $(ls -A sifs)"
base=$(field fleet.json 'r["base"]')
[ "$(grep -c "^GET /v2/fleet/[a-z0-9-]*/blobs/$base 200" requests.log)" = 1 ] || fail "the base layer was downloaded $(grep -c "$base" requests.log) times"
grep -q "7 converted, 0 up to date, 0 failed" first.md && cmp -s first.md step-summary.md || fail "summary: $(cat first.md)"
"$SIFTER" build --plain-http "docker://$proxy/fleet/app-1:1.0" built.sif >/dev/null
cmp -s built.sif sifs/app-1_1.0.sif || fail "sync's SIF differs from sifter build's"
grep -q "block=65536" <<<"$("$SIFTER" inspect sifs/three_1.0.sif)" || fail "three_1.0.sif was not built with its block-size"
skopeo inspect --raw --tls-verify=false --creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "docker://$REGISTRY/mirror/multi:latest" >index.json
[ "$(field index.json '[m["platform"]["architecture"] for m in r["manifests"]]')" = "['amd64', 'arm64']" ] || fail "mirror index: $(cat index.json)"

# Second run: nothing converted, nothing downloaded or written.
stat -c '%n %i %Y' sifs/*.sif >before.txt
: >requests.log
sync_ --jobs 2 --json list.yaml >second.json 2>second.err || fail "second run: $(cat second.err)"
[ "$(field second.json 'len(r["upToDate"])')" = 7 ] || fail "second run: $(cat second.json)"
grep -qE '^(GET /v2/[^ ]*/blobs/|POST|PUT|PATCH)' requests.log && fail "the second run downloaded or wrote: $(cat requests.log)"
stat -c '%n %i %Y' sifs/*.sif | diff before.txt - || fail "the second run rewrote SIFs"

# app-2 changes: only it is rebuilt.
python3 "$IMAGES/fleet.py" fleet2 --images 4 --base-mib 1 --version 2 >/dev/null
copy oci:fleet2:app-2 fleet/app-2:1.0
sync_ --json list.yaml >third.json
[ "$(field third.json '[i["destination"].split("/")[-1] for i in r["converted"]]')" = "['app-2_1.0.sif']" ] || fail "third run: $(cat third.json)"

# Two overlapping runs over two missing outputs: each output is converted by one of them.
rm sifs/app-1_1.0.sif sifs/tool_1.1.0.sif
sync_ --jobs 2 --report overlap-a.json list.yaml >/dev/null 2>&1 &
a=$!
sync_ --jobs 2 --report overlap-b.json list.yaml >/dev/null 2>&1 || fail "overlapping run b failed"
wait "$a" || fail "overlapping run a failed"
[ "$(( $(field overlap-a.json 'len(r["converted"])') + $(field overlap-b.json 'len(r["converted"])') ))" = 2 ] ||
  fail "overlapping runs converted $(field overlap-a.json 'len(r["converted"])') + $(field overlap-b.json 'len(r["converted"])'), not 2"
ls -A sifs | grep -v '\.sif$' && fail "lock or temporary files left: $(ls -A sifs)"

# A broken entry and a file sync did not write: both fail alone, with their reasons.
echo "not a SIF" >sifs/app-3_1.0.sif
wishlist "  - docker://$proxy/fleet/app-3:1.0" "  - docker://$proxy/fleet/nothing:1.0" >broken.yaml
status=0
sync_ --report broken.json --summary broken.md broken.yaml >broken.out 2>broken.err || status=$?
[ "$status" = 1 ] || fail "two failures of different kinds: exit $status, $(cat broken.err)"
python3 - broken.json <<'EOF' || fail "broken run: $(cat broken.json)"
import json, sys
r = json.load(open(sys.argv[1]))
failed = {i["source"].split("/")[-1]: i["error"] for i in r["failed"]}
assert sorted(failed) == ["app-3:1.0", "nothing:1.0"], failed
assert "exists and is not a SIF sifter can read" in failed["app-3:1.0"], failed
assert "not found" in failed["nothing:1.0"], failed
assert len(r["upToDate"]) == 7, r
EOF
grep -q 'nothing:1.0' broken.md && grep -q "1 of 9\|2 of 9" broken.err || fail "broken: $(cat broken.md broken.err)"
[ "$(cat sifs/app-3_1.0.sif)" = "not a SIF" ] || fail "a file sync did not write was replaced"
rm sifs/app-3_1.0.sif
status=0
wishlist "  - docker://$proxy/fleet/nothing:1.0" >missing.yaml
sync_ missing.yaml >/dev/null 2>&1 || status=$?
[ "$status" = 69 ] || fail "one registry failure: exit $status, not 69"

# --prune: app-1 leaves the list; a SIF not written by sifter and a non-SIF stay.
wishlist | grep -v 'fleet/app-1:' >pruned.yaml
cp "$FIXTURES/one-group.sif" sifs/foreign.sif 2>/dev/null || cp "$(ls "$FIXTURES"/*.sif | head -1)" sifs/foreign.sif
echo notes >sifs/notes.sif
sync_ --prune --dry-run --json pruned.yaml >dry.json
[ "$(field dry.json '[p.split("/")[-1] for p in r["pruned"]]')" = "['app-1_1.0.sif']" ] && [ -f sifs/app-1_1.0.sif ] || fail "dry run: $(cat dry.json)"
sync_ --prune --json pruned.yaml >prune.json
[ "$(field prune.json '[p.split("/")[-1] for p in r["pruned"]]')" = "['app-1_1.0.sif']" ] || fail "prune: $(cat prune.json)"
[ ! -e sifs/app-1_1.0.sif ] && [ -f sifs/foreign.sif ] && [ -f sifs/notes.sif ] || fail "prune removed the wrong files: $(ls sifs)"

# Wishlist mistakes are usage errors naming the line.
printf 'images:\n  - source: docker://%s/fleet/app-1:1.0\n    platfrom: linux/amd64\n' "$proxy" >typo.yaml
status=0
sync_ --plan typo.yaml 2>typo.err || status=$?
[ "$status" = 64 ] && grep -q 'typo.yaml:3:5: unknown key "platfrom"' typo.err || fail "typo: exit $status, $(cat typo.err)"
wishlist "  - docker://$proxy/fleet/app-2:1.0" >duplicate.yaml
status=0
sync_ --plan duplicate.yaml 2>duplicate.err || status=$?
[ "$status" = 64 ] && grep -q "app-2_1.0.sif is named by more than one entry" duplicate.err || fail "duplicate: exit $status, $(cat duplicate.err)"
echo "sync: plan, shards, jobs sharing the base layer, up to date, one change, overlap, failures, prune, wishlist errors"
