import ArchiveIO
import Foundation
import OCISpec
import Rootfs
import Testing

@Suite struct HostileTests {
    @Test func dotDotAndAbsolutePathsStayInside() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try makeLayer([
            file("/a/../../b", "b"), file("../../../etc/escape", "e"), file("/abs/file", "abs"), file("./x/./y/../z", "z"),
        ], in: dir)
        let out = try flatten([layer], in: dir)
        #expect(out.paths.sorted() == ["abs", "abs/file", "b", "etc", "etc/escape", "x", "x/z"])
    }

    @Test func entriesBeneathSymlinksResolveInsideTheRoot() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let lower = try makeLayer([
            directory("etc"), file("etc/passwd", "root:x:0:0"), symlink("evil", "/etc"), symlink("up", "../../../etc"),
            symlink("chain", "evil"),
        ], in: dir)
        let upper = try makeLayer([
            file("evil/passwd", "pwned-1"), file("up/shadow", "s"), file("chain/group", "g"), whiteout("up/.wh.gone"),
        ], in: dir)
        let out = try flatten([lower, upper], in: dir)
        #expect(out.paths.sorted() == ["chain", "etc", "etc/group", "etc/passwd", "etc/shadow", "evil", "up"])
        #expect(out["etc/passwd"]?.content == "pwned-1")
        #expect(out["evil"]?.type == .symlink)
    }

    @Test func symlinkLoopIsRejected() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try makeLayer([symlink("a", "b"), symlink("b", "a"), file("a/x", "x")], in: dir)
        #expect(throws: RootfsError.invalidEntry(image: "test/image:1", layer: layer.name, entry: "a/x",
                                                 reason: "too many levels of symbolic links")) {
            try flatten([layer], in: dir)
        }
    }

    @Test func badHardlinksAreRejected() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let cases: [(TEntry, String)] = [
            (hardlink("l", "../../../etc/shadow"), "the target does not exist in this or a lower layer"),
            (hardlink("l", "later"), "the target does not exist in this or a lower layer"),
            (hardlink("l", "d"), "the target is a directory"),
            (hardlink("l", "/"), "the target is the root directory"),
            (hardlink("f", "f"), "the link names itself"),
        ]
        for (link, reason) in cases {
            let layer = try makeLayer([directory("d"), file("f", "f"), link, file("later", "x")], in: dir)
            #expect(throws: RootfsError.invalidHardlink(
                image: "test/image:1", layer: layer.name, entry: display(link.path),
                target: display(link.hardlink ?? []), reason: reason)) {
                try flatten([layer], in: dir)
            }
        }
    }

    @Test func rootTypeChangeAndFileAsParentAreRejected() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let root = try makeLayer([symlink("./", "/etc")], in: dir)
        #expect(throws: RootfsError.invalidEntry(image: "test/image:1", layer: root.name, entry: "./",
                                                 reason: "the root may only be a directory")) {
            try flatten([root], in: dir)
        }
        let parent = try makeLayer([file("f", "f"), file("f/child", "c")], in: dir)
        #expect(throws: RootfsError.invalidEntry(image: "test/image:1", layer: parent.name, entry: "f/child",
                                                 reason: "parent \"f\" is not a directory")) {
            try flatten([parent], in: dir)
        }
    }

    @Test func digestSizeAndDiffIDMismatches() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let good = try makeLayer([file("a", "a")], in: dir)
        let other = try makeLayer([file("b", "b")], in: dir)

        var wrongDigest = good
        wrongDigest.digest = other.digest
        #expect(throws: RootfsError.digestMismatch(image: "test/image:1", layer: other.name, actual: good.name)) {
            try flatten([wrongDigest], in: dir)
        }
        var wrongSize = good
        wrongSize.size += 1
        #expect(throws: RootfsError.sizeMismatch(image: "test/image:1", layer: good.name, expected: good.size + 1,
                                                 actual: good.size)) {
            try flatten([wrongSize], in: dir)
        }
        var wrongDiffID = good
        wrongDiffID.diffID = other.diffID
        #expect(throws: RootfsError.diffIDMismatch(image: "test/image:1", layer: good.name,
                                                   expected: other.diffID?.description ?? "", actual: good.diffID?.description ?? "")) {
            try flatten([wrongDiffID], in: dir)
        }
        var badType = good
        badType.mediaType = "application/vnd.oci.image.config.v1+json"
        #expect(throws: RootfsError.unsupportedMediaType(image: "test/image:1", layer: good.name,
                                                         mediaType: badType.mediaType)) {
            try flatten([badType], in: dir)
        }
        // Nothing is written before every layer has been verified.
        let outPath = dir.file("partial.tar")
        let fd = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        #expect(throws: RootfsError.self) {
            try LayerFlattener(layers: [good, wrongDigest], options: defaultOptions).write(toFileDescriptor: fd)
        }
        #expect(try fileSize(outPath) == 0)
    }

    @Test func truncatedGzipAndCorruptZstdAreUnreadable() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        var entry = file("big")
        entry.content = big
        for packing in [Packing.gzip, .zstd] {
            let layer = try makeLayer([entry, file("after", "x")], packing, in: dir)
            let data = try #require(FileManager.default.contents(atPath: layer.path))
            let cut = dir.file(UUID().uuidString)
            _ = FileManager.default.createFile(atPath: cut, contents: data.prefix(data.count / 2))
            var truncated = layer
            truncated.path = cut
            truncated.size = Int64(data.count / 2)
            truncated.digest = try Digest(parsing: try sha256(ofFile: cut))
            do {
                _ = try flatten([truncated], in: dir)
                Issue.record("truncated \(packing) was accepted")
            } catch let error as RootfsError {
                guard case .unreadableLayer(let image, let digest, _, let message) = error else {
                    Issue.record("unexpected \(error)")
                    continue
                }
                #expect(image == "test/image:1")
                #expect(digest == truncated.name)
                #expect(!message.isEmpty)
            }
        }
    }

    @Test func otherCompressionIsRejected() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let plain = try makeLayer([file("a", "a")], .tar, in: dir)
        let xzPath = plain.path + ".xz"
        try checkTool(run("xz", ["-c", plain.path], stdoutTo: xzPath))
        let xz = LayerInput(digest: try Digest(parsing: try sha256(ofFile: xzPath)), size: try fileSize(xzPath),
                            mediaType: "application/vnd.oci.image.layer.v1.tar", blob: .file(xzPath))
        #expect(throws: RootfsError.unsupportedCompression(image: "test/image:1", layer: xz.name, filters: ["xz"])) {
            try flatten([xz], in: dir)
        }
    }
}
