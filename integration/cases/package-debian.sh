# The Debian package on the real thing. integration/package.sh builds sifter_VERSION_ARCH.deb
# (a release build with the Swift runtime linked statically; kept outside the clone, keyed by a
# hash of the sources, so an unchanged tree is not built again). Its Depends are exactly the
# packages holding the libraries the binary names (objdump -p, dpkg -S), plus squashfs-tools.
# Then, in minimal Debian 12 and 13 roots made with debootstrap from Debian's mirror (made once,
# kept outside the clone; no Swift, no -dev package), each used through an overlay so the root
# stays as made: `apt-get install ./sifter_….deb`, and there sifter builds the demo image from
# a registry (token auth) on the host's loopback, inspects it, verifies it against the registry
# and pushes it; the SIF equals the one the host's sifter writes with the same mksquashfs, and
# the pushed artifact pulls back to the same bytes. A root that cannot be made (no Debian
# mirror) is skipped with a printed SKIP.
source "$(dirname "$0")/../lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$CASE_WORK"
cache=${SIFTER_TEST_CACHE:-/var/cache/sifter-tests}
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, mounts)"

# The package, built once per source tree and toolchain.
key=$( (cd "$repo" && find Sources Package.swift integration/package.sh -type f -print0 | sort -z | xargs -0 sha256sum
        swift --version 2>/dev/null) | sha256sum | cut -c1-16)
built=$cache/package-build/$key
if [ ! -f "$built/done" ]; then
  rm -rf "$built.tmp" && mkdir -p "$built.tmp"
  start=$(date +%s)
  "$repo/integration/package.sh" "$built.tmp" >package.log 2>&1 || { tail -30 package.log; fail "package.sh failed"; }
  echo "package built in $(($(date +%s) - start)) s (release build, static Swift runtime)"
  touch "$built.tmp/done" && rm -rf "$built" && mv "$built.tmp" "$built"
  # Packages of older trees are of no more use.
  find "$cache/package-build" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -mmin +60 -exec rm -rf {} +
else
  echo "package of this source tree already built: $built"
fi
deb=$(echo "$built"/sifter_*.deb)
[ -f "$deb" ] || fail "no package in $built"
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"

# What it holds, and the version from its one place.
dpkg-deb -c "$deb" | awk '{print $6}' >contents.txt
for path in ./usr/bin/sifter ./usr/share/man/man1/sifter.1.gz ./usr/share/doc/sifter/copyright \
  ./usr/share/bash-completion/completions/sifter ./usr/share/zsh/vendor-completions/_sifter \
  ./usr/share/fish/vendor_completions.d/sifter.fish; do
  grep -qxF "$path" contents.txt || fail "the package lacks $path"
done
dpkg-deb -x "$deb" unpacked
version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' "$repo/Sources/SifterCore/SifterVersion.swift")
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] && [ "$(unpacked/usr/bin/sifter --version)" = "$version" ] ||
  fail "versions differ: control $(dpkg-deb -f "$deb" Version), binary $(unpacked/usr/bin/sifter --version), source $version"
[ "$(basename "$deb")" = "sifter_${version}_$(dpkg --print-architecture).deb" ] || fail "package named $(basename "$deb")"
zcat unpacked/usr/share/man/man1/sifter.1.gz >sifter.1
for command in build convert push pull verify inspect; do
  grep -q "^\.It Em $command\$" sifter.1 || fail "the manual page does not describe $command"
done
bash -n unpacked/usr/share/bash-completion/completions/sifter || fail "the bash completion does not parse"
grep -q "convert" unpacked/usr/share/bash-completion/completions/sifter || fail "the bash completion lacks convert"

# Depends: exactly the packages that hold the libraries the binary names, and squashfs-tools.
objdump -p unpacked/usr/bin/sifter >objdump.txt
grep -qE 'NEEDED +libswift|NEEDED +libFoundation|NEEDED +lib_Foundation' objdump.txt && fail "the Swift runtime is linked dynamically"
grep -qE 'R(UN)?PATH' objdump.txt && fail "the binary has a run path: $(grep -E 'R(UN)?PATH' objdump.txt)"
awk '/NEEDED/ {print $2}' objdump.txt | sort >needed.txt
dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' | sort >depends.txt
echo "Depends: $(dpkg-deb -f "$deb" Depends)"
echo "NEEDED: $(tr '\n' ' ' <needed.txt)"
# owners ROOT: the packages owning the binary's NEEDED libraries as ROOT's loader finds them,
# with the names they provide (Debian 13's t64 libraries provide their old names).
owners() {
  local root=$1 lib path package
  chroot "$root" /sbin/ldconfig -p >ldconfig.txt
  while read -r lib; do
    path=$(awk -v lib="$lib" '$1 == lib && /x86-64|AArch64/ {print $NF; exit}' ldconfig.txt)
    [ -n "$path" ] || path=$(awk -v lib="$lib" '$1 == lib {print $NF; exit}' ldconfig.txt)
    [ -n "$path" ] || { echo "MISSING:$lib"; continue; }
    # Debian 12 lists some libraries under /lib, Debian 13 under /usr/lib: the path as found, then resolved.
    package=$(chroot "$root" dpkg -S "$path" 2>/dev/null | sed -n '1s/:.*//p' || true)
    [ -n "$package" ] || package=$(chroot "$root" dpkg -S "$(chroot "$root" readlink -f "$path")" 2>/dev/null | sed -n '1s/:.*//p' || true)
    [ -n "$package" ] || { echo "UNOWNED:$path"; continue; }
    echo "$package $(chroot "$root" dpkg-query -W -f '${Provides}' "$package" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | tr '\n' ' ')"
  done <needed.txt
}
# check_depends ROOT: every library's owner (or a name it provides) is in Depends, and every
# Depends entry but squashfs-tools owns one of the libraries.
check_depends() {
  local root=$1 where=$2
  owners "$root" >"owners-$where.txt"
  grep -qE '^(MISSING|UNOWNED):' "owners-$where.txt" && fail "$where: libraries not found or of no package: $(grep -E '^(MISSING|UNOWNED):' "owners-$where.txt")"
  local line hit dep
  while read -r line; do
    hit=""
    for name in $line; do grep -qxF "$name" depends.txt && hit=$name; done
    [ -n "$hit" ] || fail "$where: $line owns a library the binary needs but is not in Depends"
  done <"owners-$where.txt"
  while read -r dep; do
    [ "$dep" = squashfs-tools ] && continue
    grep -qwF -- "$dep" "owners-$where.txt" || fail "$where: Depends names $dep, which holds none of the libraries the binary needs"
  done <depends.txt
  grep -qxF squashfs-tools depends.txt || fail "Depends lacks squashfs-tools"
  echo "$where: Depends matches the binary's libraries ($(cut -d' ' -f1 "owners-$where.txt" | sort -u | tr '\n' ' '))"
}
check_depends / host

# The demo image in a registry on the host's loopback.
start_registry token
"$IMAGES/make-layered.sh" layout demo >/dev/null
skopeo copy -q --dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" oci:layout:demo "docker://$REGISTRY/sifter/demo:1.0"
export SIFTER_USERNAME=$REGISTRY_USER SIFTER_PASSWORD=$REGISTRY_PASSWORD

# A minimal root of SUITE (debootstrap minbase, its package lists fetched), made once.
make_root() {
  local suite=$1 base=$cache/package-root-$1
  [ -x "$base/usr/bin/apt-get" ] && [ -f "$base/.sifter-root-done" ] && return 0
  timeout 15 curl -sfI "$mirror/dists/$suite/Release" >/dev/null || return 1
  mkdir -p "$cache"
  rm -rf "$base.tmp"
  debootstrap --variant=minbase "$suite" "$base.tmp" "$mirror" >"debootstrap-$suite.log" 2>&1 ||
    { tail -20 "debootstrap-$suite.log"; fail "debootstrap $suite failed"; }
  chroot "$base.tmp" apt-get update -q >>"debootstrap-$suite.log" 2>&1 || fail "apt-get update in the $suite root failed"
  chroot "$base.tmp" apt-get clean
  touch "$base.tmp/.sifter-root-done"
  mv "$base.tmp" "$base"
}

mounted=()
unmount_all() {
  local index
  for ((index = ${#mounted[@]} - 1; index >= 0; index--)); do umount "${mounted[index]}" 2>/dev/null || umount -l "${mounted[index]}" || true; done
  mounted=()
}
cleanup() {
  unmount_all
  "$REGISTRY_SCRIPTS/stop.sh" "$CASE_WORK/reg" >/dev/null 2>&1 || true
}
trap cleanup EXIT
mount_at() { mount "$@" && mounted+=("${!#}"); }
in_root() { chroot "$merged" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  SIFTER_USERNAME="$SIFTER_USERNAME" SIFTER_PASSWORD="$SIFTER_PASSWORD" DEBIAN_FRONTEND=noninteractive "$@"; }

tested=0
for suite in bookworm trixie; do
  base=$cache/package-root-$suite
  if ! make_root "$suite"; then echo "SKIP $suite: no root (Debian mirror unreachable)"; continue; fi
  # As made: no Swift toolchain, no -dev package.
  [ -z "$(find "$base" -xdev \( -name 'libswiftCore*' -o -name swift -o -name 'libFoundation.so*' \) -print -quit)" ] ||
    fail "$suite root holds Swift"
  devs=$(chroot "$base" dpkg-query -W -f '${Package}\n' | grep -- '-dev$' || true)
  [ -z "$devs" ] || fail "$suite root holds -dev packages: $devs"

  merged=$CASE_WORK/$suite/root
  mkdir -p "$CASE_WORK/$suite/upper" "$CASE_WORK/$suite/work" "$merged" "$cache/package-apt-$suite"
  mount_at -t overlay overlay -o "lowerdir=$base,upperdir=$CASE_WORK/$suite/upper,workdir=$CASE_WORK/$suite/work" "$merged"
  mount_at -t proc proc "$merged/proc"
  mount_at --bind /dev "$merged/dev"
  # Downloaded packages are kept for the next run.
  mount_at --bind "$cache/package-apt-$suite" "$merged/var/cache/apt/archives"
  cp /etc/resolv.conf "$merged/etc/resolv.conf"
  cp "$deb" "$merged/tmp/"
  # Installed as the GitHub Action installs a given package (action/install.sh: apt-get install ./….deb).
  cp "$repo/action/install.sh" "$merged/tmp/sifter-action-install.sh"
  start=$(date +%s)
  if ! in_root RUNNER_TEMP=/tmp SIFTER_PACKAGE="/tmp/$(basename "$deb")" bash /tmp/sifter-action-install.sh >"install-$suite.log" 2>&1; then
    if ! timeout 15 curl -sfI "$mirror/dists/$suite/Release" >/dev/null; then
      echo "SKIP $suite: apt cannot reach the mirror for the dependencies"
      unmount_all
      continue
    fi
    tail -30 "install-$suite.log"
    fail "$suite: apt-get install ./$(basename "$deb") failed"
  fi
  grep -q "^Unpacking sifter " "install-$suite.log" || fail "$suite: apt did not install the package: $(tail "install-$suite.log")"
  echo "$suite: installed in $(($(date +%s) - start)) s: $(grep -c '^Setting up' "install-$suite.log") packages set up"
  [ "$(in_root sifter --version)" = "$version" ] || fail "$suite: sifter --version says $(in_root sifter --version)"
  [ -z "$(find "$merged" -xdev \( -name 'libswiftCore*' -o -name 'libFoundation.so*' \) -print -quit)" ] || fail "$suite: Swift came with the package"
  in_root ldd /usr/bin/sifter >"ldd-$suite.txt"
  grep -q "not found" "ldd-$suite.txt" && fail "$suite: $(grep 'not found' "ldd-$suite.txt")"
  check_depends "$merged" "$suite"

  # Build, inspect, verify against the registry, push: inside the root, as a user would.
  in_root sifter build --plain-http "docker://$REGISTRY/sifter/demo:1.0" /root/demo.sif >"build-$suite.out" 2>"build-$suite.err" ||
    fail "$suite: sifter build failed: $(cat "build-$suite.err")"
  in_root sifter inspect /root/demo.sif >"inspect-$suite.txt" || fail "$suite: sifter inspect failed"
  grep -q "FS (Squashfs" "inspect-$suite.txt" || fail "$suite: inspect shows no squashfs partition"
  in_root sifter verify --plain-http /root/demo.sif >"verify-$suite.txt" 2>&1 || fail "$suite: sifter verify: $(cat "verify-$suite.txt")"
  in_root sifter push --plain-http /root/demo.sif "oras://$REGISTRY/sifter/demo-sif:$suite" >"push-$suite.txt" 2>&1 ||
    fail "$suite: sifter push: $(cat "push-$suite.txt")"
  grep -qF "$SIFTER_PASSWORD" "build-$suite.out" "build-$suite.err" "verify-$suite.txt" "push-$suite.txt" && fail "$suite: the password was printed"

  # The host's sifter with the root's mksquashfs (through the root's own loader) writes the same file.
  loader=$(find "$merged/lib64/" "$merged/lib/" -maxdepth 1 -name 'ld-linux-*.so.*' 2>/dev/null | head -1 || true)
  [ -n "$loader" ] || fail "$suite: no dynamic loader in the root"
  mkdir -p "wrap-$suite"
  printf '#!/bin/sh\nexec %s --library-path %s %s "$@"\n' "$loader" \
    "$merged/lib/x86_64-linux-gnu:$merged/usr/lib/x86_64-linux-gnu:$merged/lib/aarch64-linux-gnu:$merged/usr/lib/aarch64-linux-gnu" \
    "$merged/usr/bin/mksquashfs" >"wrap-$suite/mksquashfs"
  chmod 755 "wrap-$suite/mksquashfs"
  PATH=$CASE_WORK/wrap-$suite:$PATH "$SIFTER" build --plain-http "docker://$REGISTRY/sifter/demo:1.0" "host-$suite.sif" >/dev/null 2>&1 ||
    fail "$suite: the host build failed"
  cmp "$merged/root/demo.sif" "host-$suite.sif" || fail "$suite: the packaged sifter's SIF differs from the host's"
  "$SIFTER" pull --plain-http "oras://$REGISTRY/sifter/demo-sif:$suite" "pulled-$suite.sif" >/dev/null 2>&1 || fail "$suite: pull failed"
  cmp "pulled-$suite.sif" "host-$suite.sif" || fail "$suite: the pushed SIF differs"
  echo "$suite: $(in_root mksquashfs -version | head -1); build, inspect, verify, push in the root; same SIF as the host's"
  unmount_all
  tested=$((tested + 1))
done
echo "package: installed and converted in $tested Debian roots"
