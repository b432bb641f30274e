import CArchive
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads any archive format and compression filter libarchive supports
/// (tar/pax/ustar/GNU, cpio, zip, ...; gzip, zstd, xz, bzip2, ...).
///
/// Usage: `while let entry = try reader.nextEntry() { ... readData ... }`,
/// then `try reader.close()`. Unread data of an entry is skipped
/// automatically by the next `nextEntry()`.
public final class ArchiveReader {
    private let handle: OpaquePointer
    private var isClosed = false
    private var opened = false

    /// Non-fatal diagnostics libarchive reported (`ARCHIVE_WARN`), oldest first.
    public private(set) var warnings: [String] = []

    /// Default read block size: big enough for efficient syscalls on layer blobs.
    public static let defaultBlockSize = 64 * 1024

    private init() throws {
        guard let handle = archive_read_new() else {
            throw ArchiveError.libarchive(
                operation: "archive_read_new", severity: .fatal, errno: ENOMEM, message: "out of memory")
        }
        self.handle = handle
        try check("archive_read_support_filter_all") { archive_read_support_filter_all(handle) }
        try check("archive_read_support_format_all") { archive_read_support_format_all(handle) }
        pinUTF8Charset(handle)
    }

    /// Opens the archive at `path`.
    public convenience init(path: String, blockSize: Int = ArchiveReader.defaultBlockSize) throws {
        try self.init()
        try check("archive_read_open_filename(\(path))") {
            archive_read_open_filename(handle, path, blockSize)
        }
        opened = true
    }

    /// Reads from an already open descriptor, which stays owned by the caller
    /// (it is not closed by `close()` or `deinit`).
    public convenience init(fileDescriptor fd: Int32, blockSize: Int = ArchiveReader.defaultBlockSize) throws {
        try self.init()
        try check("archive_read_open_fd") { archive_read_open_fd(handle, fd, blockSize) }
        opened = true
    }

    deinit { archive_read_free(handle) }

    /// The next member's header, or `nil` at the end of the archive.
    /// Each returned entry is an independent object that stays valid.
    public func nextEntry() throws -> ArchiveEntry? {
        try ensureOpen("archive_read_next_header")
        guard let raw = archive_entry_new2(handle) else {
            throw ArchiveError.libarchive(
                operation: "archive_entry_new2", severity: .fatal, errno: ENOMEM, message: "out of memory")
        }
        let entry = ArchiveEntry(owning: raw)
        let status = try check("archive_read_next_header") { archive_read_next_header2(handle, raw) }
        return status == ARCHIVE_EOF ? nil : entry
    }

    /// Reads up to `buffer.count` bytes of the current entry's data; returns 0
    /// at the end of the entry. Sparse holes are returned as zero bytes.
    public func readData(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try ensureOpen("archive_read_data")
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var attempts = 0
        while true {
            let n = archive_read_data(handle, base, buffer.count)
            if n >= 0 { return n }
            // A warning with no bytes is not the end of the entry, so read again;
            // bounded so a persistent warning cannot spin forever. ARCHIVE_RETRY means damaged
            // input and is an error (see `checkArchive`).
            if Int32(n) == ARCHIVE_WARN && attempts < archiveRetryLimit {
                warnings.append("archive_read_data: \(archiveMessage(handle))")
                attempts += 1
                continue
            }
            throw archiveFailure(handle, "archive_read_data", status: Int32(n))
        }
    }

    /// Streams the current entry's data block by block without copying.
    /// `body` receives each block and its offset within the file (offsets jump
    /// over sparse holes); the buffer is only valid during the call.
    public func readDataBlocks(_ body: (_ block: UnsafeRawBufferPointer, _ offset: Int64) throws -> Void) throws {
        try ensureOpen("archive_read_data_block")
        while true {
            var block: UnsafeRawPointer?
            var size = 0
            var offset: Int64 = 0
            let status = try check("archive_read_data_block") {
                archive_read_data_block(handle, &block, &size, &offset)
            }
            if status == ARCHIVE_EOF { return }
            if size > 0, let block {
                try body(UnsafeRawBufferPointer(start: block, count: size), offset)
            }
        }
    }

    /// Writes the current entry's data to `fd`, seeking over sparse holes.
    public func readData(toFileDescriptor fd: Int32) throws {
        try ensureOpen("archive_read_data_into_fd")
        try check("archive_read_data_into_fd") { archive_read_data_into_fd(handle, fd) }
    }

    /// Discards the rest of the current entry's data.
    public func skipData() throws {
        try ensureOpen("archive_read_data_skip")
        try check("archive_read_data_skip") { archive_read_data_skip(handle) }
    }

    /// Name of the detected archive format (e.g. "POSIX pax interchange format").
    public var formatName: String? {
        archive_format_name(handle).map { String(cString: $0) }
    }

    /// Names of the detected compression filters, without "none". When one is nested in
    /// another, libarchive lists the innermost first.
    public var filterNames: [String] {
        (0..<archive_filter_count(handle)).compactMap { index in
            guard let name = archive_filter_name(handle, index) else { return nil }
            let text = String(cString: name)
            return text == "none" ? nil : text
        }
    }

    /// Releases the input. Idempotent; afterwards every read throws `.closed`.
    public func close() throws {
        guard !isClosed else { return }
        isClosed = true
        guard opened else { return }
        try check("archive_read_close") { archive_read_close(handle) }
    }

    private func ensureOpen(_ operation: String) throws {
        if isClosed { throw ArchiveError.closed(operation: operation) }
    }

    @discardableResult
    private func check(_ operation: String, _ call: () -> Int32) throws -> Int32 {
        try checkArchive(handle, operation, onWarning: { warnings.append($0) }, call)
    }
}
