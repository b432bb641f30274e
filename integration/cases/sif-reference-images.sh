# Every golden SIF of the reference implementation reads the same in sifter as in the reference.
source "$(dirname "$0")/../lib.sh"
count=0
for sif in "$FIXTURES"/*.sif; do
  same_as_reference "$sif"
  count=$((count + 1))
done
[ "$count" -ge 17 ] || fail "expected 17 reference images, found $count"
