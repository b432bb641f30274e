#!/usr/bin/env bash
# Installs the Debian 12 packages sifter builds, runs and tests with, when any is missing.
# Needs root (or sudo). The Swift toolchain itself is not a Debian package: see README.
set -euo pipefail
packages=(
  pkg-config libarchive-dev libcurl4-openssl-dev libssl-dev   # C libraries sifter links
  libisal-dev zlib1g-dev                                       # ISA-L igzip (gzip inflate); zlib (root time patch)
  squashfs-tools                                               # mksquashfs / unsquashfs
  golang-go golang-github-sylabs-sif-dev                       # the SIF reference implementation (oracle)
  docker-registry skopeo umoci apache2-utils                   # real registry and image tools for tests
  attr libcap2-bin zstd python3 ca-certificates busybox-static util-linux debootstrap curl
  dpkg-dev binutils python3-yaml tmux bsdutils                 # the package (dpkg-shlibdeps), the action's YAML, a terminal for progress
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
