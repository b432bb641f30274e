# `sifter sync --shard` under a real Slurm (Debian's slurm-wlm and munge, one node of two CPUs
# on 127.0.0.1): a job array of 3 tasks over a wishlist of 8 images sharing a base layer and one
# broken entry, all writing into one shared directory with one shared blob cache. Every image is
# converted exactly once (the task reports, read together), the shards do not overlap, the base
# layer is downloaded once (counted at a logging proxy), the broken entry fails alone and is
# reported by one task; a second array converts nothing and leaves the files as they were.
# Credentials come from a docker config.json. The daemons are stopped by pid at the end.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
for tool in munged slurmctld slurmd sbatch; do command -v "$tool" >/dev/null || fail "$tool missing (integration/install-deps.sh installs slurm-wlm and munge)"; done
start_registry token
trap '"$REGISTRY_SCRIPTS/../slurm/stop.sh" "$CASE_WORK/slurm" >/dev/null 2>&1 || true; "$REGISTRY_SCRIPTS/stop.sh" "$CASE_WORK/reg" >/dev/null 2>&1 || true' EXIT
python3 "$IMAGES/fleet.py" fleet --images 8 --base-mib 2 >fleet.json
for k in 1 2 3 4 5 6 7 8; do
  skopeo copy -q --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "oci:fleet:app-$k" "docker://$REGISTRY/fleet/app-$k:1.0"
done
start_logging_proxy
# Credentials as a cluster would have them: docker's config.json, read by every task.
export DOCKER_CONFIG=$CASE_WORK/docker
mkdir -p "$DOCKER_CONFIG"
auth=$(printf '%s:%s' "$REGISTRY_USER" "$REGISTRY_PASSWORD" | base64 -w0)
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$proxy" "$auth" >"$DOCKER_CONFIG/config.json"
mkdir -p shared/sifs reports
export SIFTER_CACHE_DIR=$CASE_WORK/shared/cache
{
  echo "defaults:"
  echo "  destination: shared/sifs"
  echo "images:"
  for k in 1 2 3 4 5 6 7 8; do echo "  - docker://$proxy/fleet/app-$k:1.0"; done
  echo "  - docker://$proxy/fleet/app-404:1.0      # broken: no such image"
} >wishlist.yaml

"$REGISTRY_SCRIPTS/../slurm/start.sh" "$CASE_WORK/slurm" 2 || fail "Slurm did not start: $(tail -n 30 "$CASE_WORK/slurm/log/"* 2>/dev/null)"
export SLURM_CONF=$CASE_WORK/slurm/slurm.conf
cat >job.sh <<EOF
#!/bin/bash
status=0
"$SIFTER" sync --plain-http "$CASE_WORK/wishlist.yaml" --shard "\$SLURM_ARRAY_TASK_ID/\$SLURM_ARRAY_TASK_COUNT" \\
  --report "$CASE_WORK/reports/\$RUN-\$SLURM_ARRAY_TASK_ID.json" || status=\$?
echo \$status >"$CASE_WORK/reports/\$RUN-\$SLURM_ARRAY_TASK_ID.status"
exit \$status
EOF
array() {  # RUN: one job array of 3 tasks, waited for through squeue; prints the tasks' exit statuses
  local job
  job=$(RUN=$1 sbatch --parsable --array=0-2 -o "$CASE_WORK/reports/$1-%a.log" --export=ALL job.sh) || fail "sbatch refused the array"
  job=${job%%;*}
  # Not a timing assertion: a bound, so that a stuck cluster fails the case instead of hanging it.
  for _ in $(seq 1 3000); do
    [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
    sleep 0.2
  done
  [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] || fail "$1: the array did not finish: $(squeue)"
  for task in 0 1 2; do
    [ -f "reports/$1-$task.json" ] && [ -f "reports/$1-$task.status" ] ||
      fail "$1: task $task wrote no report: $(cat "reports/$1-$task.log" 2>/dev/null)"
  done
  cat reports/"$1"-*.status | sort -n | tr '\n' ' '
}
summary() {  # RUN: converted, up to date and failed sources over the tasks' reports
  python3 - "$1" <<'PYEOF'
import glob, json, sys
converted, current, failed, per_task = [], [], [], []
for path in sorted(glob.glob("reports/%s-*.json" % sys.argv[1])):
    r = json.load(open(path))
    converted += [i["source"] for i in r["converted"]]
    current += [i["source"] for i in r["upToDate"]]
    failed += [(i["source"], i["error"]) for i in r["failed"]]
    per_task.append(sorted(i["source"] for k in ("converted", "upToDate", "failed") for i in r[k]))
flat = [s for t in per_task for s in t]
assert len(flat) == len(set(flat)), "shards overlap: %s" % per_task
print(json.dumps({"converted": sorted(converted), "upToDate": sorted(current), "failed": failed, "tasks": per_task}))
PYEOF
}
statuses=$(array first)
# The task with the broken entry exits 69 (a registry: not found); the others 0.
[ "$statuses" = "0 0 69 " ] || fail "first array: task exit statuses $statuses, expected 0 0 69"
summary first >first.json || fail "first array: $(cat reports/first-*.json)"
python3 - first.json "$proxy" <<'EOF' || fail "first array: $(cat first.json)"
import json, sys
r, proxy = json.load(open(sys.argv[1])), sys.argv[2]
wanted = sorted("docker://%s/fleet/app-%d:1.0" % (proxy, k) for k in range(1, 9))
assert r["converted"] == wanted, "not every image converted exactly once: %s" % r["converted"]
assert r["upToDate"] == [], r
assert len(r["failed"]) == 1 and r["failed"][0][0].endswith("/fleet/app-404:1.0") and "not found" in r["failed"][0][1], r["failed"]
assert sum(1 for t in r["tasks"] if t) >= 2, "the work was not spread: %s" % r["tasks"]
EOF
ls shared/sifs/*.sif | wc -l | grep -qx 8 || fail "expected 8 SIFs: $(ls shared/sifs)"
base=$(python3 -c 'import json; print(json.load(open("fleet.json"))["base"])')
[ "$(grep -c "^GET /v2/fleet/app-[0-9]/blobs/$base 200" requests.log)" = 1 ] ||
  fail "the shared base layer was not downloaded exactly once: $(grep -c "$base" requests.log) requests"
for k in 1 2 3 4 5 6 7 8; do "$SIFTER" verify --offline "shared/sifs/app-${k}_1.0.sif" >/dev/null || fail "app-$k's SIF does not verify"; done
"$SIFTER" build --plain-http "docker://$proxy/fleet/app-3:1.0" built.sif >/dev/null
cmp -s built.sif shared/sifs/app-3_1.0.sif || fail "the job array's SIF differs from sifter build's"
stat -c '%n %i %Y' shared/sifs/*.sif >before.txt
echo "first array: $(python3 -c 'import json; print(json.load(open("first.json"))["tasks"])')"

# A second array: nothing to convert, the files untouched, the broken entry reported again.
: >requests.log
statuses=$(array second)
[ "$statuses" = "0 0 69 " ] || fail "second array: task exit statuses $statuses, expected 0 0 69"
summary second >second.json || fail "second array: $(cat reports/second-*.json)"
python3 - second.json <<'EOF' || fail "second array: $(cat second.json)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["converted"] == [] and len(r["upToDate"]) == 8 and len(r["failed"]) == 1, r
EOF
stat -c '%n %i %Y' shared/sifs/*.sif | diff before.txt - || fail "the second array rewrote SIFs"
grep -qE '^GET /v2/fleet/app-[0-9]/blobs/' requests.log && fail "the second array downloaded layers"
ls -A shared/sifs | grep -v '\.sif$' && fail "files left beside the SIFs"
echo "job arrays: 8 images converted exactly once, then nothing; the broken entry failed alone"
