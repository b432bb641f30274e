# Owners and device numbers squashfs cannot hold (ids of 32 bits and more, majors over 12 bits,
# minors over 20) are refused, naming the entry: before, gid 2^32 became 0 (the root group)
# and device 4096:0 became 0:256, with exit status 0. The largest it can hold survive.
source "$(dirname "$0")/../lib.sh"
source "$IMAGES/harden-lib.sh"
cd "$CASE_WORK"
harden_images ids-uid ids-gid dev-major dev-minor ids-ok

expect_refused ids-uid "entry \"big-uid\"" "uid 4294967296 cannot be stored"
expect_refused ids-gid "entry \"big-gid\"" "gid 4294967296 cannot be stored"
expect_refused dev-major "entry \"dev/big-major\"" "device 4096:0 cannot be stored"
expect_refused dev-minor "entry \"dev/big-minor\"" "device 1:1048576 cannot be stored"

build_twice ids-ok
for sif in ids-ok.sif ids-ok-again.sif; do
  grep -qE '^-rw-r--r-- 4294967295/4294967295 .* squashfs-root/max-ids$' <<<"$(listing "$sif")" ||
    fail "$sif: the largest ids changed: $(listing "$sif")"
  # As root, unsquashfs creates the node with the numbers the kernel would see.
  rm -rf tree && unsquashfs -q -d tree -o "$(partition_offset "$sif")" "$sif" dev/max >/dev/null
  [ "$(stat -c '%t:%T' tree/dev/max)" = "fff:fffff" ] || fail "$sif: device is $(stat -c '%t:%T' tree/dev/max)"
done
echo "ids and devices over the limits refused, the largest kept"
