import CArchive
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads one tar stream, optionally gzip/zstd/... compressed (detected from the magic bytes),
/// and hands every byte of the file and every byte of the decompressed tar to two observers
/// as they stream past, so a caller can verify a blob digest, its size and an uncompressed
/// digest (an OCI diff_id) in the same single pass that reads the headers.
///
/// Two stages are chained. The outer one decompresses the file, read through our own read
/// callback (which sees the raw bytes): for gzip it is ISA-L (`GzipInflater`, much faster
/// than zlib), otherwise a libarchive handle with every decompression filter and the "raw"
/// format, whose data is the decompressed stream. `inner`, a libarchive handle, reads that
/// stream (our second callback sees it) as tar only, with no filters, so a compressed member
/// inside is never decompressed twice. No skip callbacks are installed: libarchive then reads
/// every byte instead of seeking, which is what makes the observers complete. `finish()`
/// drains what was not needed (tar padding after the end marker, bytes after the compressed
/// stream).
public final class ObservedTarReader {
    /// Which engine decompresses gzip; libarchive only so tests can compare the two.
    enum GzipDecoder { case isal, libarchive }

    private let source: ObservedSource
    /// The libarchive outer stage; nil for an empty file and when ISA-L decompresses.
    private let outer: OpaquePointer?
    private let inner: OpaquePointer
    private var isClosed = false
    /// A member was returned whose data may not have been read yet.
    private var hasEntry = false

    /// Non-fatal diagnostics libarchive reported (`ARCHIVE_WARN`), oldest first.
    public private(set) var warnings: [String] = []

    /// Reads the regular file at `path`.
    public convenience init(
        path: String,
        blockSize: Int = ArchiveReader.defaultBlockSize,
        onFileBytes: @escaping (UnsafeRawBufferPointer) -> Void = { _ in },
        onTarBytes: @escaping (UnsafeRawBufferPointer) -> Void = { _ in }
    ) throws {
        try self.init(source: try FileSource(path: path), blockSize: blockSize, onFileBytes: onFileBytes, onTarBytes: onTarBytes)
    }

    /// Reads `source` from its first byte. `onFileBytes` sees the source's bytes in order,
    /// `onTarBytes` the decompressed tar's bytes in order; both only during the call.
    public convenience init(
        source: any ByteSource,
        blockSize: Int = ArchiveReader.defaultBlockSize,
        onFileBytes: @escaping (UnsafeRawBufferPointer) -> Void = { _ in },
        onTarBytes: @escaping (UnsafeRawBufferPointer) -> Void = { _ in }
    ) throws {
        try self.init(
            source: source, blockSize: blockSize, gzipDecoder: .isal, onFileBytes: onFileBytes, onTarBytes: onTarBytes)
    }

    /// `gzipDecoder: .libarchive` keeps gzip on the libarchive path, for tests to compare with.
    init(
        source: any ByteSource,
        blockSize: Int = ArchiveReader.defaultBlockSize,
        gzipDecoder: GzipDecoder,
        onFileBytes: @escaping (UnsafeRawBufferPointer) -> Void,
        onTarBytes: @escaping (UnsafeRawBufferPointer) -> Void
    ) throws {
        let source = ObservedSource(source: source, blockSize: max(blockSize, 4096), onFile: onFileBytes, onTar: onTarBytes)
        // libarchive's raw format refuses an empty input ("Unrecognized archive format"), but
        // an empty blob is an empty tar stream (Go's archive/tar reads it as such).
        let isEmpty = source.source.size == 0
        let useISAL = try !isEmpty && gzipDecoder == .isal && isGzipForISAL(source.source)
        guard let inner = archive_read_new() else {
            throw ArchiveError.libarchive(
                operation: "archive_read_new", severity: .fatal, errno: ENOMEM, message: "out of memory")
        }
        if isEmpty {
            source.outerEOF = true
            outer = nil
        } else if useISAL {
            source.inflater = GzipInflater()
            outer = nil
        } else {
            guard let handle = archive_read_new() else {
                archive_read_free(inner)
                throw ArchiveError.libarchive(
                    operation: "archive_read_new", severity: .fatal, errno: ENOMEM, message: "out of memory")
            }
            outer = handle
        }
        self.source = source
        self.inner = inner
        source.outer = outer
        let context = Unmanaged.passUnretained(source).toOpaque()

        if let outer {
            try check(outer, "archive_read_support_filter_all") { archive_read_support_filter_all(outer) }
            try check(outer, "archive_read_support_format_raw") { archive_read_support_format_raw(outer) }
            try check(outer, "archive_read_open") {
                archive_read_open(outer, context, nil, observedFileRead, nil)
            }
            // The raw format presents the whole decompressed stream as one entry.
            let header = try check(outer, "archive_read_next_header(raw)") {
                var entry: OpaquePointer?
                return archive_read_next_header(outer, &entry)
            }
            if header == ARCHIVE_EOF { source.outerEOF = true }
        }

        try check(inner, "archive_read_support_format_tar") { archive_read_support_format_tar(inner) }
        try check(inner, "archive_read_support_format_empty") { archive_read_support_format_empty(inner) }
        pinUTF8Charset(inner)
        try check(inner, "archive_read_open(tar)") {
            archive_read_open(inner, context, nil, observedTarRead, nil)
        }
    }

    deinit {
        archive_read_free(inner)
        if let outer { archive_read_free(outer) }
    }

    /// Names of the detected compression filters, without "none". When one is nested in
    /// another, libarchive lists the innermost first.
    public var filterNames: [String] {
        if source.inflater != nil { return ["gzip"] }
        guard let outer else { return [] }
        return (0..<archive_filter_count(outer)).compactMap { index in
            guard let name = archive_filter_name(outer, index) else { return nil }
            let text = String(cString: name)
            return text == "none" ? nil : text
        }
    }

    /// The next member's header, or `nil` at the end of the tar stream. Damaged headers are
    /// errors, never skipped: a bad checksum (`ARCHIVE_RETRY`), and any warning libarchive
    /// gives about headers it read only in part (malformed pax records, sparse maps it could
    /// not parse, too many special headers), as well as a pax name holding a NUL byte, which
    /// libarchive would cut there. Only a name that is not valid UTF-8 (errno `EILSEQ`)
    /// stays a warning.
    public func nextEntry() throws -> ArchiveEntry? {
        try ensureOpen("archive_read_next_header")
        if hasEntry {
            // Skipped here rather than inside archive_read_next_header, so that the header
            // starts at the consumed position when the window starts keeping it.
            try check(inner, "archive_read_data_skip") { archive_read_data_skip(inner) }
            hasEntry = false
        }
        guard let raw = archive_entry_new2(inner) else {
            throw ArchiveError.libarchive(
                operation: "archive_entry_new2", severity: .fatal, errno: ENOMEM, message: "out of memory")
        }
        let entry = ArchiveEntry(owning: raw)
        source.window.beginHeader(at: archive_filter_bytes(inner, 0))
        let status = archive_read_next_header2(inner, raw)
        if status == ARCHIVE_EOF { return nil }
        if status == ARCHIVE_WARN && archive_errno(inner) != EILSEQ {
            throw ArchiveError.malformedHeader(
                entry: entry.pathnameBytes, reason: "libarchive would read its headers only in part: \(archiveMessage(inner))")
        }
        try check(inner, "archive_read_next_header") { status }
        let start = archive_read_header_position(inner)
        guard let region = source.window.endHeader(start: start, end: archive_filter_bytes(inner, 0)) else {
            throw ArchiveError.malformedHeader(
                entry: entry.pathnameBytes,
                reason: source.window.overflowed
                    ? "its headers take more than \(TarHeaderWindow.limit >> 20) MiB"
                    : "its header bytes were not kept, so they cannot be checked")
        }
        if let key = TarHeaderRegion.nameWithNUL(in: region) {
            throw ArchiveError.malformedHeader(
                entry: entry.pathnameBytes, reason: "its pax record \"\(key)\" holds a NUL byte, which would cut the name there")
        }
        hasEntry = true
        return entry
    }

    /// Streams the current entry's data block by block without copying; `offset` jumps
    /// over sparse holes. The buffer is only valid during the call.
    public func readDataBlocks(_ body: (_ block: UnsafeRawBufferPointer, _ offset: Int64) throws -> Void) throws {
        try ensureOpen("archive_read_data_block")
        while true {
            var block: UnsafeRawPointer?
            var size = 0
            var offset: Int64 = 0
            let status = try check(inner, "archive_read_data_block") {
                archive_read_data_block(inner, &block, &size, &offset)
            }
            if status == ARCHIVE_EOF { return }
            if size > 0, let block {
                try body(UnsafeRawBufferPointer(start: block, count: size), offset)
            }
        }
    }

    /// Reads the rest of both streams through the observers (call after `nextEntry()`
    /// returned `nil`) and returns the byte counts of the file and of the tar stream.
    public func finish() throws -> (fileBytes: Int64, tarBytes: Int64) {
        try ensureOpen("finish")
        if let inflater = source.inflater {
            while !source.outerEOF {
                guard let block = try inflater.nextBlock(refill: source.readFileChunk) else {
                    source.outerEOF = true
                    break
                }
                source.onTar(block)
                source.tarBytes += Int64(block.count)
            }
        }
        while !source.outerEOF, let outer {
            var block: UnsafeRawPointer?
            var size = 0
            var offset: Int64 = 0
            let status = try check(outer, "archive_read_data_block(drain)") {
                archive_read_data_block(outer, &block, &size, &offset)
            }
            if status == ARCHIVE_EOF { source.outerEOF = true; break }
            if size > 0, let block {
                let buffer = UnsafeRawBufferPointer(start: block, count: size)
                source.onTar(buffer)
                source.tarBytes += Int64(size)
            }
        }
        while try source.readFileChunk() != nil {}
        return (source.fileBytes, source.tarBytes)
    }

    /// Releases both handles and the file. Idempotent; throws if libarchive reports that
    /// closing failed (the handles and the file are released either way).
    public func close() throws {
        guard !isClosed else { return }
        isClosed = true
        let innerStatus = archive_read_close(inner)
        let outerStatus = outer.map { archive_read_close($0) } ?? ARCHIVE_OK
        try check(inner, "archive_read_close") { innerStatus }
        if let outer { try check(outer, "archive_read_close") { outerStatus } }
    }

    private func ensureOpen(_ operation: String) throws {
        if isClosed { throw ArchiveError.closed(operation: operation) }
    }

    /// Like `checkArchive`, but an error raised inside one of our callbacks (a failed
    /// read(2), a decompression error in the outer stage) wins over the generic message
    /// libarchive then reports on the handle that called us.
    @discardableResult
    private func check(_ archive: OpaquePointer, _ operation: String, _ call: () -> Int32) throws -> Int32 {
        do {
            return try checkArchive(archive, operation, onWarning: { warnings.append($0) }, call)
        } catch {
            if let pending = source.pendingError { throw pending }
            throw error
        }
    }
}
