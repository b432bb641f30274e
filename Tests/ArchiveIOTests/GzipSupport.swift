@testable import ArchiveIO
import Foundation
import Testing

/// Everything one pass of `ObservedTarReader` shows: entries with their data, what both
/// observers saw, the totals, and the error that ended the pass, if any. Printed as
/// lengths and hashes, so a failed expectation shows a few lines rather than megabytes.
struct Observation: Equatable, CustomStringConvertible {
    struct Entry: Equatable, CustomStringConvertible {
        var name: String
        var data: [UInt8]

        var description: String { "\(name): \(summary(data))" }
    }

    var filters: [String] = []
    var entries: [Entry] = []
    var fileSeen: [UInt8] = []
    var tarSeen: [UInt8] = []
    var fileBytes: Int64?
    var tarBytes: Int64?
    var error: ArchiveError?

    var description: String {
        """
        filters \(filters), entries \(entries), file observer \(summary(fileSeen)), \
        tar observer \(summary(tarSeen)), totals \(String(describing: fileBytes))/\(String(describing: tarBytes)), \
        error \(error.map { "\($0)" } ?? "none")
        """
    }
}

/// Length and FNV-1a hash of bytes.
func summary(_ bytes: [UInt8]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return "\(bytes.count) bytes #\(String(hash, radix: 16))"
}

/// Whether `seen` is the start of `bytes`, as a failed expectation's message.
func prefixProblem(_ seen: [UInt8], of bytes: [UInt8]) -> String? {
    bytes.starts(with: seen) ? nil : "\(summary(seen)) is not a prefix of \(summary(bytes))"
}

/// The sample tar and gzip(1)'s member of it, built once for all tests.
struct SampleStreams: Sendable {
    let tar: [UInt8]
    let member: [UInt8]
}

let sharedSample: SampleStreams? = {
    guard let tmp = try? TempDir() else { return nil }
    defer { tmp.cleanup() }
    guard let tar = try? sampleTar(in: tmp), let member = try? gzipped(tar, in: tmp) else { return nil }
    return SampleStreams(tar: tar, member: member)
}()

/// Reads every entry, all data and `finish()`, collecting what the reader shows.
func observe(_ path: String, _ decoder: ObservedTarReader.GzipDecoder, blockSize: Int = ArchiveReader.defaultBlockSize)
    -> Observation
{
    final class Sink {
        var file: [UInt8] = []
        var tar: [UInt8] = []
    }
    let sink = Sink()
    var result = Observation()
    do {
        let reader = try ObservedTarReader(
            source: try FileSource(path: path), blockSize: blockSize, gzipDecoder: decoder,
            onFileBytes: { sink.file.append(contentsOf: $0) },
            onTarBytes: { sink.tar.append(contentsOf: $0) })
        defer { try? reader.close() }
        result.filters = reader.filterNames
        while let entry = try reader.nextEntry() {
            var data: [UInt8] = []
            try reader.readDataBlocks { block, offset in
                #expect(offset == Int64(data.count))
                data.append(contentsOf: block)
            }
            result.entries.append(.init(name: entry.pathname ?? "?", data: data))
        }
        let totals = try reader.finish()
        result.fileBytes = totals.fileBytes
        result.tarBytes = totals.tarBytes
    } catch let error as ArchiveError {
        result.error = error
    } catch {
        Issue.record("unexpected error type: \(error)")
    }
    result.fileSeen = sink.file
    result.tarSeen = sink.tar
    return result
}

/// CRC-32 (IEEE), bitwise: only for the few bytes of hand-built gzip headers.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// Compresses with the system gzip (a real deflate encoder; Debian always has it).
/// `arguments` beyond `-c` shape the header, e.g. `-n` for no name and no time.
func gzipped(_ data: [UInt8], _ arguments: [String] = ["-n"], in tmp: TempDir) throws -> [UInt8] {
    try gzippedMembers([data], arguments, in: tmp)
}

/// One gzip member per part, concatenated (what `gzip -c a b c` writes).
func gzippedMembers(_ parts: [[UInt8]], _ arguments: [String] = ["-n"], in tmp: TempDir) throws -> [UInt8] {
    guard let tool = findTool("gzip") else { throw GzipToolMissing() }
    let stem = tmp.file("gzip-\(UUID().uuidString)")
    let inputs = parts.indices.map { "\(stem)-\($0)" }
    defer { for path in inputs + [stem] { try? FileManager.default.removeItem(atPath: path) } }
    for (part, path) in zip(parts, inputs) { try Data(part).write(to: URL(fileURLWithPath: path)) }
    let result = try runTool(tool, arguments + ["-c"] + inputs, stdoutTo: stem)
    guard result.status == 0 else { throw GzipToolMissing(message: result.stderr) }
    return try [UInt8](Data(contentsOf: URL(fileURLWithPath: stem)))
}

struct GzipToolMissing: Error {
    var message = "gzip(1) is needed to build test streams"
}

/// The parts of a plain (flags 0, 10-byte header) gzip member.
func splitMember(_ member: [UInt8]) throws -> (deflate: ArraySlice<UInt8>, trailer: ArraySlice<UInt8>) {
    try #require(member.count >= 18 && member[3] == 0, "expected a member without header fields")
    return (member[10..<(member.count - 8)], member[(member.count - 8)...])
}

/// Rebuilds a member with FEXTRA, FNAME, FCOMMENT and (optionally) FHCRC in its header.
func memberWithFields(_ plain: [UInt8], extra: [UInt8], name: String, comment: String, headerCRC: Bool,
                      corruptHeaderCRC: Bool = false) throws -> [UInt8]
{
    let (deflate, trailer) = try splitMember(plain)
    let flags: UInt8 = 4 | 8 | 16 | (headerCRC ? 2 : 0)
    var header: [UInt8] = [0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 0xff]
    header += [UInt8(extra.count & 0xff), UInt8(extra.count >> 8)] + extra
    header += Array(name.utf8) + [0] + Array(comment.utf8) + [0]
    if headerCRC {
        let crc = crc32(header) ^ (corruptHeaderCRC ? 1 : 0)
        header += [UInt8(crc & 0xff), UInt8((crc >> 8) & 0xff)]
    }
    return header + deflate + trailer
}

/// The 20-byte gzip member of no data.
let emptyMember: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]

/// A tar of incompressible noise (stored deflate blocks), text (Huffman-coded blocks) and a
/// small file, in that order.
func sampleTar(in tmp: TempDir, noiseBytes: Int = 300_000, textLines: Int = 12_000) throws -> [UInt8] {
    let path = tmp.file("sample-\(UUID().uuidString).tar")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let writer = try ArchiveWriter(path: path)
    try addFile(writer, Array("noise.bin".utf8), noise(noiseBytes, seed: 42))
    let text = (0..<textLines).map { "line \($0): the quick brown fox \($0 * 7919 % 1000)\n" }.joined()
    try addFile(writer, Array("text.txt".utf8), Array(text.utf8))
    try addFile(writer, Array("small.txt".utf8), Array("small\n".utf8))
    try writer.finish()
    return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
}

/// What the entries of `sampleTar` hold, read back by libarchive from the plain tar.
func plainEntries(_ tar: [UInt8], in tmp: TempDir) throws -> [Observation.Entry] {
    let path = tmp.file("plain-\(UUID().uuidString).tar")
    try Data(tar).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let plain = observe(path, .libarchive)
    try #require(plain.error == nil && plain.filters.isEmpty)
    return plain.entries
}

/// Feeds `input` to a `GzipInflater` in chunks of `chunkSize` and returns all output and
/// where in the input decompression stopped.
func inflate(_ input: [UInt8], chunkSize: Int, outputCapacity: Int = GzipInflater.defaultOutputCapacity)
    throws(ArchiveError) -> (output: [UInt8], offset: Int64)
{
    let inflater = GzipInflater(outputCapacity: outputCapacity)
    // The chunk is rewritten in place like ObservedSource's buffer, so a stale pointer
    // into an earlier chunk would show up as wrong output.
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 1)
    defer { chunk.deallocate() }
    var position = 0
    var output: [UInt8] = []
    while let block = try inflater.nextBlock(refill: { () throws(ArchiveError) -> UnsafeRawBufferPointer? in
        guard position < input.count else { return nil }
        let count = min(chunkSize, input.count - position)
        input.withUnsafeBytes { chunk.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[position..<(position + count)])) }
        position += count
        return UnsafeRawBufferPointer(rebasing: chunk[0..<count])
    }) {
        output += block
    }
    return (output, inflater.compressedOffset)
}
