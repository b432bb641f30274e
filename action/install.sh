#!/usr/bin/env bash
# The install step of the sifter GitHub Action (action.yml): puts sifter on PATH.
#   SIFTER_PACKAGE set: a URL or a path of sifter_VERSION_ARCH.deb (integration/package.sh),
#     installed with apt-get (its dependencies come from the distribution; no Swift needed).
#   SIFTER_PACKAGE empty: built from the action's own source with the runner's Swift toolchain
#     (release, into $GITHUB_ACTION_PATH/.build, which action.yml caches), its bin directory
#     appended to $GITHUB_PATH for the steps after this one.
# `install.sh key` instead writes `key=…` to $GITHUB_OUTPUT: a hash of the sources and the
# toolchain, the cache key of that build.
set -euo pipefail
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
apt_get() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get -q "$@"; }

if [ "${1:-}" = key ]; then
  source_root=${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}
  hash=$( (cd "$source_root" && find Sources Package.swift -type f -print0 | sort -z | xargs -0 sha256sum
           swift --version 2>/dev/null || echo "no swift") | sha256sum | cut -c1-20)
  echo "key=$hash" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
  exit 0
fi

if [ -n "${SIFTER_PACKAGE:-}" ]; then
  case $SIFTER_PACKAGE in
    http://* | https://*)
      deb=${RUNNER_TEMP:?RUNNER_TEMP is not set}/sifter-action/$(basename "${SIFTER_PACKAGE%%\?*}")
      case $deb in *.deb) ;; *) deb=$deb.deb ;; esac
      mkdir -p "$(dirname "$deb")"
      curl -fsSL --retry 3 -o "$deb" "$SIFTER_PACKAGE"
      ;;
    *) deb=$(realpath "$SIFTER_PACKAGE") ;;
  esac
  echo "installing $deb"
  # Lists older than the mirror (a fresh runner has none fresh): fetched once, then again.
  apt_get install -y "$deb" || { apt_get update && apt_get install -y "$deb"; }
  sifter --version
  exit 0
fi

command -v swift >/dev/null || {
  echo "::error::no package-url was given and the runner has no Swift toolchain to build sifter with"
  exit 1
}
missing=()
for package in pkg-config libarchive-dev libcurl4-openssl-dev libssl-dev libisal-dev libsqlite3-dev squashfs-tools; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_get update
  apt_get install -y --no-install-recommends "${missing[@]}"
fi
cd "${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
swift build -c release --product sifter
bin=$(swift build -c release --show-bin-path)
echo "$bin" >>"${GITHUB_PATH:?GITHUB_PATH is not set}"
"$bin/sifter" --version
