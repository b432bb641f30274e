import ArchiveIO
import Foundation
import Testing

/// The archive writer hands a pipe its own pages (vmsplice): what a slow reader reads must
/// still be exactly the bytes written to a regular file, so no page may be reused while the
/// pipe still refers to it.
@Suite struct PipeSplicing {
    /// Members of distinct pseudo-random bytes, so a reused page shows up as a difference.
    static func writeMembers(to writer: ArchiveWriter) throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in 0..<48 {
            let size = 200_000 + index * 37_111
            var bytes = [UInt8](repeating: 0, count: size)
            for i in stride(from: 0, to: size, by: 8) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                withUnsafeBytes(of: state) { word in
                    for j in 0..<min(8, size - i) { bytes[i + j] = word[j] }
                }
            }
            let entry = try ArchiveEntry()
            entry.pathname = "member-\(index)"
            entry.fileType = .regular
            entry.permissions = 0o644
            entry.size = Int64(size)
            try writer.writeHeader(entry)
            try writer.writeData(bytes)
        }
        try writer.finish()
    }

    @Test(arguments: [4096, 1 << 20])
    func slowReaderSeesExactlyTheFileBytes(pipeSize: Int32) throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let file = dir.file("reference.tar")
        try Self.writeMembers(to: try ArchiveWriter(path: file))
        let expected = try Data(contentsOf: URL(fileURLWithPath: file))

        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let setPipeSize: Int32 = 1031
        _ = fcntl(ends[1], setPipeSize, pipeSize)
        let received = LockedData()
        let readEnd = ends[0]
        let writerGone = DispatchSemaphore(value: 0)
        // With the big pipe, the last 256 KiB stay unread until the writer is gone (they fit
        // in the pipe, so the writer can finish); the one-page pipe could not hold them.
        let tail = pipeSize >= 1 << 20 ? expected.count - (256 << 10) : Int.max
        let reader = Thread {
            // Small, odd-sized reads with pauses: the pipe stays full most of the time.
            var buffer = [UInt8](repeating: 0, count: 4099)
            var reads = 0
            var total = 0
            var waited = false
            while true {
                // The last bytes are read only once the writer is gone and its memory freed.
                if !waited, total >= tail {
                    writerGone.wait()
                    waited = true
                }
                let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                received.append(buffer[0..<n])
                total += n
                reads += 1
                if reads % 64 == 0 { usleep(200) }
            }
            close(readEnd)
            received.finish()
        }
        reader.start()
        do {
            let writer = try ArchiveWriter(fileDescriptor: ends[1])
            try Self.writeMembers(to: writer)
        }
        close(ends[1])
        // Memory the program allocates next must not change what is still in the pipe.
        let scribbles = (0..<16).map { _ in [UInt8](repeating: 0xEE, count: 3 << 20) }
        writerGone.signal()
        let got = received.wait()
        #expect(scribbles.count == 16)
        #expect(got.count == expected.count)
        // The first difference, not the whole buffers: a diff of megabytes is unreadable.
        let firstDifference = got == expected ? nil : zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstDifference == nil, "the piped stream differs from the file")
    }
}

final class LockedData: @unchecked Sendable {
    private let condition = NSCondition()
    private var data = Data()
    private var done = false

    func append(_ bytes: ArraySlice<UInt8>) {
        condition.lock()
        data.append(contentsOf: bytes)
        condition.unlock()
    }

    func finish() {
        condition.lock()
        done = true
        condition.signal()
        condition.unlock()
    }

    func wait() -> Data {
        condition.lock()
        while !done { condition.wait() }
        defer { condition.unlock() }
        return data
    }
}
