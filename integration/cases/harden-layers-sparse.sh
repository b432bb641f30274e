# Sparse files stay sparse: the stream carries their data regions only (a 1 TiB file in a
# 1.5 KB layer used to be pumped as zeros for a quarter of an hour), on 512-byte blocks so that
# mksquashfs stores the exact bytes: holes and data at unaligned offsets, a hole at each end.
source "$(dirname "$0")/../lib.sh"
source "$IMAGES/harden-lib.sh"
cd "$CASE_WORK"
harden_images sparse sparse-huge
expected=$(python3 -c '
import hashlib, sys
sys.path.insert(0, sys.argv[1])
import harden
content = bytearray(harden.SPARSE_SIZE)
for offset, data in harden.SPARSE_REGIONS:
    content[offset:offset + len(data)] = data
print(hashlib.sha256(content).hexdigest())' "$IMAGES")

# The stream holds the data, not the holes (the file is 3 MiB, its data 35 KB).
"$SIFTER" export oci:layout:sparse sparse-stream.tar
[ "$(stat -c %s sparse-stream.tar)" -lt 262144 ] || fail "holes written: the stream is $(stat -c %s sparse-stream.tar) bytes"
build_twice sparse
for sif in sparse.sif sparse-again.sif; do
  offset=$(partition_offset "$sif")
  [ "$(unsquashfs -cat -o "$offset" "$sif" data/sparse | sha256sum | cut -d' ' -f1)" = "$expected" ] ||
    fail "$sif: data/sparse differs from the layer's"
  [ "$(unsquashfs -cat -o "$offset" "$sif" data/after)" = "after the sparse file" ] || fail "$sif: data/after"
done

# 1 TiB with three small regions: a stream of a few KiB; mksquashfs itself still visits every
# block (larger blocks, fewer visits), and lists the full size.
"$SIFTER" export oci:layout:sparse-huge huge-stream.tar
[ "$(stat -c %s huge-stream.tar)" -lt 65536 ] || fail "holes written: the stream is $(stat -c %s huge-stream.tar) bytes"
"$SIFTER" build --block-size 1048576 oci:layout:sparse-huge huge.sif >/dev/null
grep -qE '^-rw-r--r-- 0/0 +1099511627776 .* squashfs-root/huge$' <<<"$(listing huge.sif)" ||
  fail "huge: $(listing huge.sif | grep huge)"
echo "sparse files stay sparse and exact"
