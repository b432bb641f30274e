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
/// Two libarchive handles are chained: `outer` reads the file through our own read callback
/// (which sees the raw bytes) with every decompression filter and the "raw" format, so its
/// data is the decompressed stream; `inner` reads that stream (our second callback sees it)
/// as tar only, with no filters, so a compressed member inside is never decompressed twice.
/// No skip callbacks are installed: libarchive then reads every byte instead of seeking,
/// which is what makes the observers complete. `finish()` drains what libarchive did not
/// need (tar padding after the end marker, bytes after the compressed stream).
public final class ObservedTarReader {
    private let source: ObservedSource
    private let outer: OpaquePointer
    private let inner: OpaquePointer
    private var isClosed = false
    private var outerOpened = true

    /// Non-fatal diagnostics libarchive reported (`ARCHIVE_WARN`), oldest first.
    public private(set) var warnings: [String] = []

    /// Opens `path`. `onFileBytes` sees the file's bytes in order, `onTarBytes` the
    /// decompressed tar's bytes in order; both only during the call.
    public init(
        path: String,
        blockSize: Int = ArchiveReader.defaultBlockSize,
        onFileBytes: @escaping (UnsafeRawBufferPointer) -> Void,
        onTarBytes: @escaping (UnsafeRawBufferPointer) -> Void
    ) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw ArchiveError.libarchive(
                operation: "open(\(path))", severity: .fatal, errno: code, message: String(cString: strerror(code)))
        }
        let source = ObservedSource(fd: fd, blockSize: max(blockSize, 4096), onFile: onFileBytes, onTar: onTarBytes)
        guard let outer = archive_read_new() else {
            throw ArchiveError.libarchive(
                operation: "archive_read_new", severity: .fatal, errno: ENOMEM, message: "out of memory")
        }
        guard let inner = archive_read_new() else {
            archive_read_free(outer)
            throw ArchiveError.libarchive(
                operation: "archive_read_new", severity: .fatal, errno: ENOMEM, message: "out of memory")
        }
        self.source = source
        self.outer = outer
        self.inner = inner
        source.outer = outer
        let context = Unmanaged.passUnretained(source).toOpaque()

        // libarchive's raw format refuses an empty input ("Unrecognized archive format"), but
        // an empty blob is an empty tar stream (Go's archive/tar reads it as such).
        var info = stat()
        if fstat(fd, &info) == 0, info.st_size == 0, (info.st_mode & S_IFMT) == S_IFREG {
            source.outerEOF = true
            outerOpened = false
        } else {
            try check(outer, "archive_read_support_filter_all") { archive_read_support_filter_all(outer) }
            try check(outer, "archive_read_support_format_raw") { archive_read_support_format_raw(outer) }
            try check(outer, "archive_read_open(\(path))") {
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
        archive_read_free(outer)
        source.closeFile()
    }

    /// Names of the detected compression filters, outermost first, without "none".
    public var filterNames: [String] {
        guard outerOpened else { return [] }
        return (0..<archive_filter_count(outer)).compactMap { index in
            guard let name = archive_filter_name(outer, index) else { return nil }
            let text = String(cString: name)
            return text == "none" ? nil : text
        }
    }

    /// The next member's header, or `nil` at the end of the tar stream.
    public func nextEntry() throws -> ArchiveEntry? {
        try ensureOpen("archive_read_next_header")
        guard let raw = archive_entry_new2(inner) else {
            throw ArchiveError.libarchive(
                operation: "archive_entry_new2", severity: .fatal, errno: ENOMEM, message: "out of memory")
        }
        let entry = ArchiveEntry(owning: raw)
        let status = try check(inner, "archive_read_next_header") { archive_read_next_header2(inner, raw) }
        return status == ARCHIVE_EOF ? nil : entry
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
        while !source.outerEOF {
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

    /// Releases both handles and the file. Idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        archive_read_close(inner)
        archive_read_close(outer)
        source.closeFile()
    }

    private func ensureOpen(_ operation: String) throws {
        if isClosed { throw ArchiveError.closed(operation: operation) }
    }

    /// Like `checkArchive`, but an error raised inside one of our callbacks (a failed
    /// read(2), a decompression error on the outer handle) wins over the generic message
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

/// State shared with the C callbacks; owned by the reader, passed unretained.
private final class ObservedSource {
    var fd: Int32
    let buffer: UnsafeMutableRawBufferPointer
    let onFile: (UnsafeRawBufferPointer) -> Void
    let onTar: (UnsafeRawBufferPointer) -> Void
    var outer: OpaquePointer?
    var outerEOF = false
    var fileBytes: Int64 = 0
    var tarBytes: Int64 = 0
    var pendingError: ArchiveError?

    init(fd: Int32, blockSize: Int, onFile: @escaping (UnsafeRawBufferPointer) -> Void,
         onTar: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.fd = fd
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        self.onFile = onFile
        self.onTar = onTar
    }

    deinit {
        closeFile()
        buffer.deallocate()
    }

    func closeFile() {
        if fd >= 0 { closeDescriptor(fd) }
        fd = -1
    }

    /// Reads the next chunk of the file into `buffer` and observes it; nil at end of file.
    func readFileChunk() throws -> UnsafeRawBufferPointer? {
        guard fd >= 0, let base = buffer.baseAddress else { return nil }
        while true {
            let n = read(fd, base, buffer.count)
            if n > 0 {
                let chunk = UnsafeRawBufferPointer(start: base, count: n)
                onFile(chunk)
                fileBytes += Int64(n)
                return chunk
            }
            if n == 0 { return nil }
            let code = errno
            if code == EINTR { continue }
            throw ArchiveError.libarchive(
                operation: "read", severity: .fatal, errno: code, message: String(cString: strerror(code)))
        }
    }
}

private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}

/// Read callback of the outer handle: the file's bytes.
private func observedFileRead(
    _ archive: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> la_ssize_t {
    guard let context, let out else { return -1 }
    let source = Unmanaged<ObservedSource>.fromOpaque(context).takeUnretainedValue()
    do {
        guard let chunk = try source.readFileChunk() else { return 0 }
        out.pointee = chunk.baseAddress
        return la_ssize_t(chunk.count)
    } catch let error as ArchiveError {
        source.pendingError = error
        return -1
    } catch {
        return -1
    }
}

/// Read callback of the inner handle: the outer handle's decompressed data, block by block.
/// The block stays valid until the outer handle is read again, i.e. until our next call,
/// which is exactly libarchive's contract for client buffers.
private func observedTarRead(
    _ archive: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> la_ssize_t {
    guard let context, let out else { return -1 }
    let source = Unmanaged<ObservedSource>.fromOpaque(context).takeUnretainedValue()
    guard let outer = source.outer else { return -1 }
    while !source.outerEOF {
        var block: UnsafeRawPointer?
        var size = 0
        var offset: Int64 = 0
        let status = archive_read_data_block(outer, &block, &size, &offset)
        if status == ARCHIVE_EOF {
            source.outerEOF = true
            return 0
        }
        if status < ARCHIVE_WARN {
            if source.pendingError == nil {
                source.pendingError = archiveFailure(outer, "decompress", status: status)
            }
            return -1
        }
        if size > 0, let block {
            let buffer = UnsafeRawBufferPointer(start: block, count: size)
            source.onTar(buffer)
            source.tarBytes += Int64(size)
            out.pointee = block
            return la_ssize_t(size)
        }
    }
    return 0
}
