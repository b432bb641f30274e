# A layer tar libarchive would read only by skipping damage (a header with a bad checksum,
# bytes that are no header, a malformed pax record) or by cutting a pax name at a NUL byte is
# refused, naming the image, the layer and the last good entry (or the entry itself): before,
# the member behind the damage appeared, or vanished, with exit status 0 and every digest right.
source "$(dirname "$0")/../lib.sh"
source "$IMAGES/harden-lib.sh"
cd "$CASE_WORK"
harden_images damaged-junk damaged-checksum pax-malformed pax-nul-path pax-nul-linkpath

expect_refused damaged-junk "after entry \"first\"" "Damaged tar archive"
expect_refused damaged-checksum "after entry \"first\"" "Damaged tar archive"
expect_refused pax-malformed "entry \"ustar-name\"" "malformed pax extended attribute"
expect_refused pax-nul-path "entry \"etc/cut-here\"" "pax record \"path\" holds a NUL byte"
expect_refused pax-nul-linkpath "entry \"link\"" "pax record \"linkpath\" holds a NUL byte"
echo "damaged layers refused"
