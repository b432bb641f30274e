@testable import ArchiveIO
import Foundation
import Testing

/// Inputs shared by the cases: a sample tar and its gzip member.
struct GzipFixture {
    let tmp: TempDir
    let tar: [UInt8]
    let member: [UInt8]

    func gzip(_ data: [UInt8]) throws -> [UInt8] { try gzipped(data, in: tmp) }
}

/// How the ISA-L path must compare with libarchive's on one input.
enum GzipOutcome: Sendable {
    /// Both succeed with identical observations; the tar stream is the sample tar if so marked.
    case identical(filters: [String], tarIsSample: Bool = true)
    /// Both fail; ISA-L's reason contains the text.
    case bothFail(String)
    /// libarchive accepts what is corrupt; ISA-L fails with a reason containing the text.
    case isalRejects(String)
    /// libarchive fails with a message containing the text; ISA-L reads an empty tar stream.
    case libarchiveRejects(String)
}

struct GzipCase: Sendable, CustomTestStringConvertible {
    let name: String
    let outcome: GzipOutcome
    let build: @Sendable (GzipFixture) throws -> [UInt8]

    var testDescription: String { name }
}

private func flipping(_ bytes: [UInt8], at index: Int, mask: UInt8 = 0xff) -> [UInt8] {
    var copy = bytes
    copy[index] ^= mask
    return copy
}

let gzipCases: [GzipCase] = [
    // (a) concatenated members
    GzipCase(name: "one member", outcome: .identical(filters: ["gzip"])) { $0.member },
    GzipCase(name: "gzip with name and time", outcome: .identical(filters: ["gzip"])) {
        try gzipped($0.tar, [], in: $0.tmp)
    },
    GzipCase(name: "three members", outcome: .identical(filters: ["gzip"])) { f in
        try gzippedMembers([Array(f.tar[..<100_001]), Array(f.tar[100_001..<333_333]), Array(f.tar[333_333...])], in: f.tmp)
    },
    GzipCase(name: "members of 4099 bytes", outcome: .identical(filters: ["gzip"])) { f in
        try gzippedMembers(stride(from: 0, to: f.tar.count, by: 4099).map { Array(f.tar[$0..<min($0 + 4099, f.tar.count)]) },
                           in: f.tmp)
    },
    GzipCase(name: "second member's 1f ends a 4096-byte chunk", outcome: .identical(filters: ["gzip"])) { f in
        // FEXTRA pads the first member to 4096k - 1 bytes.
        let head = try f.gzip(Array(f.tar[..<50_000]))
        let bare = try memberWithFields(head, extra: [], name: "a", comment: "b", headerCRC: false)
        let padding = (4096 - (bare.count + 1) % 4096) % 4096
        let first = try memberWithFields(head, extra: Array(repeating: 0x55, count: padding), name: "a", comment: "b",
                                         headerCRC: false)
        try #require(first.count % 4096 == 4095)
        return try first + f.gzip(Array(f.tar[50_000...]))
    },
    GzipCase(name: "empty member first", outcome: .identical(filters: ["gzip"])) { emptyMember + $0.member },
    GzipCase(name: "empty member last", outcome: .identical(filters: ["gzip"])) { $0.member + emptyMember },
    GzipCase(name: "header fields with a good CRC16", outcome: .identical(filters: ["gzip"])) { f in
        try memberWithFields(f.member, extra: [1, 2, 3, 4], name: "layer.tar", comment: "hi", headerCRC: true)
    },
    // libarchive stacks a filter on what gzip decompresses to; the ISA-L path leaves those
    // to it, so the filter names (libarchive lists the innermost first) match too.
    GzipCase(name: "gzip inside gzip", outcome: .identical(filters: ["gzip", "gzip"])) { f in
        try f.gzip(f.member)
    },
    GzipCase(name: "zstd inside gzip", outcome: .identical(filters: ["zstd", "gzip"], tarIsSample: false)) { f in
        let path = f.tmp.file("inner.tar.zst")
        let writer = try ArchiveWriter(path: path, compression: .zstd)
        try addFile(writer, Array("z.txt".utf8), Array("zstd inside\n".utf8))
        try writer.finish()
        return try f.gzip([UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
    },
    // (b), (c) bytes after the last member
    GzipCase(name: "trailing zero bytes", outcome: .identical(filters: ["gzip"])) { $0.member + Array(repeating: 0, count: 1000) },
    GzipCase(name: "trailing text", outcome: .identical(filters: ["gzip"])) { $0.member + Array("not gzip\n".utf8) },
    GzipCase(name: "trailing lone 1f", outcome: .identical(filters: ["gzip"])) { $0.member + [0x1f] },
    GzipCase(name: "trailing 1f 8b then junk", outcome: .isalRejects("compression method other than deflate")) {
        $0.member + [0x1f, 0x8b] + Array("xyz junk".utf8)
    },
    GzipCase(name: "trailing 1f 8b alone", outcome: .isalRejects("truncated: the file ends inside a gzip header")) {
        $0.member + [0x1f, 0x8b]
    },
    GzipCase(name: "trailing header with reserved flags", outcome: .isalRejects("corrupt deflate data")) {
        $0.member + [0x1f, 0x8b, 8, 0xe0] + Array(repeating: 0, count: 30)
    },
    GzipCase(name: "trailing cut-off header", outcome: .isalRejects("truncated: the file ends inside a gzip header")) {
        $0.member + $0.member[..<6]
    },
    // (d) truncation
    GzipCase(name: "cut in half", outcome: .bothFail("truncated: the file ends inside a gzip member's compressed data")) {
        Array($0.member[..<($0.member.count / 2)])
    },
    GzipCase(name: "cut inside the trailer", outcome: .bothFail("truncated: the file ends inside a gzip trailer")) {
        Array($0.member.dropLast(4))
    },
    GzipCase(name: "no trailer", outcome: .bothFail("truncated: the file ends inside a gzip trailer")) {
        Array($0.member.dropLast(8))
    },
    GzipCase(name: "cut inside the header", outcome: .bothFail("truncated: the file ends inside a gzip header")) {
        Array($0.member[..<6])
    },
    GzipCase(name: "second member cut in half", outcome: .bothFail("truncated")) { f in
        f.member + f.member[..<(f.member.count / 2)]
    },
    // (e) corrupt deflate data: zlib only notices a broken block header; libarchive skips
    // the CRC32 check that would catch the rest.
    GzipCase(name: "flipped byte in a deflate block header", outcome: .bothFail("corrupt deflate data")) {
        flipping($0.member, at: 12)
    },
    GzipCase(name: "flipped byte in Huffman-coded data", outcome: .isalRejects("CRC32 or length mismatch")) {
        flipping($0.member, at: $0.member.count - 2000)
    },
    GzipCase(name: "flipped byte in stored data", outcome: .isalRejects("CRC32 or length mismatch")) {
        flipping($0.member, at: 100_000)
    },
    // (f) trailer and header checksums
    GzipCase(name: "wrong CRC32", outcome: .isalRejects("CRC32 or length mismatch")) {
        flipping($0.member, at: $0.member.count - 8, mask: 1)
    },
    GzipCase(name: "wrong length", outcome: .isalRejects("CRC32 or length mismatch")) {
        flipping($0.member, at: $0.member.count - 1, mask: 1)
    },
    GzipCase(name: "wrong header CRC16", outcome: .isalRejects("gzip header's CRC16")) { f in
        try memberWithFields(f.member, extra: [], name: "x", comment: "", headerCRC: true, corruptHeaderCRC: true)
    },
    // (g) an empty member alone
    GzipCase(name: "only an empty member", outcome: .libarchiveRejects("Unrecognized archive format")) { _ in emptyMember },
]

@Suite struct GzipDifferential {
    @Test(arguments: gzipCases, [4096, ArchiveReader.defaultBlockSize])
    func isalMatchesLibarchive(_ testCase: GzipCase, blockSize: Int) throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let sample = try #require(sharedSample)
        let tar = sample.tar
        let fixture = GzipFixture(tmp: tmp, tar: tar, member: sample.member)
        let bytes = try testCase.build(fixture)
        let path = tmp.file("case.gz")
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let isal = observe(path, .isal, blockSize: blockSize)
        let libarchive = observe(path, .libarchive, blockSize: blockSize)
        // Whatever happens, the file observer sees the file's bytes in order, once each.
        #expect(prefixProblem(isal.fileSeen, of: bytes) == nil)
        #expect(prefixProblem(libarchive.fileSeen, of: bytes) == nil)

        switch testCase.outcome {
        case let .identical(filters, tarIsSample):
            #expect(isal.error == nil, "\(isal.error.map(String.init(describing:)) ?? "")")
            #expect(libarchive.error == nil, "\(libarchive.error.map(String.init(describing:)) ?? "")")
            #expect(isal.filters == filters)
            #expect(summary(isal.fileSeen) == summary(bytes))
            #expect(isal.fileBytes == Int64(bytes.count))
            #expect(isal.tarBytes == Int64(isal.tarSeen.count))
            if tarIsSample {
                #expect(summary(isal.tarSeen) == summary(tar))
                #expect(isal.entries == (try plainEntries(tar, in: tmp)))
            } else {
                #expect(!isal.entries.isEmpty)
            }
            #expect(isal == libarchive)
        case let .bothFail(reason):
            expectGzipFailure(isal, reason)
            #expect(libarchive.error != nil, "libarchive accepted it")
        case let .isalRejects(reason):
            expectGzipFailure(isal, reason)
            #expect(libarchive.error == nil, "libarchive now rejects it too: \(String(describing: libarchive.error))")
            #expect(libarchive.filters == ["gzip"])
        case let .libarchiveRejects(message):
            #expect("\(String(describing: libarchive.error))".contains(message), "\(String(describing: libarchive.error))")
            #expect(isal.error == nil)
            #expect(isal.filters == ["gzip"])
            #expect(isal.entries.isEmpty)
            #expect(summary(isal.fileSeen) == summary(bytes) && isal.fileBytes == Int64(bytes.count))
            #expect(isal.tarSeen.isEmpty && isal.tarBytes == 0)
        }
    }
}

/// The pass failed with a gzip error whose text names what went wrong.
private func expectGzipFailure(_ observation: Observation, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard case let .corruptGzip(actual, offset)? = observation.error else {
        Issue.record("expected a gzip error containing \"\(reason)\", got \(String(describing: observation.error))",
                     sourceLocation: sourceLocation)
        return
    }
    #expect(actual.contains(reason), "\(actual)", sourceLocation: sourceLocation)
    #expect(offset >= 0 && offset <= Int64(observation.fileSeen.count), sourceLocation: sourceLocation)
    #expect(observation.error?.description.contains("gzip decompression failed") == true, sourceLocation: sourceLocation)
}
