# `sifter prune` on CNCF distribution with deletes enabled and token auth: a repository of 12
# tags with distinct created times (11 images whose configs say when, one index whose
# annotation does) plus tags sharing their digests. --dry-run deletes nothing; --keep 3 keeps
# the newest three and every digest a kept tag reaches; --older-than deletes by age;
# --untagged takes the per-platform manifests of a deleted index except one a kept tag names;
# tags are listed in pages of 5 through a front that paginates (distribution 2.8 does not);
# a registry with deletes disabled is reported with what to do. Read back with skopeo.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry token
now=$(date +%s)
# The layout: build-01 … build-11 created 11 … 1 days ago (one config each), and idx-old, an
# index created 20 days ago over two manifests.
python3 - layout "$now" <<'EOF'
import hashlib, io, json, os, sys, tarfile, time
layout, now = sys.argv[1], int(sys.argv[2])
os.makedirs(layout + "/blobs/sha256", exist_ok=True)
open(layout + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    open(layout + "/blobs/sha256/" + digest, "wb").write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
def stamp(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
def image(name, created):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("etc/name"); data = name.encode(); info.size = len(data); tar.addfile(info, io.BytesIO(data))
    layer = buf.getvalue()
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": stamp(created),
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **put(config)),
                           "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar", **put(layer))]}).encode()
    return dict(mediaType="application/vnd.oci.image.manifest.v1+json", **put(manifest))
refs = []
for k in range(1, 12):
    refs.append(dict(image("build-%02d" % k, now - (12 - k) * 86400), annotations={"org.opencontainers.image.ref.name": "build-%02d" % k}))
children = [dict(image("idx-" + arch, now - 25 * 86400), platform={"os": "linux", "architecture": arch}) for arch in ("amd64", "arm64")]
index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": children,
                    "annotations": {"org.opencontainers.image.created": stamp(now - 20 * 86400)}}).encode()
refs.append(dict(mediaType="application/vnd.oci.image.index.v1+json", **put(index), annotations={"org.opencontainers.image.ref.name": "idx-old"}))
json.dump({"schemaVersion": 2, "manifests": refs}, open(layout + "/index.json", "w"))
json.dump({"children": [c["digest"] for c in children], "build": {r["annotations"]["org.opencontainers.image.ref.name"]: r["digest"] for r in refs}},
          open("digests.json", "w"))
EOF
push() { skopeo copy -q --all --preserve-digests --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "oci:layout:$1" "docker://$REGISTRY/test/keep:$2"; }
for k in 01 02 03 04 05 06 07 08 09 10 11; do push "build-$k" "build-$k"; done
push idx-old idx-old
push build-02 release-1          # shares build-02's digest
push build-11 latest             # shares build-11's digest
child=$(python3 -c 'import json; print(json.load(open("digests.json"))["children"][0])')
skopeo copy -q --preserve-digests --src-tls-verify=false --dest-tls-verify=false --src-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" \
  --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "docker://$REGISTRY/test/keep@$child" "docker://$REGISTRY/test/keep:child-keep"
tags() { skopeo list-tags --tls-verify=false --creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "docker://$REGISTRY/test/keep" |
  python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["Tags"])))'; }
exists() { skopeo inspect --raw --tls-verify=false --creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "docker://$REGISTRY/test/keep@$1" >/dev/null 2>&1; }
prune() { printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" prune --plain-http -u "$REGISTRY_USER" --password-stdin "$@"; }
all="build-01 build-02 build-03 build-04 build-05 build-06 build-07 build-08 build-09 build-10 build-11 child-keep idx-old latest release-1"
[ "$(tags)" = "$all" ] || fail "seeded tags: $(tags)"

# --dry-run: the decisions, nothing deleted; listed in pages of 5 through the paginating front.
front=$("$REGISTRY_SCRIPTS/start-front.sh" "$CASE_WORK/reg" pages --paginate-tags)
prune --dry-run --json --page-size 5 --match 'build-*' --keep 3 "oras://$front/test/keep" >dry.json || fail "dry run failed"
[ "$(grep -c tags-page "$CASE_WORK/reg/pages.events")" = 3 ] || fail "15 tags in pages of 5 were not 3 pages: $(cat "$CASE_WORK/reg/pages.events")"
python3 - dry.json <<'EOF' || fail "dry run: $(cat dry.json)"
import json, sys
r = json.load(open(sys.argv[1]))
decided = {t["tag"]: (t["delete"], t.get("kept")) for t in r["tags"]}
assert [t for t, (d, _) in sorted(decided.items()) if d] == ["build-01", "build-03", "build-04", "build-05", "build-06", "build-07", "build-08"], decided
assert decided["build-02"][1].startswith("its digest is also reached by kept release-1"), decided["build-02"]
assert [decided["build-%02d" % k][1] for k in (11, 10, 9)] == ["newest #1", "newest #2", "newest #3"], decided
assert decided["idx-old"] == (False, "not matched") and r["deleted"] == [] and len(r["toDelete"]) == 7, r
EOF
[ "$(tags)" = "$all" ] || fail "--dry-run deleted something: $(tags)"

# --keep 3 for real: 7 manifests go, build-02 stays for release-1.
prune --match 'build-*' --keep 3 "oras://$REGISTRY/test/keep" >keep.out || fail "keep: $(cat keep.out)"
grep -q "^7 manifests deleted" keep.out || fail "keep: $(cat keep.out)"
[ "$(tags)" = "build-02 build-09 build-10 build-11 child-keep idx-old latest release-1" ] || fail "after --keep 3: $(tags)"

# --older-than 60h: build-09 (3 days) goes; build-10 (2 days) and build-11 (1 day) stay; build-02
# (10 days) stays for release-1.
prune --match 'build-*' --older-than 60h "oras://$REGISTRY/test/keep" >older.out || fail "older-than: $(cat older.out)"
[ "$(tags)" = "build-02 build-10 build-11 child-keep idx-old latest release-1" ] || fail "after --older-than 60h: $(tags)"

# The index, 20 days old, with --untagged: its arm64 manifest goes too, its amd64 one stays
# for child-keep.
second=$(python3 -c 'import json; print(json.load(open("digests.json"))["children"][1])')
prune --match 'idx-*' --older-than 10d --untagged "oras://$REGISTRY/test/keep" >untagged.out || fail "untagged: $(cat untagged.out)"
[ "$(tags)" = "build-02 build-10 build-11 child-keep latest release-1" ] || fail "after the index prune: $(tags)"
exists "$second" && fail "--untagged left the index's arm64 manifest"
exists "$child" || fail "--untagged deleted the manifest child-keep names"
echo "prune: dry run, keep 3, older than 60h, untagged index children; shared digests kept"

# A registry with deletes disabled: 405 UNSUPPORTED, exit 69, the message says what to do.
REGISTRY_DELETE=0 "$REGISTRY_SCRIPTS/start.sh" none "$CASE_WORK/nodelete" >/dev/null
trap '"$REGISTRY_SCRIPTS/stop.sh" "$CASE_WORK/nodelete" >/dev/null 2>&1 || true; "$REGISTRY_SCRIPTS/stop.sh" "$CASE_WORK/reg" >/dev/null 2>&1 || true' EXIT
nodelete=$(. "$CASE_WORK/nodelete/env"; echo "$REGISTRY")
skopeo copy -q --dest-tls-verify=false oci:layout:build-01 "docker://$nodelete/test/keep:old"
skopeo copy -q --dest-tls-verify=false oci:layout:build-11 "docker://$nodelete/test/keep:new"
status=0
"$SIFTER" prune --plain-http --keep 1 "oras://$nodelete/test/keep" >refused.out 2>refused.err || status=$?
[ "$status" = 69 ] || fail "deletes refused: exit $status, $(cat refused.err)"
grep -q "refuses to delete manifests (HTTP 405 UNSUPPORTED" refused.err && grep -q "storage.delete.enabled" refused.err ||
  fail "the refusal is not explained: $(cat refused.err)"
echo "refused deletes reported: $(cat refused.err)"
