# Helpers shared by the integration cases (sourced, not run).
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

# Compares sifter's reading of a SIF with the reference implementation's, field by field,
# and sifter's object table with `siftool list`.
same_as_reference() {
  local sif=$1 tag
  tag=$(basename "$sif" .sif)
  "$SIFTER" inspect --json "$sif" >"$CASE_WORK/$tag.sifter.json"
  "$SIFDUMP" "$sif" >"$CASE_WORK/$tag.reference.json"
  python3 "$COMPARE_READERS" "$CASE_WORK/$tag.sifter.json" "$CASE_WORK/$tag.reference.json" ||
    fail "$sif: sifter and the reference reader disagree"
  if [ "$("$SIFTOOL" list "$sif" 2>/dev/null | wc -l)" -gt 0 ]; then
    diff <("$SIFTOOL" list "$sif" | sed -n '/^ID /,$p') <("$SIFTER" inspect "$sif" | sed -n '/^ID /,/^$/p' | sed '/^$/d') ||
      fail "$sif: object table differs from siftool list"
  fi
  echo "same as reference: $sif"
}

# The partition offset of a SIF, from sifter's own JSON.
partition_offset() {
  "$SIFTER" inspect --json "$1" | python3 -c 'import json,sys; print([d for d in json.load(sys.stdin)["descriptors"] if d["type"]=="partition"][0]["offset"])'
}

# Paths Apptainer (and so sifter) adds to every image, left out of tree comparisons.
# Its own files are ignored; the standard directories it creates only when missing may be
# extra, and are compared when the image has them.
APPTAINER_PATHS="--ignore .singularity.d --ignore singularity --ignore environment --ignore .run --ignore .exec
  --ignore .shell --ignore .test --ignore etc/hosts --ignore etc/resolv.conf
  --extra-ok proc --extra-ok sys --extra-ok tmp --extra-ok var --extra-ok var/tmp --extra-ok root --extra-ok home
  --extra-ok dev --extra-ok etc"

# Note for case writers: with pipefail, `cmd | grep -q x` can fail when grep exits at its first
# match and cmd dies of SIGPIPE; match against captured output instead: grep -q x <<<"$(cmd)".

# Starts integration/registry/logging-proxy.py in front of $REGISTRY, logging one
# "METHOD PATH STATUS" line per request to $CASE_WORK/requests.log, and sets $proxy to its
# address. Its pid joins reg/pids, so stopping the registry stops it too.
start_logging_proxy() {
  python3 "$REGISTRY_SCRIPTS/logging-proxy.py" "$REGISTRY" "$CASE_WORK/requests.log" "$CASE_WORK/proxy.port" &
  echo $! >>"$CASE_WORK/reg/pids"
  for _ in $(seq 50); do [ -s "$CASE_WORK/proxy.port" ] && break; sleep 0.1; done
  proxy=127.0.0.1:$(cat "$CASE_WORK/proxy.port")
}

# Starts a real registry (integration/registry/start.sh MODE: none, basic or token) for this
# case in $CASE_WORK/reg, stops it when the case exits, and loads its address and credentials
# ($REGISTRY, $REGISTRY_USER, $REGISTRY_PASSWORD, …) into the environment.
start_registry() {
  trap '"$REGISTRY_SCRIPTS/stop.sh" "$CASE_WORK/reg" >/dev/null 2>&1 || true' EXIT
  "$REGISTRY_SCRIPTS/start.sh" "$1" "$CASE_WORK/reg" >/dev/null
  # shellcheck disable=SC1091
  . "$CASE_WORK/reg/env"
}

# Validates SBOM documents (FILE.json…) with PyPI's spdx-tools and cyclonedx-python-lib
# (integration/validate-sbom.py, in the virtual environment install-deps.sh makes); says SKIP
# when they are not installed.
validate_sbom() {
  local python=${SIFTER_TEST_CACHE:-/var/cache/sifter-tests}/sbom-validators/bin/python3 status=0
  if [ ! -x "$python" ]; then echo "SKIP: SBOM validators not installed ($python)"; return 0; fi
  "$python" "$(dirname "$COMPARE_READERS")/validate-sbom.py" "$@" || status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 3 ] || fail "SBOM validation failed: $*"
}
