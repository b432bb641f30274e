import ArchiveIO

/// What a layer member must be for the squashfs image to hold it as the layer says. Checked
/// on every member as it is read (`LayerStream.next()`), so every flattening path sees the
/// same members; whatever squashfs (or the kernel reading it) would silently change is
/// refused, naming the entry, except times, which are clamped with a warning (as
/// mksquashfs 4.7 does for times before 1970, and as umoci accepts them).
struct MemberValidation {
    /// NAME_MAX. mksquashfs cuts longer names to 256 bytes, so two names sharing their first
    /// 256 bytes collide in a corrupt directory; umoci (as root) fails with ENAMETOOLONG.
    static let nameMax = 255
    /// PATH_MAX - 1: symlink(2) refuses longer targets (so umoci does), and Linux's squashfs
    /// refuses to read a symlink longer than a page. A target is not a name: its components
    /// may be longer than NAME_MAX (it only fails when followed), as for umoci.
    static let symlinkMax = 4095
    /// squashfs keeps uids and gids in a table of 32-bit values.
    static let ids: ClosedRange<Int64> = 0...0xFFFF_FFFF
    /// squashfs stores a device number in 32 bits as Linux's old encoding: 12 bits of major
    /// and 20 of minor; mksquashfs cuts anything wider with only a message.
    static let majorMax: UInt64 = 0xFFF
    static let minorMax: UInt64 = 0xF_FFFF
    /// squashfs inode times are unsigned 32-bit seconds: 1970 up to 2106-02-07.
    static let times: ClosedRange<Int64> = 0...0xFFFF_FFFF

    /// Members whose time was clamped, and the first of them.
    private(set) var clampedTimes = 0
    private(set) var firstClamped: (path: [UInt8], seconds: Int64)?

    /// Refuses `entry` with `fail(reason)`, or clamps its time into `times`.
    mutating func check(_ entry: ArchiveEntry, fail: (String) -> RootfsError) throws(RootfsError) {
        let path = entry.pathnameBytes ?? []
        if let long = Self.longComponent(path) {
            throw fail("a path component is \(long) bytes long; file names are limited to \(Self.nameMax) bytes")
        }
        if let target = entry.hardlinkBytes, let long = Self.longComponent(target) {
            throw fail("its hard link target \"\(Paths.display(target))\" has a component of \(long) bytes; "
                + "file names are limited to \(Self.nameMax) bytes")
        }
        if entry.hardlinkBytes == nil, entry.fileType == .symlink, let target = entry.symlinkBytes,
           target.count > Self.symlinkMax {
            throw fail("its symlink target is \(target.count) bytes long; targets are limited to \(Self.symlinkMax) bytes")
        }
        for (name, id) in [("uid", entry.uid), ("gid", entry.gid)] where !Self.ids.contains(id) {
            throw fail("\(name) \(id) cannot be stored: squashfs holds ids from 0 to \(Self.ids.upperBound)")
        }
        if entry.hardlinkBytes == nil, entry.fileType == .characterDevice || entry.fileType == .blockDevice,
           entry.rdevMajor > Self.majorMax || entry.rdevMinor > Self.minorMax {
            throw fail("device \(entry.rdevMajor):\(entry.rdevMinor) cannot be stored: squashfs holds majors up to "
                + "\(Self.majorMax) and minors up to \(Self.minorMax)")
        }
        if let time = entry.mtime, !Self.times.contains(time.seconds) {
            clampedTimes += 1
            if firstClamped == nil { firstClamped = (path, time.seconds) }
            entry.mtime = ArchiveTimestamp(seconds: min(max(time.seconds, Self.times.lowerBound), Self.times.upperBound))
        }
    }

    /// The length of the first component over `nameMax` that the path keeps once cleaned (one
    /// that a later `..` removes is never created, as with umoci); nil if there is none.
    static func longComponent(_ path: [UInt8]) -> Int? {
        var run = 0
        var longest = 0
        for byte in path {
            run = byte == Paths.slash ? 0 : run + 1
            longest = max(longest, run)
        }
        guard longest > nameMax else { return nil }
        return Paths.clean(path).first { $0.count > nameMax }?.count
    }

    /// The warning for the clamped times, if any.
    var warning: String? {
        guard let first = firstClamped else { return nil }
        let others = clampedTimes > 1 ? " and \(clampedTimes - 1) more" : ""
        return "entry \"\(Paths.display(first.path))\" (mtime \(first.seconds))\(others): times before 1970 or after "
            + "2106-02-07 cannot be stored in squashfs; set to the nearest that can"
    }
}
