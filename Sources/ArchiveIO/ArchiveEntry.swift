import CArchive
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One extended attribute: name (e.g. `user.test`, `security.capability`) and raw value.
public struct ArchiveXattr: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]

    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }
}

/// One data region of a sparse file; bytes outside all regions are holes.
public struct ArchiveSparseRegion: Sendable, Hashable {
    public var offset: Int64
    public var length: Int64

    public init(offset: Int64, length: Int64) {
        self.offset = offset
        self.length = length
    }
}

/// A timestamp as stored in the archive.
public struct ArchiveTimestamp: Sendable, Hashable {
    public var seconds: Int64
    public var nanoseconds: Int

    public init(seconds: Int64, nanoseconds: Int = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// Owns one `struct archive_entry *`: the metadata of a single archive member.
///
/// Byte-valued names (`pathnameBytes`, `symlinkBytes`, `hardlinkBytes`) are
/// exact; the `String` forms are `nil` when the bytes are not valid UTF-8,
/// because layer tars may carry arbitrary bytes and a lossy decode would
/// silently rename files. Byte setters stop at the first NUL, as in C.
public final class ArchiveEntry {
    /// The type bits of the mode.
    public enum FileType: Sendable, Hashable {
        case regular, directory, symlink, characterDevice, blockDevice, fifo, socket
        case unknown(UInt32)

        init(raw: UInt32) {
            switch raw {
            case sifter_ae_ifreg(): self = .regular
            case sifter_ae_ifdir(): self = .directory
            case sifter_ae_iflnk(): self = .symlink
            case sifter_ae_ifchr(): self = .characterDevice
            case sifter_ae_ifblk(): self = .blockDevice
            case sifter_ae_ififo(): self = .fifo
            case sifter_ae_ifsock(): self = .socket
            default: self = .unknown(raw)
            }
        }

        var raw: UInt32 {
            switch self {
            case .regular: return sifter_ae_ifreg()
            case .directory: return sifter_ae_ifdir()
            case .symlink: return sifter_ae_iflnk()
            case .characterDevice: return sifter_ae_ifchr()
            case .blockDevice: return sifter_ae_ifblk()
            case .fifo: return sifter_ae_ififo()
            case .socket: return sifter_ae_ifsock()
            case .unknown(let value): return value
            }
        }
    }

    let handle: OpaquePointer

    /// Takes ownership of an entry allocated by libarchive.
    init(owning handle: OpaquePointer) {
        self.handle = handle
    }

    /// Creates an empty entry, e.g. to describe a member for `ArchiveWriter`.
    public convenience init() throws {
        guard let handle = archive_entry_new() else {
            throw ArchiveError.libarchive(
                operation: "archive_entry_new", severity: .fatal, errno: ENOMEM, message: "out of memory")
        }
        self.init(owning: handle)
    }

    deinit { archive_entry_free(handle) }

    /// An independent deep copy.
    public func clone() throws -> ArchiveEntry {
        guard let copy = archive_entry_clone(handle) else {
            throw ArchiveError.libarchive(
                operation: "archive_entry_clone", severity: .fatal, errno: ENOMEM, message: "out of memory")
        }
        return ArchiveEntry(owning: copy)
    }

    // MARK: Names

    /// Exact path bytes, or `nil` if unset.
    public var pathnameBytes: [UInt8]? {
        get { bytes(archive_entry_pathname(handle)) }
        set { withCString(newValue) { archive_entry_copy_pathname(handle, $0) } }
    }

    /// The path as UTF-8 text; `nil` if unset or not valid UTF-8.
    public var pathname: String? {
        get { pathnameBytes.flatMap(strictUTF8) }
        set { pathnameBytes = newValue.map { Array($0.utf8) } }
    }

    /// Exact symlink target bytes, or `nil` if this is not a symlink.
    public var symlinkBytes: [UInt8]? {
        get { bytes(archive_entry_symlink(handle)) }
        set { withCString(newValue) { archive_entry_copy_symlink(handle, $0) } }
    }

    /// Symlink target as UTF-8 text.
    public var symlink: String? {
        get { symlinkBytes.flatMap(strictUTF8) }
        set { symlinkBytes = newValue.map { Array($0.utf8) } }
    }

    /// Exact hardlink target bytes, or `nil` if this is not a hardlink.
    public var hardlinkBytes: [UInt8]? {
        get { bytes(archive_entry_hardlink(handle)) }
        set { withCString(newValue) { archive_entry_copy_hardlink(handle, $0) } }
    }

    /// Hardlink target as UTF-8 text.
    public var hardlink: String? {
        get { hardlinkBytes.flatMap(strictUTF8) }
        set { hardlinkBytes = newValue.map { Array($0.utf8) } }
    }

    /// Owner user name, if recorded.
    public var uname: String? {
        get { bytes(archive_entry_uname(handle)).map { String(decoding: $0, as: UTF8.self) } }
        set { withCString(newValue.map { Array($0.utf8) }) { archive_entry_copy_uname(handle, $0) } }
    }

    /// Owner group name, if recorded.
    public var gname: String? {
        get { bytes(archive_entry_gname(handle)).map { String(decoding: $0, as: UTF8.self) } }
        set { withCString(newValue.map { Array($0.utf8) }) { archive_entry_copy_gname(handle, $0) } }
    }

    // MARK: Type, mode, ownership

    /// File type. A hardlink member reports the type of its target (usually `.regular`).
    public var fileType: FileType {
        get { FileType(raw: UInt32(archive_entry_filetype(handle))) }
        set { archive_entry_set_filetype(handle, newValue.raw) }
    }

    /// Full `st_mode` (type and permission bits).
    public var mode: UInt32 {
        get { UInt32(archive_entry_mode(handle)) }
        set { archive_entry_set_mode(handle, mode_t(newValue)) }
    }

    /// Permission bits including setuid/setgid/sticky (`mode & 07777`).
    public var permissions: UInt32 {
        get { UInt32(archive_entry_perm(handle)) }
        set { archive_entry_set_perm(handle, mode_t(newValue)) }
    }

    public var uid: Int64 {
        get { archive_entry_uid(handle) }
        set { archive_entry_set_uid(handle, newValue) }
    }

    public var gid: Int64 {
        get { archive_entry_gid(handle) }
        set { archive_entry_set_gid(handle, newValue) }
    }

    /// Size of the member's data; 0 for non-regular files.
    public var size: Int64 {
        get { archive_entry_size(handle) }
        set { archive_entry_set_size(handle, newValue) }
    }

    /// Whether the archive recorded a size at all.
    public var isSizeSet: Bool { archive_entry_size_is_set(handle) != 0 }

    /// Modification time, or `nil` if the archive did not record one.
    public var mtime: ArchiveTimestamp? {
        get {
            guard archive_entry_mtime_is_set(handle) != 0 else { return nil }
            return ArchiveTimestamp(
                seconds: Int64(archive_entry_mtime(handle)), nanoseconds: archive_entry_mtime_nsec(handle))
        }
        set {
            if let value = newValue {
                archive_entry_set_mtime(handle, time_t(value.seconds), value.nanoseconds)
            } else {
                archive_entry_unset_mtime(handle)
            }
        }
    }

    /// Device major number for character and block devices.
    public var rdevMajor: UInt64 {
        get { UInt64(archive_entry_rdevmajor(handle)) }
        set { archive_entry_set_rdevmajor(handle, dev_t(newValue)) }
    }

    /// Device minor number for character and block devices.
    public var rdevMinor: UInt64 {
        get { UInt64(archive_entry_rdevminor(handle)) }
        set { archive_entry_set_rdevminor(handle, dev_t(newValue)) }
    }

    // MARK: Extended attributes and sparse map

    /// Extended attributes in archive order. Setting replaces them all.
    public var xattrs: [ArchiveXattr] {
        get {
            var result: [ArchiveXattr] = []
            archive_entry_xattr_reset(handle)
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while archive_entry_xattr_next(handle, &name, &value, &size) == ARCHIVE_OK {
                guard let name else { continue }
                let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                result.append(ArchiveXattr(name: String(cString: name), value: bytes))
            }
            return result
        }
        set {
            archive_entry_xattr_clear(handle)
            for xattr in newValue {
                xattr.value.withUnsafeBytes { value in
                    archive_entry_xattr_add_entry(handle, xattr.name, value.baseAddress, value.count)
                }
            }
        }
    }

    /// Data regions of a sparse file; empty when the file is not sparse. Set `size` first:
    /// libarchive drops regions that reach past it, and merges adjacent ones.
    public var sparseRegions: [ArchiveSparseRegion] {
        get {
            var result: [ArchiveSparseRegion] = []
            archive_entry_sparse_reset(handle)
            var offset: Int64 = 0
            var length: Int64 = 0
            while archive_entry_sparse_next(handle, &offset, &length) == ARCHIVE_OK {
                result.append(ArchiveSparseRegion(offset: offset, length: length))
            }
            return result
        }
        set {
            archive_entry_sparse_clear(handle)
            for region in newValue {
                archive_entry_sparse_add_entry(handle, region.offset, region.length)
            }
        }
    }

    // MARK: Helpers

    private func bytes(_ pointer: UnsafePointer<CChar>?) -> [UInt8]? {
        guard let pointer else { return nil }
        return Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
    }

    private func withCString(_ value: [UInt8]?, _ body: (UnsafePointer<CChar>?) -> Void) {
        guard let value else { return body(nil) }
        let terminated = Array(value.prefix { $0 != 0 }.map { CChar(bitPattern: $0) }) + [0]
        terminated.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// Decodes UTF-8 only if the bytes are valid, never substituting U+FFFD.
func strictUTF8(_ bytes: [UInt8]) -> String? {
    String(validating: bytes, as: UTF8.self)
}
