# The GitHub Action (action.yml at the repository's root) without a GitHub runner: its structure
# read with a YAML parser (python3-yaml), then its steps run as a runner runs a composite action
# (integration/action-runner.py: GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP,
# GITHUB_ACTION_PATH, the inputs' secrets in the steps' environment) against a registry with
# token auth on 127.0.0.1: the seeds' case, an image converted to a SIF pushed with semver tags,
# another tag and an expiry annotation. Checked: the outputs (digest, ref, tags, sif-path), the
# job summary's `apptainer pull oras://…@sha256:…` line, the pushed SIF (pulled back), the blob
# cache directory, the CI log's progress lines, a second run that finds the destination up to
# date, a failing run, and that no secret appears in any output, log or file the runner reads.
# The package-url path (apt-get install of the .deb) runs in the Debian roots of package-debian.sh.
source "$(dirname "$0")/../lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$CASE_WORK"
runner=$repo/integration/action-runner.py

# The action's structure.
python3 - "$repo" <<'PY' || fail "action.yml: structure"
import os, re, sys, yaml
repo = sys.argv[1]
action = yaml.safe_load(open(os.path.join(repo, "action.yml")))
assert action["runs"]["using"] == "composite", action["runs"]
want_inputs = {"source", "destination", "tags", "semver", "platform", "compression", "username", "password",
               "source-username", "source-password", "cache-dir", "package-url"}
assert want_inputs <= set(action["inputs"]), want_inputs - set(action["inputs"])
assert {"source", "destination"} == {k for k, v in action["inputs"].items() if v.get("required")}
assert set(action["outputs"]) == {"digest", "ref", "tags", "sif-path"}, action["outputs"]
steps = {s.get("id"): s for s in action["runs"]["steps"]}
for name, spec in action["outputs"].items():
    m = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", spec["value"])
    assert m and m.group(1) in steps, (name, spec)
used = set()
for step in action["runs"]["steps"]:
    if "run" in step:
        # Inputs reach scripts through the environment, never through the script's text.
        assert "${{" not in step["run"], step["run"]
        assert step.get("shell") == "bash", step
        script = re.search(r'"\$GITHUB_ACTION_PATH/([^"]+)"', step["run"]).group(1)
        assert os.access(os.path.join(repo, script), os.X_OK), script
    text = yaml.safe_dump(step)
    used |= set(re.findall(r"inputs\.([\w-]+)", text))
assert used <= set(action["inputs"]), used - set(action["inputs"])
assert set(action["inputs"]) <= used, set(action["inputs"]) - used
print("action.yml: composite, inputs", sorted(action["inputs"]), "outputs", sorted(action["outputs"]))
PY
bash -n "$repo/action/install.sh" && bash -n "$repo/action/convert.sh" || fail "the action's scripts do not parse"

start_registry token
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" oci:layout:t1 "docker://$REGISTRY/org/app:1.2.3"
# The job's environment: sifter on PATH (install: false, a self-hosted runner), nothing else of ours.
mkdir -p bin && ln -sf "$SIFTER" bin/sifter
run_action() {
  local work=$1
  shift
  mkdir -p "$work"
  env -u SIFTER_CACHE_DIR -u SIFTER_USERNAME -u SIFTER_PASSWORD PATH="$CASE_WORK/bin:$PATH" HOME="$CASE_WORK/home" \
    python3 "$runner" "$repo" "$work" --input install=false --input plain-http=true \
    --input "source=docker://$REGISTRY/org/app:1.2.3" --input "destination=oras://$REGISTRY/org/app-sif" \
    --input "source-username=$REGISTRY_USER" --input "source-password=$REGISTRY_PASSWORD" \
    --input "username=$REGISTRY_USER" --input "password=$REGISTRY_PASSWORD" \
    --input "cache-dir=$CASE_WORK/blob-cache" "$@"
}
output() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1/outputs.json" "$2"; }
no_secret() {
  local work=$1 file
  for file in "$work"/* "$work"/runner-temp/*; do
    [ -f "$file" ] || continue
    case $file in *.sif) continue ;; esac
    grep -qF "$REGISTRY_PASSWORD" "$file" && fail "the password appears in $file"
  done
  return 0
}

# The seeds' case: semver tags, one more tag, an expiry annotation (Quay's quay.expires-after).
run_action first --input semver=v1.2.3 --input "tags=pr-7" --input "annotations=quay.expires-after=7d" ||
  fail "the action failed: $(tail -30 first/log.txt)"
no_secret first
digest=$(output first digest)
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || fail "digest output: $digest"
[ "$(output first ref)" = "$REGISTRY/org/app-sif@$digest" ] || fail "ref output: $(output first ref)"
expected=$(printf '%s\n' latest 1.2.3 1.2 1 pr-7 | sed "s|^|$REGISTRY/org/app-sif:|" | sort)
[ "$(output first tags | sort)" = "$expected" ] || fail "tags output: $(output first tags)"
sif=$(output first sif-path)
[ -f "$sif" ] && [ "$sif" = "$CASE_WORK/first/runner-temp/sifter-action/app-sif.sif" ] || fail "sif-path output: $sif"
grep -qF "apptainer pull oras://$REGISTRY/org/app-sif@$digest" first/summary.md || fail "summary: $(cat first/summary.md)"
grep -qF "apptainer pull oras://$REGISTRY/org/app-sif:1.2.3" first/summary.md || fail "summary lacks the tags: $(cat first/summary.md)"
"$SIFTER" pull --plain-http "oras://$REGISTRY/org/app-sif@$digest" pulled.sif >/dev/null
cmp pulled.sif "$sif" || fail "the pushed SIF differs from sif-path"
skopeo inspect --raw --tls-verify=false --creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "docker://$REGISTRY/org/app-sif:pr-7" >manifest.json
python3 -c 'import json,sys; a = json.load(open("manifest.json"))["annotations"]; assert a["quay.expires-after"] == "7d", a' ||
  fail "the annotation is not on the manifest: $(cat manifest.json)"
ls blob-cache/blobs/sha256/ >/dev/null 2>&1 && [ "$(ls blob-cache/blobs/sha256 | wc -l)" -ge 4 ] || fail "the cache-dir input held no blobs"
# A CI log: stage lines and sifter's result, no terminal control sequences.
for stage in "download:" "index:" "stream:" "sif:" "upload:"; do
  grep -q "^$stage" first/log.txt || fail "the log has no $stage line: $(cat first/log.txt)"
done
grep -q $'\r\|\e' first/log.txt && fail "the log holds terminal control sequences"
grep -qF "converted and pushed $REGISTRY/org/app-sif:" first/log.txt || fail "the log lacks the result: $(cat first/log.txt)"

# Again: the destination is up to date; nothing is built, the outputs name the same artifact.
run_action second --input semver=v1.2.3 --input "tags=pr-7" --input "annotations=quay.expires-after=7d" ||
  fail "the second run failed: $(tail -30 second/log.txt)"
no_secret second
[ "$(output second digest)" = "$digest" ] || fail "the second run reports $(output second digest)"
[ -z "$(output second sif-path)" ] || fail "an up-to-date run reports a SIF: $(output second sif-path)"
grep -q "up to date" second/summary.md || fail "the second summary does not say up to date: $(cat second/summary.md)"
grep -qE "^(download|stream|upload):" second/log.txt && fail "the up-to-date run built or uploaded: $(cat second/log.txt)"

# Several platforms: one index under the tag, each entry a SIF with its platform, no sif-path.
python3 "$REGISTRY_SCRIPTS/make-image.py" multi --big-mib 1 --seed 7 >multi.image.json
skopeo copy -q --all --preserve-digests --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" \
  oci:multi:latest "docker://$REGISTRY/org/multi:1"
run_action platforms --input "source=docker://$REGISTRY/org/multi:1" --input "destination=oras://$REGISTRY/org/multi-sif:1" \
  --input "platform=linux/amd64,linux/arm64" || fail "the two-platform run failed: $(tail -30 platforms/log.txt)"
no_secret platforms
[ -z "$(output platforms sif-path)" ] || fail "a two-platform run reports one SIF: $(output platforms sif-path)"
skopeo inspect --raw --tls-verify=false --creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "docker://$REGISTRY/org/multi-sif:1" >index.json
python3 - "$(output platforms digest)" <<'PY' || fail "the two-platform tag: $(cat index.json)"
import hashlib, json, sys
raw = open("index.json", "rb").read()
assert "sha256:" + hashlib.sha256(raw).hexdigest() == sys.argv[1], "digest output is not the index's"
index = json.loads(raw)
assert index["mediaType"] == "application/vnd.oci.image.index.v1+json", index["mediaType"]
assert sorted(m["platform"]["architecture"] for m in index["manifests"]) == ["amd64", "arm64"], index
PY

# A wrong password fails the step with the registry's refusal, and prints no secret either.
run_action wrong --input "password=not-$REGISTRY_PASSWORD" --input "tags=other" --input force=true &&
  fail "the action succeeded with a wrong password"
grep -q "##\[error\]Process completed with exit code 69" wrong/log.txt || fail "the failure's exit code: $(tail -5 wrong/log.txt)"
no_secret wrong
grep -qF "not-$REGISTRY_PASSWORD" wrong/* 2>/dev/null && fail "the wrong password was printed"
echo "action: outputs, summary, cache, CI log, up-to-date run and failure checked; no secret printed"
