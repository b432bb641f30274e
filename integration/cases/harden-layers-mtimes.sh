# Times squashfs cannot hold (before 1970, after 2106-02-07 06:28:15) are clamped to the nearest
# it can, with a warning; times it can hold, 2038 and later included, are kept to the second.
# mksquashfs before 4.6 stamps the root with the clock when the tree has times in the future:
# sifter says so (the SIF is then not reproducible), it does not hide it. Before, such a layer ended in mksquashfs's "Failed to parse pax header" (4.5.1 cannot
# read a pax time without a fraction, which libarchive writes for times from 2^31 - 1 on).
source "$(dirname "$0")/../lib.sh"
source "$IMAGES/harden-lib.sh"
cd "$CASE_WORK"
harden_images mtimes

"$SIFTER" build oci:layout:mtimes mtimes.sif 2>mtimes.err
grep -q "warning: .*mtime" mtimes.err || fail "no warning about clamped times: $(cat mtimes.err)"
if grep -q "version 4\.5" <<<"$(mksquashfs -version)"; then
  grep -q "warning: the image has times in the future" mtimes.err || fail "no warning about the root's time: $(cat mtimes.err)"
fi
for sif in mtimes.sif; do
  rm -rf tree && unsquashfs -q -d tree -o "$(partition_offset "$sif")" "$sif" >/dev/null
  for expected in t-negative:0 t-very-negative:0 t-2038:2147483648 t-max:4294967295 t-over:4294967295 \
                  t-far:4294967295; do
    name=${expected%%:*} time=${expected#*:}
    [ "$(stat -c %Y "tree/$name")" = "$time" ] || fail "$sif: $name has time $(stat -c %Y "tree/$name"), not $time"
  done
done
echo "times clamped into squashfs's range, the rest kept"
