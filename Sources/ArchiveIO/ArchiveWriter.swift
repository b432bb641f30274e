import CArchive
import Foundation

/// Writes a POSIX pax tar (restricted pax: plain ustar headers unless a
/// member needs extensions), so long names, large ids, sub-second times and
/// xattrs (as `SCHILY.xattr.*` records) survive. Members are written in the form
/// `mksquashfs -tar` reads exactly (see `MksquashfsTarForm`): sparse maps on 512-byte
/// blocks (GNU sparse 1.0 members), pax times with a fraction.
///
/// Call `finish()` to write the end-of-archive trailer and learn of errors;
/// `deinit` only frees, and never completes an unfinished archive.
public final class ArchiveWriter {
    /// Optional compression applied to the whole stream.
    public enum Compression: Sendable {
        case none, gzip, zstd
    }

    private let handle: OpaquePointer
    private var isFinished = false
    private var opened = false
    private var currentPath = ""
    private var declaredSize: Int64 = 0
    private var written: Int64 = 0
    /// Set when the writer writes an uncompressed stream to a descriptor itself.
    private var output: BlockOutput?
    private static let blockSize = 128 * 1024

    /// Write a symlink target that does not fit the ustar field as a GNU long-link record
    /// before the member, not as a pax `linkpath` (for mksquashfs before 4.6, see
    /// `GNULongLink`). Only for an uncompressed stream to a descriptor.
    public var writesLongLinksAsGNU = false

    /// Non-fatal diagnostics libarchive reported (`ARCHIVE_WARN`), oldest first.
    public private(set) var warnings: [String] = []

    /// `blocking`: libarchive's output block size (0: none, each piece is passed on at once).
    private init(compression: Compression, blocking: Int = ArchiveWriter.blockSize) throws {
        guard let handle = archive_write_new() else {
            throw ArchiveError.libarchive(
                operation: "archive_write_new", severity: .fatal, errno: ENOMEM, message: "out of memory")
        }
        self.handle = handle
        try check("archive_write_set_format_pax_restricted") { archive_write_set_format_pax_restricted(handle) }
        switch compression {
        case .none: break
        case .gzip: try check("archive_write_add_filter_gzip") { archive_write_add_filter_gzip(handle) }
        case .zstd: try check("archive_write_add_filter_zstd") { archive_write_add_filter_zstd(handle) }
        }
        // Bigger writes than tar's 10 KiB records: a tenth of the system calls into a pipe.
        try check("archive_write_set_bytes_per_block") { archive_write_set_bytes_per_block(handle, Int32(blocking)) }
        // No padding to the last record: output size and digests then
        // depend only on content, and the trailer is still standard.
        try check("archive_write_set_bytes_in_last_block") { archive_write_set_bytes_in_last_block(handle, 1) }
        pinUTF8Charset(handle)
    }

    /// Creates (or truncates) the file at `path` and writes to it.
    public convenience init(path: String, compression: Compression = .none) throws {
        try self.init(compression: compression)
        try check("archive_write_open_filename(\(path))") { archive_write_open_filename(handle, path) }
        opened = true
    }

    /// Writes to an open descriptor, which stays owned by the caller.
    public convenience init(fileDescriptor fd: Int32, compression: Compression = .none) throws {
        guard compression == .none else {
            try self.init(compression: compression)
            try check("archive_write_open_fd") { archive_write_open_fd(handle, fd) }
            opened = true
            return
        }
        try self.init(compression: compression, blocking: 0)
        let output = BlockOutput(fd: fd, capacity: Self.blockSize)
        self.output = output
        let context = Unmanaged.passUnretained(output).toOpaque()
        try check("archive_write_open2") {
            archive_write_open2(handle, context, nil, { archive, context, buffer, length in
                guard let context, let buffer else { return 0 }
                let output = Unmanaged<BlockOutput>.fromOpaque(context).takeUnretainedValue()
                guard output.append(UnsafeRawBufferPointer(start: buffer, count: length)) else {
                    sifter_archive_set_error(archive, output.failure ?? EIO, "Write error")
                    return -1
                }
                return length
            }, { archive, context in
                guard let context else { return ARCHIVE_OK }
                let output = Unmanaged<BlockOutput>.fromOpaque(context).takeUnretainedValue()
                guard output.flush() else {
                    sifter_archive_set_error(archive, output.failure ?? EIO, "Write error")
                    return ARCHIVE_FATAL
                }
                return ARCHIVE_OK
            }, nil)
        }
        opened = true
    }

    /// Without `finish()`, the archive is failed first: otherwise
    /// `archive_write_free` would append a trailer and make an abandoned,
    /// partial archive look complete.
    deinit {
        if !isFinished { archive_write_fail(handle) }
        archive_write_free(handle)
    }

    /// Starts a new member. A regular file's `size` must be set before this,
    /// and exactly that many bytes must follow via `writeData`.
    public func writeHeader(_ entry: ArchiveEntry) throws {
        try ensureOpen("archive_write_header")
        currentPath = entry.pathname ?? String(decoding: entry.pathnameBytes ?? [], as: UTF8.self)
        declaredSize = entry.fileType == .regular && entry.hardlinkBytes == nil ? entry.size : 0
        written = 0
        var member = try MksquashfsTarForm.prepare(entry)
        if writesLongLinksAsGNU, member.fileType == .symlink, member.hardlinkBytes == nil,
           let target = member.symlinkBytes, GNULongLink.needed(for: target) {
            guard let output else { throw ArchiveError.closed(operation: "GNU long link without a descriptor") }
            // The previous member's padding first: libarchive writes it only when the next begins.
            try check("archive_write_finish_entry") { archive_write_finish_entry(handle) }
            let appended = GNULongLink.record(for: target).withUnsafeBytes { output.append($0) }
            guard appended else {
                let code = output.failure ?? EIO
                throw ArchiveError.libarchive(operation: "write(\(currentPath))", severity: .fatal, errno: code,
                                              message: "Write error")
            }
            member = try member === entry ? entry.clone() : member
            // Readers of GNU records take the target from the record; this only keeps
            // libarchive from writing a pax linkpath.
            member.symlinkBytes = Array("././@LongLink".utf8)
        }
        try check("archive_write_header(\(currentPath))") { archive_write_header(handle, member.handle) }
    }

    /// Appends data to the current member. Throws rather than truncating
    /// silently (libarchive's behaviour) when the declared size is exceeded.
    public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        try ensureOpen("archive_write_data")
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        guard written + Int64(bytes.count) <= declaredSize else {
            throw ArchiveError.dataExceedsEntrySize(
                pathname: currentPath, declared: declaredSize, attempted: written + Int64(bytes.count))
        }
        var offset = 0
        var attempts = 0
        while offset < bytes.count {
            let n = archive_write_data(handle, base + offset, bytes.count - offset)
            if n > 0 {
                offset += n
                written += Int64(n)
                continue
            }
            if (n == 0 || Int32(n) == ARCHIVE_RETRY) && attempts < archiveRetryLimit {
                attempts += 1
                continue
            }
            throw archiveFailure(handle, "archive_write_data(\(currentPath))", status: n == 0 ? ARCHIVE_FATAL : Int32(n))
        }
    }

    /// Appends data to the current member.
    public func writeData(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeData($0) }
    }

    /// Appends data to the current member.
    public func writeData(_ data: Data) throws {
        try data.withUnsafeBytes { try writeData($0) }
    }

    /// Writes the end-of-archive trailer and flushes all filters. Idempotent.
    public func finish() throws {
        guard !isFinished else { return }
        isFinished = true
        guard opened else { return }
        try check("archive_write_close") { archive_write_close(handle) }
    }

    private func ensureOpen(_ operation: String) throws {
        if isFinished { throw ArchiveError.closed(operation: operation) }
    }

    @discardableResult
    private func check(_ operation: String, _ call: () -> Int32) throws -> Int32 {
        try checkArchive(handle, operation, onWarning: { warnings.append($0) }, call)
    }
}
