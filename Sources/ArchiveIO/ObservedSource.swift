import CArchive
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// State shared with the C callbacks of `ObservedTarReader`; owned by the reader, passed
/// unretained.
final class ObservedSource {
    let source: any ByteSource
    let buffer: UnsafeMutableRawBufferPointer
    let onFile: (UnsafeRawBufferPointer) -> Void
    let onTar: (UnsafeRawBufferPointer) -> Void
    /// The outer stage: exactly one of these for a non-empty file.
    var outer: OpaquePointer?
    var inflater: GzipInflater?
    /// The outer stage has delivered all of the decompressed stream.
    var outerEOF = false
    /// The source's end has been read.
    var fileEOF = false
    var fileBytes: Int64 = 0
    var tarBytes: Int64 = 0
    var pendingError: ArchiveError?
    /// The tar bytes around the header the inner handle is reading.
    var window = TarHeaderWindow()

    init(source: any ByteSource, blockSize: Int, onFile: @escaping (UnsafeRawBufferPointer) -> Void,
         onTar: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.source = source
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        self.onFile = onFile
        self.onTar = onTar
    }

    deinit { buffer.deallocate() }

    /// Reads the next chunk of the source into `buffer` and observes it; nil at its end.
    func readFileChunk() throws(ArchiveError) -> UnsafeRawBufferPointer? {
        guard !fileEOF, let base = buffer.baseAddress else { return nil }
        let n = try readSource(source, at: fileBytes, into: buffer)
        guard n > 0 else {
            fileEOF = true
            return nil
        }
        let chunk = UnsafeRawBufferPointer(start: base, count: n)
        onFile(chunk)
        fileBytes += Int64(n)
        return chunk
    }
}

/// `source.read`, its failures as `ArchiveError` (a download's own error keeps its text).
func readSource(_ source: any ByteSource, at offset: Int64, into buffer: UnsafeMutableRawBufferPointer)
    throws(ArchiveError) -> Int
{
    do {
        return try source.read(at: offset, into: buffer)
    } catch let error as ArchiveError {
        throw error
    } catch {
        throw ArchiveError.libarchive(operation: "read", severity: .fatal, errno: 0, message: "\(error)")
    }
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

/// Whether ISA-L should decompress `source`: it starts the way libarchive's gzip bidder
/// requires (magic, deflate, no reserved flag bits), and its start decompresses to something
/// no libarchive filter claims. libarchive would stack a second filter there (gzip in gzip,
/// say), and only its own path reproduces that. Positional reads, so the observers still see
/// the source from its first byte.
func isGzipForISAL(_ source: any ByteSource) throws(ArchiveError) -> Bool {
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: ArchiveReader.defaultBlockSize, alignment: 16)
    defer { chunk.deallocate() }
    guard try readSource(source, at: 0, into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<4])) == 4,
          chunk[0] == 0x1f, chunk[1] == 0x8b, chunk[2] == 8, chunk[3] & 0xE0 == 0
    else { return false }

    var position: Int64 = 0
    let probe = GzipInflater()
    let start: UnsafeRawBufferPointer?
    do {
        start = try probe.nextBlock { () throws(ArchiveError) -> UnsafeRawBufferPointer? in
            let n = try readSource(source, at: position, into: chunk)
            guard n > 0 else { return nil }
            position += Int64(n)
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
