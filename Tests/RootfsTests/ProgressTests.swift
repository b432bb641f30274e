import Foundation
import Rootfs
import Synchronization
import Testing

@Suite struct ProgressTests {
    /// Both passes report compressed bytes read out of what they read: the index pass every
    /// layer, the stream pass only the layers whose members survive (here not the middle one,
    /// whose only file the top layer whites out), each starting at nothing and ending at its
    /// total, never going back.
    @Test func eachPassCountsTheBytesItReads() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let base = try makeLayer([directory("etc"), file("etc/a", String(repeating: "a", count: 300_000))], in: dir)
        let middle = try makeLayer([file("gone", String(repeating: "g", count: 200_000))], .zstd, in: dir)
        let top = try makeLayer([whiteout(".wh.gone"), file("etc/b", "b")], .tar, in: dir)
        let reports = Mutex<[FlattenProgress]>([])
        var options = defaultOptions
        options.progress = { progress in reports.withLock { $0.append(progress) } }
        _ = try flatten([base, middle, top], options: options, in: dir)
        let seen = reports.withLock { $0 }

        let index = seen.filter { $0.pass == .index }
        let stream = seen.filter { $0.pass == .stream }
        #expect(index.first?.completedBytes == 0)
        #expect(Set(index.map(\.totalBytes)) == [base.size + middle.size + top.size])
        #expect(index.last?.completedBytes == base.size + middle.size + top.size)
        #expect(stream.first?.completedBytes == 0)
        #expect(Set(stream.map(\.totalBytes)) == [base.size + top.size])
        #expect(stream.last?.completedBytes == base.size + top.size)
        #expect(zip(stream, stream.dropFirst()).allSatisfy { $0.completedBytes <= $1.completedBytes })
        // The index pass ends before the stream pass begins.
        #expect(seen.lastIndex { $0.pass == .index }! < seen.firstIndex { $0.pass == .stream }!)
    }
}
