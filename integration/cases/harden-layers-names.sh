# Names squashfs would cut (a component over 255 bytes, plain, as a GNU long name or in a hard
# link target) and symlink targets no kernel accepts (4096 bytes and more) are refused, naming
# the image, the layer and the entry; the largest allowed ones survive intact.
source "$(dirname "$0")/../lib.sh"
source "$IMAGES/harden-lib.sh"
cd "$CASE_WORK"
harden_images names-long names-gnu-longname names-gnu-longlink names-symlink names-ok
long=$(printf 'a%.0s' $(seq 256))

# Two names sharing their first 256 bytes gave a corrupt directory and exit status 0.
expect_refused names-long "entry \"d/${long}X\"" "a path component is 257 bytes long" "limited to 255 bytes"
expect_refused names-gnu-longname "entry \"g/$(printf 'b%.0s' $(seq 300))\"" "a path component is 300 bytes long"
expect_refused names-gnu-longlink "entry \"h\"" "x/$long\" has a component of 256 bytes"
expect_refused names-symlink "entry \"s\"" "its symlink target is 4096 bytes long"

build_twice names-ok
name=$(printf 'n%.0s' $(seq 255))
target="$(printf 'x/%.0s' $(seq 1896))$(printf 'c%.0s' $(seq 300))/y"
for sif in names-ok.sif names-ok-again.sif; do
  out=$(listing "$sif")
  grep -qF " squashfs-root/$name" <<<"$out" || fail "$sif: the 255-byte name is missing: $out"
  grep -qF " squashfs-root/s -> $target" <<<"$out" || fail "$sif: the 4094-byte symlink target changed"
  [ "$(unsquashfs -cat -o "$(partition_offset "$sif")" "$sif" "$name")" = max ] || fail "$sif: content of the long name"
done
echo "names over the limits refused, names at the limits kept"
