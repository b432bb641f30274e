import ArchiveIO
import Foundation
import TarFixtures
import Testing

/// What one read of a layer gave: the members' names (as libarchive read them) and the
/// error that ended it, if any.
private struct LayerRead {
    var names: [String] = []
    var warnings: [String] = []
    var error: (any Error)?
}

private func writeLayer(_ bytes: [UInt8], compression: String?, in dir: TempDir) throws -> String {
    let path = dir.file(UUID().uuidString + ".tar")
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    guard let compression else { return path }
    let tool = try #require(findTool(compression))
    try #require(runTool(tool, ["-q", "-c", path], stdoutTo: path + "." + compression).status == 0)
    return path + "." + compression
}

private func observe(_ bytes: [UInt8], compression: String? = nil, blockSize: Int = ArchiveReader.defaultBlockSize,
                     in dir: TempDir) throws -> LayerRead {
    let path = try writeLayer(bytes, compression: compression, in: dir)
    var result = LayerRead()
    do {
        let reader = try ObservedTarReader(path: path, blockSize: blockSize, onFileBytes: { _ in }, onTarBytes: { _ in })
        defer { try? reader.close() }
        while let entry = try reader.nextEntry() {
            result.names.append(String(decoding: entry.pathnameBytes ?? [], as: UTF8.self))
            try reader.readDataBlocks { _, _ in }
        }
        _ = try reader.finish()
        result.warnings = reader.warnings
    } catch {
        result.error = error
    }
    return result
}

private func isDamaged(_ error: (any Error)?) -> Bool {
    guard case let .libarchive(_, severity, _, message)? = error as? ArchiveError else { return false }
    return severity == .retry && message.contains("Damaged tar archive")
}

/// Whether `error` refuses the member `entry` (as libarchive named it) for a NUL in `key`.
private func refusesNUL(_ error: (any Error)?, entry: String, key: String) -> Bool {
    guard let error = error as? ArchiveError else { return false }
    let text = "\(error)"
    return text.contains("malformed tar header of \"\(entry)\"") && text.contains("\"\(key)\" holds a NUL byte")
}

@Suite struct DamagedHeaders {
    /// libarchive says ARCHIVE_RETRY at bytes that are no header; retrying resynced past
    /// them and read the member behind them as if nothing happened.
    @Test func junkBetweenMembersEndsTheRead() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let bytes = RawTar.member("first", data: Array("1\n".utf8)) + Array(repeating: UInt8(ascii: "j"), count: 512)
            + RawTar.member("hidden", data: Array("2\n".utf8)) + RawTar.end
        let read = try observe(bytes, in: dir)
        #expect(read.names == ["first"])
        #expect(isDamaged(read.error), "\(String(describing: read.error))")
    }

    /// A header with a bad checksum: the retry skipped the member (and read its data as
    /// headers until something parsed).
    @Test(arguments: [nil, "gzip", "zstd"])
    func badChecksumEndsTheRead(compression: String?) throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let bytes = RawTar.member("first", data: Array("1\n".utf8))
            + RawTar.header("bad", size: 2, checksum: 0o1234) + RawTar.padded(Array("2\n".utf8))
            + RawTar.member("third", data: Array("3\n".utf8)) + RawTar.end
        let read = try observe(bytes, compression: compression, in: dir)
        #expect(read.names == ["first"])
        #expect(isDamaged(read.error), "\(String(describing: read.error))")
    }

    @Test func generalReaderRefusesDamageToo() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let bytes = RawTar.member("first") + RawTar.header("bad", checksum: 1) + RawTar.member("third") + RawTar.end
        let path = try writeLayer(bytes, compression: nil, in: dir)
        let reader = try ArchiveReader(path: path)
        #expect(try reader.nextEntry()?.pathname == "first")
        #expect(throws: ArchiveError.self) { try reader.nextEntry() }
    }

    /// A malformed pax record: libarchive ignores the rest of the pax header with a warning
    /// and reads the member under its ustar name; Go's archive/tar refuses it.
    @Test func malformedPaxRecordIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var pax = RawTar.pax([("path", Array("pax-name".utf8))])
        let good = Array("17 path=".utf8)
        let start = try #require((512..<pax.count).first { pax[$0..<$0 + good.count].elementsEqual(good) })
        pax.replaceSubrange(start..<start + 2, with: Array("99".utf8))
        let read = try observe(pax + RawTar.member("ustar-name", data: [1]) + RawTar.end, in: dir)
        #expect(read.names.isEmpty)
        let text = "\(read.error.map { "\($0)" } ?? "no error")"
        #expect(text.contains("malformed tar header of \"ustar-name\"") && text.contains("malformed pax extended attribute"), "\(text)")
    }

    /// A name that is not valid UTF-8 is only a warning (libarchive keeps its bytes).
    @Test func nameThatIsNotUTF8StaysAWarning() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let bytes = RawTar.pax([("path", [0x6C, 0x61, 0x74, 0x69, 0x6E, 0xE9])]) + RawTar.member("ascii", data: [1])
            + RawTar.end
        let read = try observe(bytes, in: dir)
        #expect(read.error == nil, "\(String(describing: read.error))")
        #expect(read.names.count == 1)
        #expect(!read.warnings.isEmpty)
    }
}

@Suite struct PaxNamesWithNUL {
    /// libarchive keeps pax values as C strings: `path=etc/cut-here\0.hidden` named the member
    /// `etc/cut-here` without a word.
    @Test func pathWithNULIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let bytes = RawTar.member("before") + RawTar.pax([("path", Array("etc/cut-here\0.hidden".utf8))])
            + RawTar.member("innocent", data: Array("x".utf8)) + RawTar.end
        let read = try observe(bytes, in: dir)
        #expect(read.names == ["before"])
        #expect(refusesNUL(read.error, entry: "etc/cut-here", key: "path"), "\(String(describing: read.error))")
    }

    @Test func linkpathWithNULIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let bytes = RawTar.pax([("linkpath", Array("target\0.hidden".utf8))]) + RawTar.member("link", type: "2", linkname: "x")
            + RawTar.end
        let read = try observe(bytes, in: dir)
        #expect(refusesNUL(read.error, entry: "link", key: "linkpath"), "\(String(describing: read.error))")
    }

    @Test func sparseNameWithNULIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let bytes = RawTar.sparse("cut\0hidden", size: 4096, regions: [(1000, Array("data".utf8))]) + RawTar.end
        let read = try observe(bytes, in: dir)
        #expect(refusesNUL(read.error, entry: "cut", key: "GNU.sparse.name"), "\(String(describing: read.error))")
    }

    /// The header bytes are kept across block boundaries of every size and decompressor:
    /// hundreds of members with long pax headers (one of 200 KiB) read without a false alarm,
    /// and a NUL deep inside is found.
    @Test(arguments: [nil, "gzip", "zstd"], [4096, ArchiveReader.defaultBlockSize])
    func foundWhereverTheHeaderFalls(compression: String?, blockSize: Int) throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        func layer(nulAt bad: Int?) -> [UInt8] {
            var bytes: [UInt8] = []
            for index in 0..<300 {
                let name = "dir-\(index)/" + String(repeating: "n", count: 100 + index * 7 % 900)
                var records: [(String, [UInt8])] = [("path", Array(name.utf8) + (index == bad ? [0, 0x41] : []))]
                records.append(("SCHILY.xattr.user.pad", noise(index == 150 ? 200 << 10 : index * 13 % 700, seed: UInt64(index + 1))))
                bytes += RawTar.pax(records) + RawTar.member("short-\(index)", data: noise(index * 31 % 2000, seed: 7))
            }
            return bytes + RawTar.end
        }
        let clean = try observe(layer(nulAt: nil), compression: compression, blockSize: blockSize, in: dir)
        #expect(clean.error == nil, "\(String(describing: clean.error))")
        #expect(clean.names.count == 300)
        for bad in [0, 150, 151, 299] {
            let read = try observe(layer(nulAt: bad), compression: compression, blockSize: blockSize, in: dir)
            #expect(read.names.count == bad)
            #expect(refusesNUL(read.error, entry: "dir-\(bad)/" + String(repeating: "n", count: 100 + bad * 7 % 900), key: "path"),
                    "member \(bad): \(String(describing: read.error))")
        }
    }
}
