import ArchiveIO
import Foundation
import Testing

private let payload = noise(300_000)

/// Writes a plain tar with one incompressible file and one small file.
private func writePlainTar(_ path: String, compression: ArchiveWriter.Compression = .none) throws {
    let writer = try ArchiveWriter(path: path, compression: compression)
    try addFile(writer, Array("blob.bin".utf8), payload)
    try addFile(writer, Array("small.txt".utf8), Array("small\n".utf8))
    try writer.finish()
}

/// Reads every entry back; returns (name, data) pairs and the filter names.
private func readBack(_ path: String) throws -> (entries: [(String, [UInt8])], filters: [String]) {
    let reader = try ArchiveReader(path: path)
    var entries: [(String, [UInt8])] = []
    while let entry = try reader.nextEntry() {
        var data: [UInt8] = []
        try reader.readDataBlocks { block, offset in
            #expect(offset == Int64(data.count))
            data.append(contentsOf: block)
        }
        entries.append((entry.pathname ?? "?", data))
    }
    let filters = reader.filterNames
    try reader.close()
    return (entries, filters)
}

private func expectFixtureContent(_ entries: [(String, [UInt8])]) {
    #expect(entries.map(\.0) == ["blob.bin", "small.txt"])
    #expect(entries.first?.1 == payload)
    #expect(entries.last?.1 == Array("small\n".utf8))
}

@Suite struct Compression {
    @Test(arguments: [("gzip", "gzip"), ("zstd", "zstd")])
    func compressedByCommandLineTool(tool: String, filter: String) throws {
        guard let path = findTool(tool) else { return }
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        try writePlainTar(tmp.file("plain.tar"))
        let result = try runTool(path, ["-c", tmp.file("plain.tar")], stdoutTo: tmp.file("layer.tar.x"))
        try #require(result.status == 0, "\(result.stderr)")

        let (entries, filters) = try readBack(tmp.file("layer.tar.x"))
        #expect(filters == [filter])
        expectFixtureContent(entries)
    }

    @Test(arguments: [(ArchiveWriter.Compression.gzip, "gzip"), (.zstd, "zstd"), (.none, String?.none)] as [(ArchiveWriter.Compression, String?)])
    func compressedByLibarchive(compression: ArchiveWriter.Compression, filter: String?) throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        try writePlainTar(tmp.file("layer"), compression: compression)
        let (entries, filters) = try readBack(tmp.file("layer"))
        #expect(filters == (filter.map { [$0] } ?? []))
        expectFixtureContent(entries)
    }

    @Test func truncatedGzipThrowsLibarchiveMessage() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let path = tmp.file("layer.tar.gz")
        try writePlainTar(path, compression: .gzip)
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: path))

        let reader = try ArchiveReader(path: path)
        do {
            while try reader.nextEntry() != nil {
                _ = try readAll(reader, bufferSize: 4096)
            }
            Issue.record("truncated archive was read without error")
        } catch let error as ArchiveError {
            guard case .libarchive(_, let severity, _, let message) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(severity == .fatal)
            #expect(message.contains("Truncated") || message.contains("truncated"), "\(message)")
            #expect(error.description.contains(message))
        }
    }
}

@Suite struct Errors {
    @Test func missingFileCarriesErrno() throws {
        do {
            _ = try ArchiveReader(path: "/nonexistent/layer.tar")
            Issue.record("expected an error")
        } catch let ArchiveError.libarchive(operation, severity, code, message) {
            #expect(operation.contains("archive_read_open_filename"))
            #expect(severity == .fatal)
            #expect(code == ENOENT)
            #expect(message.contains("/nonexistent/layer.tar"), "\(message)")
        }
    }

    @Test func garbageIsRejected() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        try Data(noise(4096)).write(to: URL(fileURLWithPath: tmp.file("junk")))
        // Format detection happens while opening, or at the latest on the first header.
        #expect {
            let reader = try ArchiveReader(path: tmp.file("junk"))
            _ = try reader.nextEntry()
        } throws: { error in
            guard case ArchiveError.libarchive(_, _, _, let message) = error else { return false }
            return message.contains("Unrecognized archive format") && !"\(error)".contains("multibyte")
        }
    }

    @Test func writingMoreThanDeclaredSizeThrows() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let writer = try ArchiveWriter(path: tmp.file("x.tar"))
        let entry = try ArchiveEntry()
        entry.pathname = "f"
        entry.fileType = .regular
        entry.size = 3
        try writer.writeHeader(entry)
        try writer.writeData([1, 2])
        #expect(throws: ArchiveError.dataExceedsEntrySize(pathname: "f", declared: 3, attempted: 4)) {
            try writer.writeData([3, 4])
        }
        try writer.writeData([3])
        try writer.finish()
        #expect(throws: ArchiveError.closed(operation: "archive_write_header")) {
            try writer.writeHeader(entry)
        }
    }

    @Test func readerUseAfterCloseThrows() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        try writePlainTar(tmp.file("a.tar"))
        let reader = try ArchiveReader(path: tmp.file("a.tar"))
        _ = try reader.nextEntry()
        try reader.close()
        try reader.close()
        #expect(throws: ArchiveError.closed(operation: "archive_read_next_header")) {
            try reader.nextEntry()
        }
    }
}

@Suite struct FileDescriptors {
    @Test func writeAndReadThroughDescriptors() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let path = tmp.file("fd.tar")
        let wfd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(wfd >= 0)
        let writer = try ArchiveWriter(fileDescriptor: wfd)
        try addFile(writer, Array("x".utf8), payload)
        try writer.finish()
        #expect(fcntl(wfd, F_GETFD) >= 0, "caller's descriptor must stay open")
        close(wfd)

        let rfd = open(path, O_RDONLY)
        try #require(rfd >= 0)
        defer { close(rfd) }
        let reader = try ArchiveReader(fileDescriptor: rfd)
        let entry = try #require(try reader.nextEntry())
        #expect(entry.size == Int64(payload.count))

        let outPath = tmp.file("extracted")
        let ofd = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(ofd >= 0)
        try reader.readData(toFileDescriptor: ofd)
        close(ofd)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: outPath))) == payload)
        #expect(try reader.nextEntry() == nil)
        try reader.close()
    }

    @Test func skipDataMovesToNextEntry() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        try writePlainTar(tmp.file("a.tar"))
        let reader = try ArchiveReader(path: tmp.file("a.tar"))
        _ = try reader.nextEntry()
        try reader.skipData()
        #expect(try reader.nextEntry()?.pathname == "small.txt")
        #expect(try readAll(reader) == Array("small\n".utf8))
        // Unread data is skipped implicitly too.
        #expect(try reader.nextEntry() == nil)
    }
}

@Suite struct Lifecycle {
    @Test func abandonedWriterDoesNotLookComplete() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        func write(_ path: String, finish: Bool) throws {
            let writer = try ArchiveWriter(path: path)
            try addFile(writer, Array("a".utf8), Array("data".utf8))
            if finish { try writer.finish() }
        }
        try write(tmp.file("done.tar"), finish: true)
        try write(tmp.file("abandoned.tar"), finish: false)
        let done = try FileManager.default.attributesOfItem(atPath: tmp.file("done.tar"))[.size] as? Int
        let abandoned = try FileManager.default.attributesOfItem(atPath: tmp.file("abandoned.tar"))[.size] as? Int
        #expect(done == 2048, "header + one data block + two-block trailer, no record padding")
        #expect(abandoned != done)
    }
}
