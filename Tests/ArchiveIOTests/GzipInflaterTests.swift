@testable import ArchiveIO
import Foundation
import Testing

@Suite struct GzipInflaterStreaming {
    /// Members, empty members and trailing garbage, fed in chunks of every awkward size
    /// (1 byte puts every member boundary and every 1f at a chunk edge).
    @Test(arguments: [1, 2, 7, 4096, 1 << 20])
    func chunkingDoesNotChangeTheOutput(chunkSize: Int) throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let first = noise(70_000, seed: 1) + Array(repeating: 7, count: 50_000)
        let second = Array("second member\n".utf8)
        let stream = try gzipped(first, in: tmp) + emptyMember + gzipped(second, [], in: tmp)
        for tail: [UInt8] in [[], [0x1f], [0x1f, 0x00], [0], Array("garbage".utf8)] {
            let (output, offset) = try inflate(stream + tail, chunkSize: chunkSize, outputCapacity: 10_000)
            #expect(summary(output) == summary(first + second), "tail \(tail)")
            // ISA-L hands back the bytes it read ahead: the stream ends exactly after the last trailer.
            #expect(offset == Int64(stream.count), "tail \(tail)")
        }
    }

    @Test func endsOnlyAfterTheWholeMember() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let member = try gzipped(Array(repeating: 65, count: 100_000), in: tmp)
        // Every cut inside the member is an error, at any chunking; the complete member is not.
        for cut in [1, 2, 9, 10, 11, member.count / 2, member.count - 8, member.count - 1] {
            for chunkSize in [1, 3, 64 * 1024] {
                #expect(throws: ArchiveError.self, "cut \(cut), chunk \(chunkSize)") {
                    _ = try inflate(Array(member[..<cut]), chunkSize: chunkSize)
                }
            }
        }
        #expect(try inflate(member, chunkSize: 3).output == Array(repeating: 65, count: 100_000))
    }

    @Test func errorsAreSticky() throws {
        let inflater = GzipInflater()
        let garbage: [UInt8] = [0x1f, 0x8b, 9, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3]
        var served = false
        let refill = { () throws(ArchiveError) -> UnsafeRawBufferPointer? in
            defer { served = true }
            return served ? nil : garbage.withUnsafeBytes { UnsafeRawBufferPointer(start: $0.baseAddress, count: $0.count) }
        }
        var first: ArchiveError?
        do { _ = try inflater.nextBlock(refill: refill) } catch { first = error }
        #expect(first == .corruptGzip(reason: "the gzip header names a compression method other than deflate", offset: 10))
        #expect(throws: first!) { try inflater.nextBlock(refill: refill) }
    }
}

@Suite struct GzipLargeTar {
    /// Several files of random content, some far larger than the 256 KiB output block, one
    /// exactly that size, compressed by gzip(1), by libarchive and as several members.
    @Test func everyByteMatches() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let sizes = [3_000_000, 262_144, 262_145, 0, 1, 700_000, 1_500_000]
        var files: [(String, [UInt8])] = []
        for (index, size) in sizes.enumerated() {
            // Half noise, half runs: both stored and Huffman-coded deflate blocks.
            let random = noise(size / 2, seed: UInt64(index + 1) &* 0x9E37_79B9)
            let runs = (0..<(size - size / 2)).map { UInt8(truncatingIfNeeded: ($0 / 97) &* 31) }
            files.append(("dir/file-\(index).bin", random + runs))
        }
        let tarPath = tmp.file("big.tar")
        let writer = try ArchiveWriter(path: tarPath)
        for (name, content) in files { try addFile(writer, Array(name.utf8), content) }
        try writer.finish()
        let tar = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tarPath)))
        #expect(tar.count > 5_000_000)

        let gzPath = tmp.file("big.tar.gz")
        let libarchiveGzip = try ArchiveWriter(path: gzPath, compression: .gzip)
        for (name, content) in files { try addFile(libarchiveGzip, Array(name.utf8), content) }
        try libarchiveGzip.finish()
        let cuts = [0, 1_234_567, 1_234_600, 5_000_001, tar.count]
        let members = try gzippedMembers(zip(cuts, cuts.dropFirst()).map { Array(tar[$0..<$1]) }, in: tmp)
        let variants: [(String, [UInt8])] = [
            ("gzip(1)", try gzipped(tar, ["-1", "-n"], in: tmp)),
            ("libarchive", try [UInt8](Data(contentsOf: URL(fileURLWithPath: gzPath)))),
            ("four members", members),
        ]
        for (label, bytes) in variants {
            let path = tmp.file("variant.gz")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let isal = observe(path, .isal)
            let libarchive = observe(path, .libarchive)
            #expect(isal.error == nil && libarchive.error == nil, "\(label)")
            #expect(isal.filters == ["gzip"], "\(label)")
            #expect(isal.entries.map(\.name) == files.map(\.0), "\(label)")
            #expect(isal.entries == files.map { Observation.Entry(name: $0.0, data: $0.1) }, "\(label)")
            #expect(summary(isal.tarSeen) == summary(tar), "\(label)")
            #expect(summary(isal.fileSeen) == summary(bytes), "\(label)")
            #expect(isal.fileBytes == Int64(bytes.count) && isal.tarBytes == Int64(tar.count), "\(label)")
            #expect(isal == libarchive, "\(label)")
        }
    }
}

@Suite struct GzipErrors {
    @Test func truncatedLayerNamesTheProblemAndWhere() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let member = try #require(sharedSample).member
        let path = tmp.file("cut.gz")
        try Data(member[..<(member.count / 2)]).write(to: URL(fileURLWithPath: path))
        do {
            // ISA-L fills a 256 KiB block before handing it out, so this fails as early as the
            // open, which reads the first block to detect the format.
            let reader = try ObservedTarReader(path: path, onFileBytes: { _ in }, onTarBytes: { _ in })
            while try reader.nextEntry() != nil {
                try reader.readDataBlocks { _, _ in }
            }
            _ = try reader.finish()
            Issue.record("a truncated layer was read without error")
        } catch let error as ArchiveError {
            #expect(error == .corruptGzip(
                reason: "truncated: the file ends inside a gzip member's compressed data", offset: Int64(member.count / 2)))
            #expect(error.description == "gzip decompression failed at compressed byte \(member.count / 2): "
                + "truncated: the file ends inside a gzip member's compressed data")
        }
    }

    @Test func crcMismatchFailsTheRead() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let sample = try #require(sharedSample)
        let tar = sample.tar
        var member = sample.member
        member[member.count - 5] ^= 0x80
        let path = tmp.file("crc.gz")
        try Data(member).write(to: URL(fileURLWithPath: path))
        let observed = observe(path, .isal)
        #expect(observed.error == .corruptGzip(
            reason: "CRC32 or length mismatch: the decompressed data does not match the gzip trailer",
            offset: Int64(member.count)))
        // The block holding the member's end is withheld: data that failed the check is not
        // handed out.
        #expect(observed.tarSeen.count % GzipInflater.defaultOutputCapacity == 0)
        #expect(observed.tarSeen.count < tar.count && prefixProblem(observed.tarSeen, of: tar) == nil)
    }
}
