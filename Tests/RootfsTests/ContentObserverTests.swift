import Foundation
import Rootfs
import TarFixtures
import Testing

/// Records what pass 2 offers: every regular file's names, and the bytes of the wanted ones.
private final class Recorder: ContentObserver {
    let wanted: ([String]) -> Bool
    /// Stop taking bytes of a file once this many arrived.
    let limit: Int
    private(set) var offered: [[String]] = []
    private(set) var contents: [String: [UInt8]] = [:]
    private(set) var ends = 0
    private var current: String?

    init(limit: Int = .max, wanted: @escaping ([String]) -> Bool) {
        self.limit = limit
        self.wanted = wanted
    }

    func wantsContent(of paths: [[UInt8]]) -> Bool {
        let names = paths.map { String(decoding: $0, as: UTF8.self) }
        offered.append(names)
        guard wanted(names) else { return false }
        #expect(current == nil, "a file began before the previous one ended")
        current = names[0]
        contents[names[0]] = []
        return true
    }

    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let current else {
            Issue.record("bytes outside a wanted file")
            return false
        }
        contents[current, default: []] += bytes
        return contents[current, default: []].count < limit
    }

    func endOfContent() {
        #expect(current != nil, "an end without a wanted file")
        current = nil
        ends += 1
    }

    func text(_ path: String) -> String? { contents[path].map { String(decoding: $0, as: UTF8.self) } }
}

/// Pass 2's content hook: what it offers is the final tree, each file once, after whiteouts,
/// replacements, hard links and symlinked directories are resolved.
@Suite struct ContentObserverTests {
    @discardableResult
    private func flattenObserved(_ layers: [[TEntry]], observer: Recorder, options: FlattenOptions = defaultOptions,
                                 packing: Packing = .gzip) throws -> FlattenSummary {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let inputs = try layers.map { try makeLayer($0, packing, in: dir) }
        let fd = open(dir.file("out.tar"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(fd) }
        return try LayerFlattener(layers: inputs, options: options).write(toFileDescriptor: fd, observer: observer)
    }

    @Test func offersTheFinalTreeOnly() throws {
        let observer = Recorder { $0.contains { $0.hasPrefix("var/lib/") } }
        let summary = try flattenObserved([
            [directory("var"), directory("var/lib"), directory("var/lib/dpkg"),
             file("var/lib/dpkg/status", "first\n"), file("var/lib/gone", "removed later\n"),
             file("usr/bin/tool", "not wanted\n"), file("var/lib/kept", "kept\n")],
            [file("var/lib/dpkg/status", "second\n"), whiteout("var/lib/.wh.gone"), hardlink("etc/kept-link", "var/lib/kept")],
        ], observer: observer)
        #expect(observer.contents.count == 2)
        #expect(observer.text("var/lib/dpkg/status") == "second\n")
        // Under its first name in the walk, the other names with it.
        #expect(observer.text("etc/kept-link") == "kept\n")
        #expect(observer.ends == 2)
        // Every regular file is offered once, a hard link's names together.
        #expect(observer.offered.count == summary.regularFiles)
        #expect(observer.offered.contains { Set($0) == ["etc/kept-link", "var/lib/kept"] })
        #expect(!observer.offered.joined().contains("var/lib/gone"))
    }

    /// A file written through a symlinked directory is offered where it lands (Fedora's
    /// /var/lib/rpm → ../../usr/lib/sysimage/rpm).
    @Test func offersCanonicalPaths() throws {
        let observer = Recorder { $0.contains { $0.hasSuffix("rpmdb.sqlite") } }
        try flattenObserved([
            [directory("usr/lib/sysimage/rpm"), directory("var/lib"), symlink("var/lib/rpm", "../../usr/lib/sysimage/rpm")],
            [file("var/lib/rpm/rpmdb.sqlite", "database")],
        ], observer: observer)
        #expect(observer.contents.keys.sorted() == ["usr/lib/sysimage/rpm/rpmdb.sqlite"])
        #expect(observer.text("usr/lib/sysimage/rpm/rpmdb.sqlite") == "database")
    }

    @Test func offersSifterSyntheticFiles() throws {
        var options = defaultOptions
        options.synthetic = [SyntheticEntry(path: "etc/added", kind: .file(contents: Array("synthetic\n".utf8)), mode: 0o644,
                                            mtime: 1_700_000_000)]
        let observer = Recorder { $0 == ["etc/added"] }
        try flattenObserved([[file("etc/other", "x")]], observer: observer, options: options)
        #expect(observer.text("etc/added") == "synthetic\n")
        #expect(observer.ends == 1)
    }

    /// An observer that has enough stops receiving (and still gets its end); the output is whole.
    @Test func stopsFeedingWhenTheObserverHasEnough() throws {
        let big = String(repeating: "0123456789abcdef", count: 64 << 10)
        let observer = Recorder(limit: 1) { $0 == ["big"] }
        let summary = try flattenObserved([[file("big", big), file("after", "after")]], observer: observer, packing: .tar)
        #expect((observer.contents["big"]?.count ?? 0) < big.utf8.count)
        #expect(observer.ends == 1)
        #expect(summary.fileDataBytes == Int64(big.utf8.count + 5))
    }

    @Test func holesArriveAsZeros() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let regions: [(offset: Int64, data: [UInt8])] = [(700, Array("middle".utf8))]
        let layer = try rawLayer(RawTar.sparse("db", size: 2000, regions: regions) + RawTar.end, in: dir)
        let observer = Recorder { $0 == ["db"] }
        let fd = open(dir.file("out.tar"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(fd) }
        try LayerFlattener(layers: [layer], options: defaultOptions).write(toFileDescriptor: fd, observer: observer)
        var expected = [UInt8](repeating: 0, count: 2000)
        expected.replaceSubrange(700..<706, with: Array("middle".utf8))
        #expect(observer.contents["db"] == expected)
    }
}
