import CArchive
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// State shared with the C callbacks of `ObservedTarReader`; owned by the reader, passed
/// unretained.
final class ObservedSource {
    var fd: Int32
    let buffer: UnsafeMutableRawBufferPointer
    let onFile: (UnsafeRawBufferPointer) -> Void
    let onTar: (UnsafeRawBufferPointer) -> Void
    /// The outer stage: exactly one of these for a non-empty file.
    var outer: OpaquePointer?
    var inflater: GzipInflater?
    /// The outer stage has delivered all of the decompressed stream.
    var outerEOF = false
    var fileBytes: Int64 = 0
    var tarBytes: Int64 = 0
    var pendingError: ArchiveError?
    /// Set when the file is still being written: reads stop where it says.
    let growing: GrowingFile?
    /// The tar bytes around the header the inner handle is reading.
    var window = TarHeaderWindow()

    init(fd: Int32, blockSize: Int, growing: GrowingFile?, onFile: @escaping (UnsafeRawBufferPointer) -> Void,
         onTar: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.fd = fd
        self.growing = growing
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
    func readFileChunk() throws(ArchiveError) -> UnsafeRawBufferPointer? {
        guard fd >= 0, let base = buffer.baseAddress else { return nil }
        var limit = buffer.count
        if let growing {
            let available = try readableChunk(growing, at: fileBytes, length: limit)
            if available <= fileBytes { return nil }
            limit = Int(min(Int64(limit), available - fileBytes))
        }
        while true {
            // A growing file's descriptor is shared with its writer and other readers (dup),
            // so its file offset is nobody's: read at our own position.
            let n = growing == nil ? read(fd, base, limit) : pread(fd, base, limit, off_t(fileBytes))
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

/// Waits until `length` bytes from `offset` have arrived (fewer at the end of the file) and
/// returns how far the file may be read. Whole chunks, as a regular file gives them: the
/// decompressors expect a header in one piece, and fewer wake-ups cost less.
func readableChunk(_ growing: GrowingFile, at offset: Int64, length: Int) throws(ArchiveError) -> Int64 {
    let wanted = offset + min(Int64(length), max(0, growing.size - offset))
    var available = offset
    do {
        repeat {
            let now = try growing.readable(available)
            if now <= available { break }
            available = now
        } while available < wanted
    } catch {
        throw ArchiveError.libarchive(operation: "read", severity: .fatal, errno: 0, message: "\(error)")
    }
    return available
}

private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}

/// Read callback of the outer libarchive handle: the file's bytes.
func observedFileRead(
    _ archive: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> la_ssize_t {
    guard let context, let out else { return -1 }
    let source = Unmanaged<ObservedSource>.fromOpaque(context).takeUnretainedValue()
    do {
        guard let chunk = try source.readFileChunk() else { return 0 }
        out.pointee = chunk.baseAddress
        return la_ssize_t(chunk.count)
    } catch {
        source.pendingError = error
        return -1
    }
}

/// Read callback of the inner handle: the outer stage's decompressed data, block by block.
/// The block stays valid until the outer stage is read again, i.e. until our next call,
/// which is exactly libarchive's contract for client buffers.
func observedTarRead(
    _ archive: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> la_ssize_t {
    guard let context, let out else { return -1 }
    let source = Unmanaged<ObservedSource>.fromOpaque(context).takeUnretainedValue()
    if let archive { source.window.willReplaceBlock(consumed: archive_filter_bytes(archive, 0)) }
    if let inflater = source.inflater {
        guard !source.outerEOF else { return 0 }
        do {
            guard let block = try inflater.nextBlock(refill: source.readFileChunk) else {
                source.outerEOF = true
                return 0
            }
            source.onTar(block)
            source.tarBytes += Int64(block.count)
            source.window.didDeliver(block)
            out.pointee = block.baseAddress
            return la_ssize_t(block.count)
        } catch {
            if source.pendingError == nil { source.pendingError = error }
            return -1
        }
    }
    // An empty file has no outer stage: its tar stream is empty.
    if source.outerEOF { return 0 }
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
            source.window.didDeliver(buffer)
            out.pointee = block
            return la_ssize_t(size)
        }
    }
    return 0
}

/// Whether ISA-L should decompress the file at `fd`: it starts the way libarchive's gzip
/// bidder requires (magic, deflate, no reserved flag bits), and its start decompresses to
/// something no libarchive filter claims. libarchive would stack a second filter there
/// (gzip in gzip, say), and only its own path reproduces that. Reads with pread, so the
/// observers still see the file from its first byte; a pipe is left to libarchive.
func isGzipForISAL(fd: Int32, growing: GrowingFile? = nil) throws(ArchiveError) -> Bool {
    // A file still arriving is read only as far as it has arrived.
    func available(at offset: Int64, length: Int) throws(ArchiveError) -> Int64 {
        guard let growing else { return .max }
        return try readableChunk(growing, at: offset, length: length)
    }
    var head: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
    guard try available(at: 0, length: 4) >= 4 else { return false }
    guard withUnsafeMutableBytes(of: &head, { pread(fd, $0.baseAddress, 4, 0) }) == 4,
          head.0 == 0x1f, head.1 == 0x8b, head.2 == 8, head.3 & 0xE0 == 0
    else { return false }

    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: ArchiveReader.defaultBlockSize, alignment: 16)
    defer { chunk.deallocate() }
    var position: off_t = 0
    let probe = GzipInflater()
    let start: UnsafeRawBufferPointer?
    do {
        start = try probe.nextBlock { () throws(ArchiveError) -> UnsafeRawBufferPointer? in
            let limit = min(Int64(chunk.count), try available(at: Int64(position), length: chunk.count) - Int64(position))
            guard limit > 0 else { return nil }
            let n = pread(fd, chunk.baseAddress, Int(limit), position)
            guard n > 0 else { return nil }
            position += off_t(n)
            return UnsafeRawBufferPointer(rebasing: chunk[0..<n])
        }
    } catch {
        return true  // ISA-L reports it, as clearly as libarchive would or more
    }
    guard let start else { return true }
    return !libarchiveStacksFilter(on: start)
}

/// Runs libarchive's filter bidders over the start of a decompressed stream. The first
/// output block (256 KiB) covers the furthest any bidder looks (uudecode, 128 KiB).
private func libarchiveStacksFilter(on data: UnsafeRawBufferPointer) -> Bool {
    guard let probe = archive_read_new() else { return true }
    defer { archive_read_free(probe) }
    guard archive_read_support_filter_all(probe) >= ARCHIVE_WARN,
          archive_read_support_format_raw(probe) >= ARCHIVE_WARN,
          archive_read_open_memory(probe, data.baseAddress, data.count) == ARCHIVE_OK
    else { return true }
    return (0..<archive_filter_count(probe)).contains { index in
        guard let name = archive_filter_name(probe, index) else { return false }
        return String(cString: name) != "none"
    }
}
