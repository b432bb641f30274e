#!/usr/bin/env bash
# The convert step of the sifter GitHub Action (action.yml): `sifter convert` with the action's
# inputs, which arrive in the environment (never written into a script, so no input can run
# code). sifter itself writes the outputs digest, ref and tags to $GITHUB_OUTPUT and the job
# summary (with the `apptainer pull oras://…@sha256:…` line) to $GITHUB_STEP_SUMMARY; this
# script adds sif-path, the SIF it built (empty when the destination was up to date).
# Credentials: SIFTER_USERNAME/SIFTER_PASSWORD go to the destination's registry only,
# SIFTER_SOURCE_USERNAME/SIFTER_SOURCE_PASSWORD to the source's; without them, docker's config
# (docker/login-action) is used. Nothing here prints them.
set -euo pipefail
source=${SIFTER_SOURCE:?the source input is required}
destination=${SIFTER_DESTINATION:?the destination input is required}
output=${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}
scratch=${RUNNER_TEMP:?RUNNER_TEMP is not set}/sifter-action

args=()
# One platform keeps its SIF for later steps; several (a list, or "all") push one index of SIFs
# and keep none.
keep=yes
case ${SIFTER_PLATFORM:-} in
  "") ;;
  all) args+=(--all-platforms); keep=no ;;
  *,*) args+=(--platform "$SIFTER_PLATFORM"); keep=no ;;
  *) args+=(--platform "$SIFTER_PLATFORM") ;;
esac
[ -z "${SIFTER_COMPRESSION:-}" ] || args+=(--compression "$SIFTER_COMPRESSION")
[ -z "${SIFTER_SEMVER:-}" ] || args+=(--semver "$SIFTER_SEMVER")
while read -r tag; do
  [ -z "$tag" ] || args+=(--tag "$tag")
done < <(printf '%s\n' "${SIFTER_TAGS:-}" | tr ', ' '\n\n')
while IFS= read -r annotation; do
  [ -z "$annotation" ] || args+=(--annotation "$annotation")
done <<<"${SIFTER_ANNOTATIONS:-}"
[ "${SIFTER_PLAIN_HTTP:-false}" != true ] || args+=(--plain-http)
[ "${SIFTER_FORCE:-false}" != true ] || args+=(--force)
[ -z "${SIFTER_SOURCE_USERNAME:-}" ] || args+=(--source-username "$SIFTER_SOURCE_USERNAME")
[ -n "${SIFTER_USERNAME:-}" ] || unset SIFTER_USERNAME SIFTER_PASSWORD
if [ -n "${SIFTER_CACHE_DIR:-}" ]; then mkdir -p "$SIFTER_CACHE_DIR"; else unset SIFTER_CACHE_DIR; fi

# The SIF is kept for later steps (upload-artifact, tests): REPOSITORY.sif in the runner's temp.
repository=${destination#oras://}
repository=${repository%%@*}
name=${repository##*/}
name=${name%%:*}
mkdir -p "$scratch"
sif=$scratch/$name.sif
rm -f "$sif"

[ "$keep" = no ] || args+=(--output "$sif")
sifter convert "${args[@]}" "$source" "$destination"
if [ -f "$sif" ]; then
  echo "sif-path=$sif" >>"$output"
else
  echo "sif-path=" >>"$output"
fi
