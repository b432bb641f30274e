@testable import ArchiveIO
import Foundation
import Testing

@Suite struct SparseMapAlignment {
    private func region(_ offset: Int64, _ length: Int64) -> ArchiveSparseRegion {
        ArchiveSparseRegion(offset: offset, length: length)
    }

    @Test func examples() {
        #expect(MksquashfsTarForm.blockAligned([region(1000, 100)], size: 4096) == [region(0, 1536), region(3584, 512)])
        // Data at the end: the last region ends at the file's end, off the block grid.
        #expect(MksquashfsTarForm.blockAligned([region(5000, 4000)], size: 9000) == [region(0, 512), region(4608, 4392)])
        // Nothing left to skip: a plain member.
        #expect(MksquashfsTarForm.blockAligned([region(100, 500)], size: 1000) == nil)
        #expect(MksquashfsTarForm.blockAligned([region(0, 10)], size: 0) == nil)
    }

    /// For random maps: regions on 512-byte boundaries (the end of the file aside), the first
    /// at 0, the last ending at the end, at least two, covering every byte of the source.
    @Test func properties() {
        var state: UInt64 = 42
        func random(_ bound: Int64) -> Int64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int64((state >> 33) % UInt64(max(1, bound)))
        }
        for _ in 0..<2000 {
            let size = 1 + random(random(2) == 0 ? 5000 : 10_000_000)
            var source: [ArchiveSparseRegion] = []
            var at = random(size)
            while at < size, source.count < 8 {
                let length = 1 + random(min(size - at, 70000))
                source.append(region(at, length))
                at += length + 1 + random(200_000)
            }
            guard let aligned = MksquashfsTarForm.blockAligned(source, size: size) else {
                continue
            }
            #expect(aligned.count >= 2)
            #expect(aligned.first?.offset == 0)
            #expect(aligned.last.map { $0.offset + $0.length } == size)
            for (index, span) in aligned.enumerated() {
                #expect(span.offset % 512 == 0 && span.length > 0)
                if index < aligned.count - 1 {
                    #expect(span.length % 512 == 0)
                    #expect(span.offset + span.length < aligned[index + 1].offset)
                }
            }
            for piece in source {
                #expect(aligned.contains { $0.offset <= piece.offset && piece.offset + piece.length <= $0.offset + $0.length })
            }
        }
    }
}

@Suite struct MksquashfsForm {
    /// A sparse member comes out sparse, with an aligned map, and the same bytes.
    @Test func sparseMemberRoundTrips() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let size: Int64 = 1 << 30
        let path = tmp.file("sparse.tar")
        let writer = try ArchiveWriter(path: path)
        let entry = try ArchiveEntry()
        entry.pathname = "sparse"
        entry.fileType = .regular
        entry.permissions = 0o644
        entry.size = size
        entry.sparseRegions = [ArchiveSparseRegion(offset: 700, length: 5), ArchiveSparseRegion(offset: size / 2, length: 3)]
        try writer.writeHeader(entry)
        try writer.writeZeros(700)
        try writer.writeData(Array("hello".utf8))
        try writer.writeZeros(size / 2 - 705)
        try writer.writeData(Array("mid".utf8))
        try writer.writeZeros(size - size / 2 - 3)
        try writer.finish()
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? .max < 16 << 10)

        let reader = try ArchiveReader(path: path)
        defer { try? reader.close() }
        let read = try #require(try reader.nextEntry())
        #expect(read.pathname == "sparse" && read.size == size)
        #expect(read.sparseRegions == [ArchiveSparseRegion(offset: 0, length: 1024),
                                       ArchiveSparseRegion(offset: size / 2, length: 512),
                                       ArchiveSparseRegion(offset: size - 512, length: 512)])
        var data: [Int64: [UInt8]] = [:]
        try reader.readDataBlocks { block, offset in data[offset, default: []] += block }
        let first = try #require(data[0])
        #expect(first.count == 1024 && Array(first[700..<705]) == Array("hello".utf8))
        #expect(first.enumerated().allSatisfy { (700..<705).contains($0.offset) || $0.element == 0 })
        #expect(data[size / 2].map { Array($0.prefix(3)) } == Array("mid".utf8))
    }
}
