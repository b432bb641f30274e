# Damaged SIFs are refused with a clear message naming the file, exit status 65, no crash.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
check() {
  local file=$1 expected=$2 status=0
  "$SIFTER" inspect "$file" >out.txt 2>err.txt || status=$?
  [ "$status" -eq 65 ] || fail "$file: exit status $status, expected 65 ($(cat err.txt))"
  grep -q "$expected" err.txt || fail "$file: message '$(cat err.txt)' lacks '$expected'"
  grep -q "$file" err.txt || fail "$file: message does not name the file"
  [ ! -s out.txt ] || fail "$file: printed output for a damaged file"
}
head -c 5000 "$FIXTURES/one-group.sif" >truncated.sif && check truncated.sif "not a complete SIF file"
cp "$FIXTURES/one-group.sif" magic.sif && printf 'X' | dd of=magic.sif bs=1 seek=32 conv=notrunc status=none && check magic.sif "not a SIF file"
cp "$FIXTURES/one-group.sif" version.sif && printf '9' | dd of=version.sif bs=1 seek=43 conv=notrunc status=none && check version.sif "unsupported SIF version"
# Second descriptor's offset (slot 2 at 4096+585, field at +17) moved into the first object.
cp "$FIXTURES/one-group.sif" overlap.sif && printf '\x02\x80' | dd of=overlap.sif bs=1 seek=$((4096 + 585 + 17)) conv=notrunc status=none && check overlap.sif "overlap"
# First partition marked primary too (extra at +201, part type at +4).
cp "$FIXTURES/one-group.sif" primary.sif && printf '\x02' | dd of=primary.sif bs=1 seek=$((4096 + 201 + 4)) conv=notrunc status=none && check primary.sif "more than one primary partition"
# Descriptor count of 2^40.
cp "$FIXTURES/one-group.sif" count.sif && printf '\x00\x00\x00\x00\x00\x01\x00\x00' | dd of=count.sif bs=1 seek=88 conv=notrunc status=none && check count.sif "descriptor count"
status=0; "$SIFTER" inspect /nonexistent.sif 2>err.txt || status=$?
[ "$status" -eq 74 ] && grep -q "No such file" err.txt || fail "missing file: status $status, $(cat err.txt)"
