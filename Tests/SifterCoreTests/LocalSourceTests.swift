import Foundation
import Testing
@testable import SifterCore

/// Files of local sources are never read before their size is checked, and archives are read
/// in place: only the members asked for are copied out.
@Suite struct LocalSourceTests {
    final class Scratch {
        let path = NSTemporaryDirectory() + "sifter-local-\(UUID().uuidString)"
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }

        @discardableResult
        func file(_ name: String, _ text: String) throws -> String {
            let target = path + "/" + name
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: target))
            return target
        }

        /// A file of `size` bytes that is one hole: nothing on disk.
        func sparse(_ name: String, size: Int64) throws -> String {
            let target = try file(name, "")
            #expect(truncate(target, off_t(size)) == 0)
            return target
        }
    }

    @Test func refusesBeforeReading() throws {
        let scratch = try Scratch()
        let giant = try scratch.sparse("giant", size: 1 << 30)
        #expect(throws: LocalFile.Problem.sizeMismatch(size: 1 << 30, expected: 419)) {
            try LocalFile.read(giant, limit: LocalFile.configLimit, expected: 419)
        }
        #expect(throws: LocalFile.Problem.tooLarge(size: 1 << 30, limit: LocalFile.documentLimit)) {
            try LocalFile.read(giant, limit: LocalFile.documentLimit)
        }
        #expect(throws: LocalFile.Problem.tooLarge(size: 1 << 30, limit: LocalFile.configLimit)) {
            try LocalFile.read(giant, limit: LocalFile.configLimit, expected: 1 << 30)
        }
        #expect(throws: LocalFile.Problem.missing) { try LocalFile.read(scratch.path + "/none", limit: 10) }
        #expect(throws: LocalFile.Problem.notRegular(kind: "a directory")) { try LocalFile.read(scratch.path, limit: 10) }
        let small = try scratch.file("small", "hello")
        #expect(try LocalFile.read(small, limit: 10, expected: 5) == Array("hello".utf8))
        #expect(throws: LocalFile.Problem.sizeMismatch(size: 5, expected: 4)) { try LocalFile.check(small, expected: 4) }
    }

    @Test func refusesAFIFOWithoutBlocking() throws {
        let scratch = try Scratch()
        let fifo = scratch.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        // No writer: an open that waited for one would never return.
        #expect(throws: LocalFile.Problem.notRegular(kind: "a FIFO")) { try LocalFile.read(fifo, limit: 10) }
        #expect(throws: LocalFile.Problem.notRegular(kind: "a FIFO")) { try LocalFile.check(fifo, expected: 0) }
    }

    /// An archive with a 1 GiB member nobody asks for, a small document and a layer behind a
    /// symlink (as `docker save` links a repeated layer).
    func makeArchive(_ scratch: Scratch) throws -> String {
        let tree = scratch.path + "/tree"
        try scratch.file("tree/index.json", #"{"a":1}"#)
        try scratch.file("tree/blobs/layer", String(repeating: "L", count: 3000))
        _ = try scratch.sparse("tree/junk", size: 1 << 30)
        try FileManager.default.createDirectory(atPath: tree + "/d", withIntermediateDirectories: true)
        #expect(symlink("../blobs/layer", tree + "/d/link.tar") == 0)
        let archive = scratch.path + "/image.tar"
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["--sparse", "-cf", archive, "-C", tree, "index.json", "blobs", "junk", "d"]
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        return archive
    }

    @Test func readsAnArchiveInPlace() throws {
        let scratch = try Scratch()
        let path = try makeArchive(scratch)
        let archive = try ImageArchive(path: path, sourceText: "oci-archive:x")
        #expect(archive.member("junk")?.size == 1 << 30)
        #expect(archive.member("d/link.tar")?.name == "blobs/layer")
        #expect(archive.member("nothing") == nil)
        #expect(try archive.read("index.json", limit: 100, expected: 7) == Array(#"{"a":1}"#.utf8))
        #expect(throws: LocalFile.Problem.tooLarge(size: 1 << 30, limit: LocalFile.documentLimit)) {
            try archive.read("junk", limit: LocalFile.documentLimit)
        }
        #expect(throws: LocalFile.Problem.sizeMismatch(size: 7, expected: 8)) { try archive.read("index.json", limit: 100, expected: 8) }

        let paths = try archive.extract([("d/link.tar", 3000), ("blobs/layer", 3000)])
        let copied = try #require(paths["d/link.tar"])
        #expect(paths["blobs/layer"] == copied)
        #expect(FileManager.default.contents(atPath: copied) == Data(String(repeating: "L", count: 3000).utf8))
        // Only what was asked for is in the scratch directory.
        let directory = (copied as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count == 1)
        #expect(throws: BuildError.self) { try archive.extract([("blobs/layer", 2999)]) }
        #expect(throws: BuildError.self) { try archive.extract([("missing", 1)]) }
    }

    @Test func theScratchDirectoryGoesWithTheArchive() throws {
        let scratch = try Scratch()
        let path = try makeArchive(scratch)
        var directory = ""
        do {
            let archive = try ImageArchive(path: path, sourceText: "oci-archive:x")
            let copied = try #require(try archive.extract([("blobs/layer", 3000)])["blobs/layer"])
            directory = (copied as NSString).deletingLastPathComponent
            #expect(FileManager.default.fileExists(atPath: directory))
        }
        #expect(!directory.isEmpty && !FileManager.default.fileExists(atPath: directory))
    }

    @Test func refusesMembersOutsideTheArchiveAndTwins() throws {
        #expect(throws: BuildError.self) { try ImageArchive.normalize("../x", source: "s") }
        #expect(throws: BuildError.self) { try ImageArchive.normalize("/etc/passwd", source: "s") }
        #expect(try ImageArchive.normalize("./a//b/./c", source: "s") == "a/b/c")
        #expect(try ImageArchive.normalize("./", source: "s") == nil)
        #expect(ImageArchive.resolve("../b/c", in: "a") == "b/c")
        #expect(ImageArchive.resolve("../../c", in: "a") == nil)

        let scratch = try Scratch()
        try scratch.file("one/index.json", "1")
        try scratch.file("two/index.json", "2")
        let archive = scratch.path + "/twice.tar"
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-cf", archive, "-C", scratch.path + "/one", "index.json", "-C", scratch.path + "/two", "index.json"]
        try tar.run()
        tar.waitUntilExit()
        #expect(throws: BuildError.invalidSource("s", reason: "archive member \"index.json\" appears twice")) {
            try ImageArchive(path: archive, sourceText: "s")
        }
    }

    @Test func removesTheScratchDirectoriesOfDeadRuns() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path + "/sifter-archive-dead0000/x", withIntermediateDirectories: true)
        try scratch.file(".sifter-archive-dead0000.lock", "")
        try FileManager.default.createDirectory(atPath: scratch.path + "/sifter-archive-live0000", withIntermediateDirectories: true)
        let live = try #require(try LivenessLock.create(at: scratch.path + "/.sifter-archive-live0000.lock"))
        ScratchDirectory.removeStale(in: scratch.path)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: scratch.path)) == ["sifter-archive-live0000", ".sifter-archive-live0000.lock"])
        live.release()
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: scratch.path)) == ["sifter-archive-live0000"])
    }
}
