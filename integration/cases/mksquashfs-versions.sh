# The mksquashfs versions users have: 4.5.1 (Debian 12, this host), 4.6.1 (Debian 13, Ubuntu
# 24.04) and 4.7.5 (Debian sid, the one Apptainer 1.5 bundles). Each runs from a minimal
# Debian root with that squashfs-tools (debootstrap, kept in a cache outside the clone), through
# its own dynamic loader, as --mksquashfs. For each: the tree equals umoci's, long and
# non-ASCII symlink targets arrive whole, two builds are identical, and a build as nobody gives
# the same bytes as root's — with user namespaces, and without them (the host refuses them, as
# Ubuntu 24.04 does): there 4.6 and later need none, and 4.5.1, which cannot give the root its
# owner without one, fails with a clear error instead of writing another tree.
# A version whose root cannot be made (no Debian mirror) is skipped with a printed SKIP.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
cache=${SIFTER_TEST_CACHE:-/var/cache/sifter-tests}
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}

"$IMAGES/make-layered.sh" layout t1 >/dev/null
# One more layer: symlinks whose targets do not fit the ustar field.
python3 - <<'PY'
import tarfile
targets = {"long-absolute": "/" + "a" * 150 + "/target", "long-relative": "../" * 40 + "x",
           "unicode": "/ünïcödé/t", "short": "/usr/lib"}
with tarfile.open("links.tar", "w", format=tarfile.PAX_FORMAT) as tar:
    for name, target in sorted(targets.items()):
        info = tarfile.TarInfo("links/" + name)
        info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, 1704164645
        tar.addfile(info)
PY
umoci raw add-layer --image layout:t1 links.tar >/dev/null
umoci config --image layout:t1 --created 2024-01-02T03:04:05Z >/dev/null
chmod -R a+rX layout
umoci unpack --image layout:t1 bundle >/dev/null

# A refusing unshare first on PATH (the probe sifter makes), and a real refusal: a user
# namespace in which no further one may be made (user.max_user_namespaces = 0 there).
mkdir -m 755 nouserns-bin
printf '#!/bin/sh\necho "unshare: unshare failed: Operation not permitted" >&2\nexit 1\n' >nouserns-bin/unshare
chmod 755 nouserns-bin/unshare
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp "$@"; }

# mksquashfs_for SUITE: a wrapper running SUITE's mksquashfs, made once; empty when it cannot be.
mksquashfs_for() {
  local suite=$1 root=$cache/squashfs-$1
  if [ ! -x "$root/usr/bin/mksquashfs" ]; then
    if ! command -v debootstrap >/dev/null || ! timeout 15 curl -sfI "$mirror/dists/$suite/Release" >/dev/null; then
      return 0
    fi
    mkdir -p "$cache"
    rm -rf "$root.tmp"
    debootstrap --variant=minbase --include=squashfs-tools "$suite" "$root.tmp" "$mirror" >"debootstrap-$suite.log" 2>&1 ||
      { tail -20 "debootstrap-$suite.log"; fail "debootstrap $suite failed"; }
    mv "$root.tmp" "$root"
  fi
  local loader
  loader=$(ls "$root"/lib64/ld-linux-*.so.* "$root"/lib/ld-linux-*.so.* 2>/dev/null | head -1)
  [ -n "$loader" ] || return 0
  printf '#!/bin/sh\nexec %s --library-path %s %s "$@"\n' "$loader" \
    "$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu:$root/lib/aarch64-linux-gnu:$root/usr/lib/aarch64-linux-gnu" \
    "$root/usr/bin/mksquashfs" >"mksquashfs-$suite"
  chmod 755 "mksquashfs-$suite"
  echo "$CASE_WORK/mksquashfs-$suite"
}

tested=0
for spec in host:4.5 trixie:4.6 sid:4.7; do
  suite=${spec%%:*} want=${spec#*:}
  if [ "$suite" = host ]; then
    squash=$(command -v mksquashfs)
  else
    squash=$(mksquashfs_for "$suite")
    [ -n "$squash" ] || { echo "SKIP $suite: no root with its squashfs-tools (Debian mirror unreachable)"; continue; }
  fi
  version=$("$squash" -version | head -1 | awk '{print $3}')
  case $version in "$want"*) ;; *) fail "$suite: mksquashfs $version, expected $want" ;; esac
  out=out-$suite
  mkdir -m 777 "$out"

  "$SIFTER" build --mksquashfs "$squash" oci:layout:t1 "$out/root.sif"
  "$SIFTER" build --mksquashfs "$squash" oci:layout:t1 "$out/again.sif"
  cmp "$out/root.sif" "$out/again.sif" || fail "$version: two builds differ"
  rm -rf "$out/tree"
  unsquashfs -q -d "$out/tree" -o "$(partition_offset "$out/root.sif")" "$out/root.sif" >/dev/null
  python3 "$COMPARE_TREES" bundle/rootfs "$out/tree" $APPTAINER_PATHS || fail "$version: tree differs from umoci's"
  for link in long-absolute long-relative unicode short; do
    [ "$(readlink "$out/tree/links/$link")" = "$(readlink "bundle/rootfs/links/$link")" ] ||
      fail "$version: links/$link -> $(readlink "$out/tree/links/$link")"
  done
  python3 -c 'import json,sys; assert json.load(sys.stdin)["mksquashfsVersion"] == sys.argv[1]' "$version" \
    <<<"$("$SIFTOOL" dump 6 "$out/root.sif")" || fail "$version: provenance does not record the version"

  as_nobody "$SIFTER" build --mksquashfs "$squash" oci:layout:t1 "$out/nobody.sif"
  cmp "$out/root.sif" "$out/nobody.sif" || fail "$version: nobody's build differs from root's"

  for refusal in path jail; do
    status=0
    if [ "$refusal" = path ]; then
      as_nobody env PATH="$CASE_WORK/nouserns-bin:$PATH" "$SIFTER" build --mksquashfs "$squash" oci:layout:t1 \
        "$out/nouserns-$refusal.sif" 2>"$out/$refusal.err" || status=$?
    else
      python3 "$(dirname "$IMAGES")/userns-jail.py" setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp \
        "$SIFTER" build --mksquashfs "$squash" oci:layout:t1 "$out/nouserns-$refusal.sif" 2>"$out/$refusal.err" || status=$?
    fi
    case $version in
      4.5*)
        [ "$status" = 74 ] || fail "$version without user namespaces ($refusal): exit $status: $(cat "$out/$refusal.err")"
        grep -q "user namespaces are not available" "$out/$refusal.err" || fail "$version ($refusal): $(cat "$out/$refusal.err")"
        grep -q "squashfs-tools 4.6 or later" "$out/$refusal.err" || fail "$version ($refusal): no way out named"
        [ ! -e "$out/nouserns-$refusal.sif" ] || fail "$version ($refusal): a SIF was written"
        ;;
      *)
        [ "$status" = 0 ] || fail "$version without user namespaces ($refusal): exit $status: $(cat "$out/$refusal.err")"
        cmp "$out/root.sif" "$out/nouserns-$refusal.sif" || fail "$version ($refusal): differs from root's build"
        ;;
    esac
  done
  echo "mksquashfs $version: tree equals umoci's, reproducible, same bytes as nobody and without user namespaces where it can be"
  tested=$((tested + 1))
done
[ "$tested" -gt 0 ] || fail "no mksquashfs version could be tested"
