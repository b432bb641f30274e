import ArchiveIO

/// What the index needs from one tar member, copied out of libarchive's entry so that the
/// layers can be read on worker threads and applied in layer order afterwards. xattrs are
/// kept only where the index stores them (directories and the root); pass 2 reads the
/// others from the live entry.
struct MemberHeader: Sendable {
    var path: [UInt8]
    var hardlink: [UInt8]?
    var symlink: [UInt8]?
    var type: ArchiveEntry.FileType
    var permissions: UInt32
    var uid: Int64
    var gid: Int64
    var mtime: Int64?
    var xattrs: [ArchiveXattr]

    init(_ entry: ArchiveEntry) {
        path = entry.pathnameBytes ?? []
        hardlink = entry.hardlinkBytes
        type = entry.fileType
        symlink = type == .symlink ? entry.symlinkBytes : nil
        permissions = entry.permissions
        uid = entry.uid
        gid = entry.gid
        mtime = entry.mtime?.seconds
        xattrs = type == .directory && hardlink == nil ? uniqueXattrs(entry.xattrs) : []
    }
}
