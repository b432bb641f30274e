#!/usr/bin/env bash
# Installs the Debian 12 packages sifter builds, runs and tests with, when any is missing.
# Needs root (or sudo). The Swift toolchain itself is not a Debian package: see README.
set -euo pipefail
packages=(
  pkg-config libarchive-dev libcurl4-openssl-dev libssl-dev   # C libraries sifter links
  libisal-dev zlib1g-dev                                       # ISA-L igzip (gzip inflate); zlib (root time patch)
  squashfs-tools                                               # mksquashfs / unsquashfs
  golang-go golang-github-sylabs-sif-dev                       # the SIF reference implementation (oracle)
  golang-github-protonmail-go-crypto-dev gnupg                 # its OpenPGP library; GnuPG (signature oracles)
  docker-registry skopeo umoci apache2-utils                   # real registry and image tools for tests
  tinyproxy-bin                                                # a real HTTP proxy for the proxy tests (no service)
  attr libcap2-bin zstd python3 ca-certificates busybox-static util-linux debootstrap curl
  libsqlite3-dev                                               # SQLite (sifter reads rpm's rpmdb.sqlite)
  rpm python3-venv                                             # SBOM tests: rpm writes an rpmdb.sqlite; the validators' venv
  node-spdx-license-ids node-spdx-exceptions                   # SPDX's license list (embed-spdx-licenses.py --check)
  slurm-wlm munge                                              # a one-node Slurm for the sync job-array case
  dpkg-dev binutils python3-yaml tmux bsdutils                 # the package (dpkg-shlibdeps), the action's YAML, a terminal for progress
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The SBOM tests' oracles, from PyPI (Debian packages neither): spdx-tools and
# cyclonedx-python-lib, pinned, in a virtual environment outside the clone. Without PyPI the
# SBOM checks say SKIP.
validators=${SIFTER_TEST_CACHE:-/var/cache/sifter-tests}/sbom-validators
if ! "$validators/bin/python3" -c 'import spdx_tools, cyclonedx, jsonschema, packageurl' 2>/dev/null; then
  echo "install-deps: installing the SBOM validators into $validators" >&2
  $sudo rm -rf "$validators"
  if ! { $sudo python3 -m venv "$validators" &&
         $sudo "$validators/bin/python3" -m pip install -q spdx-tools==0.8.5 cyclonedx-python-lib==11.12.0 jsonschema==4.26.0; }; then
    $sudo rm -rf "$validators"
    echo "install-deps: the SBOM validators could not be installed (is PyPI reachable?); SBOM validation will say SKIP" >&2
  fi
fi
