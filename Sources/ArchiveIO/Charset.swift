import CArchive

/// See `sifter_archive_pin_utf8` in the CArchive shim for why this exists.
func pinUTF8Charset(_ archive: OpaquePointer) {
    sifter_archive_pin_utf8(archive)
}
