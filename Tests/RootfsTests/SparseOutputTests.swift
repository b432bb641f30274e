import ArchiveIO
import Foundation
import Rootfs
import TarFixtures
import Testing

/// A sparse file with holes and data at offsets that are not block-aligned, a hole at each end.
private let sparseSize: Int64 = 3 * 1024 * 1024 + 777
private let sparseRegions: [(offset: Int64, data: [UInt8])] = [
    (1000, Array(repeating: Array("first region\n".utf8), count: 100).flatMap { $0 }),
    (70000, Array(repeating: [1, 2, 3], count: 5000).flatMap { $0 }),
    (2 * 1024 * 1024 + 3, [UInt8](repeating: UInt8(ascii: "z"), count: 4099)),
]

private func expectedContent(size: Int64, regions: [(offset: Int64, data: [UInt8])]) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: Int(size))
    for region in regions { bytes.replaceSubrange(Int(region.offset)..<Int(region.offset) + region.data.count, with: region.data) }
    return bytes
}

@Suite struct SparseOutput {
    /// Holes used to be written as zeros: a terabyte of hole in a kilobyte layer took a quarter
    /// of an hour. Now the output member is sparse too, its map on 512-byte blocks.
    @Test func holesAreNotWritten() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try rawLayer(RawTar.sparse("data/sparse", size: sparseSize, regions: sparseRegions)
            + RawTar.member("data/after", data: Array("after\n".utf8)) + RawTar.end, in: dir)
        let out = try flatten([layer], in: dir)
        #expect(out["data/sparse"]?.content == String(decoding: expectedContent(size: sparseSize, regions: sparseRegions), as: UTF8.self))
        #expect(out["data/after"]?.content == "after\n")
        #expect(out.raw.count < 64 << 10, "\(out.raw.count) bytes for \(sparseSize) with 35 KB of data")
        #expect(out.summary.fileDataBytes == sparseSize + 6)
    }

    @Test func hugeHoleCostsNothing() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let size: Int64 = 1 << 30
        let layer = try rawLayer(RawTar.sparse("huge", size: size, regions: [(3, Array("head".utf8)), (size - 5, Array("tail\n".utf8))])
            + RawTar.end, in: dir)
        let path = dir.file("huge-out.tar")
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(fd) }
        let summary = try LayerFlattener(layers: [layer], options: defaultOptions).write(toFileDescriptor: fd)
        #expect(summary.fileDataBytes == size)
        #expect(try fileSize(path) < 64 << 10)
        let reader = try ArchiveReader(path: path)
        defer { try? reader.close() }
        var seen = false
        while let entry = try reader.nextEntry() {
            guard entry.pathname == "huge" else { continue }
            seen = true
            #expect(entry.size == size)
            #expect(entry.sparseRegions.map { [$0.offset, $0.length] } == [[0, 512], [size - 512, 512]])
            var tail: [UInt8] = []
            try reader.readDataBlocks { block, offset in
                if offset >= size - 512 { tail += block }
            }
            #expect(tail.suffix(5) == Array("tail\n".utf8))
        }
        #expect(seen)
    }

    /// Every squashfs-tools tar reader misreads a sparse map whose regions are not
    /// block-aligned (and one that ends in a hole): the real mksquashfs must give the exact bytes.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/mksquashfs")))
    func mksquashfsStoresTheExactBytes() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try rawLayer(RawTar.sparse("data/sparse", size: sparseSize, regions: sparseRegions)
            + RawTar.member("data/after", data: Array("after\n".utf8)) + RawTar.end, in: dir)
        let stream = dir.file("stream.tar")
        let fd = open(stream, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        _ = try LayerFlattener(layers: [layer], options: defaultOptions).write(toFileDescriptor: fd)
        close(fd)
        let image = dir.file("out.sqfs")
        let build = try run("sh", ["-c", "/usr/bin/mksquashfs - '\(image)' -tar -noappend -quiet -no-progress "
            + "-exit-on-error < '\(stream)'"])
        #expect(build.status == 0, "\(build.stderr)")
        let content = dir.file("content")
        try checkTool(run("unsquashfs", ["-cat", image, "data/sparse"], stdoutTo: content))
        #expect(FileManager.default.contents(atPath: content) == Data(expectedContent(size: sparseSize, regions: sparseRegions)))
        #expect(try run("unsquashfs", ["-cat", image, "data/after"]).stdout == "after\n")
    }
}
