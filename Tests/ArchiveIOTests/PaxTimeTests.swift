import ArchiveIO
import Foundation
import Testing

@Suite struct PaxTimes {
    /// mksquashfs 4.5.1 and 4.6.1 cannot parse a pax time without a fraction, and libarchive
    /// writes one for times from 2^31 - 1 on.
    @Test func paxTimesHaveAFraction() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let path = tmp.file("times.tar")
        let writer = try ArchiveWriter(path: path)
        for (name, seconds) in [("small", Int64(0x7FFF_FFFE)), ("cutoff", 0x7FFF_FFFF), ("max", 0xFFFF_FFFF)] {
            let entry = try ArchiveEntry()
            entry.pathname = name
            entry.fileType = .regular
            entry.mtime = ArchiveTimestamp(seconds: seconds)
            try writer.writeHeader(entry)
        }
        try writer.finish()
        let raw = String(decoding: try #require(FileManager.default.contents(atPath: path)), as: UTF8.self)
        #expect(raw.contains("mtime=2147483647.000000001\n") && raw.contains("mtime=4294967295.000000001\n"))
        #expect(!raw.contains("mtime=2147483646"))
        let reader = try ArchiveReader(path: path)
        var times: [Int64] = []
        while let entry = try reader.nextEntry() { times.append(entry.mtime?.seconds ?? -1) }
        #expect(times == [0x7FFF_FFFE, 0x7FFF_FFFF, 0xFFFF_FFFF])
    }
}
