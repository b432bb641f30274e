import ArchiveIO
import Rootfs
import Testing

@Suite struct WhiteoutTests {
    @Test func whiteoutRemovesLowerFilesAndTrees() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let lower = try makeLayer([
            directory("etc"), file("etc/keep", "k"), file("etc/gone", "g"),
            directory("opt"), directory("opt/tree"), file("opt/tree/a", "a"), file("opt/tree/b", "b"),
        ], in: dir)
        let upper = try makeLayer([
            whiteout("etc/.wh.gone"), whiteout("opt/.wh.tree"), whiteout(".wh.never-existed"),
            whiteout("missing-dir/.wh.x"),
        ], in: dir)
        let out = try flatten([lower, upper], in: dir)
        #expect(out.paths.sorted() == ["etc", "etc/keep", "opt"])
        #expect(out["etc/keep"]?.content == "k")
        // Whiteouts never create anything, not even their directory.
        #expect(out["missing-dir"] == nil)
        #expect(out.summary.layers[1].whiteouts == 4)
    }

    @Test func opaqueEmptiesLowerContentOnly() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let lower = try makeLayer([
            directory("d", mode: 0o750), file("d/a", "a"), directory("d/sub"), file("d/sub/c", "c"), file("other", "o"),
        ], in: dir)
        let upper = try makeLayer([
            directory("d", mode: 0o700, uid: 7), whiteout("d/.wh..wh..opq"), file("d/new", "n"),
        ], in: dir)
        let out = try flatten([lower, upper], in: dir)
        #expect(out.paths.sorted() == ["d", "d/new", "other"])
        #expect(out["d"]?.mode == 0o700)
        #expect(out["d"]?.uid == 7)
    }

    @Test func opaqueAfterSameLayerEntriesKeepsThem() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let lower = try makeLayer([
            directory("d"), file("d/a", "old a"), file("d/b", "b"), directory("d/sub", mode: 0o711), file("d/sub/c", "c"),
        ], in: dir)
        // The opaque marker comes last: what this layer wrote before it survives, including
        // the lower directory d/sub it wrote into, but d/sub's lower content does not.
        let upper = try makeLayer([
            file("d/a", "new a"), file("d/sub/x", "x"), whiteout("d/.wh..wh..opq"),
        ], in: dir)
        let out = try flatten([lower, upper], in: dir)
        #expect(out.paths.sorted() == ["d", "d/a", "d/sub", "d/sub/x"])
        #expect(out["d/a"]?.content == "new a")
        #expect(out["d/sub"]?.mode == 0o711)
    }

    @Test func whiteoutAfterSameLayerEntryKeepsIt() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let lower = try makeLayer([file("a", "lower"), directory("t"), file("t/old", "o")], in: dir)
        let upper = try makeLayer([
            file("a", "upper"), whiteout(".wh.a"), file("t/new", "n"), whiteout(".wh.t"),
        ], in: dir)
        let out = try flatten([lower, upper], in: dir)
        #expect(out.paths.sorted() == ["a", "t", "t/new"])
        #expect(out["a"]?.content == "upper")
        // A third layer can remove what the second wrote.
        let third = try makeLayer([whiteout(".wh.a"), whiteout("t/.wh.new")], in: dir)
        let out3 = try flatten([lower, upper, third], in: dir)
        #expect(out3.paths.sorted() == ["t"])
    }

    @Test func opaqueAtRootAndWhiteoutOfRootChild() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let lower = try makeLayer([directory("bin"), file("bin/sh", "sh"), file("x", "x")], in: dir)
        let upper = try makeLayer([whiteout(".wh..wh..opq"), file("y", "y")], in: dir)
        let out = try flatten([lower, upper], in: dir)
        #expect(out.paths == ["y"])
    }

    @Test func badWhiteoutsAreRejected() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        for name in ["d/.wh.", ".wh..", "d/.wh...", ".wh.x/y"] {
            let layer = try makeLayer([directory("d"), file("d/f", "f"), whiteout(name)], in: dir)
            do {
                _ = try flatten([layer], in: dir)
                Issue.record("\(name) was accepted")
            } catch let error as RootfsError {
                guard case .invalidEntry(let image, let digest, let entry, _) = error else {
                    Issue.record("unexpected \(error)")
                    continue
                }
                #expect(image == "test/image:1")
                #expect(digest == layer.name)
                #expect(entry == name)
                #expect(error.description.contains(layer.name))
            }
        }
    }

    @Test func fileAndDirectoryReplaceEachOther() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let lower = try makeLayer([
            file("x", "file x"), directory("y"), directory("y/deep"), file("y/deep/z", "z"), directory("m", mode: 0o755), file("m/f", "f"),
        ], in: dir)
        let upper = try makeLayer([
            directory("x", mode: 0o711), file("x/in", "in"), file("y", "file y"), directory("m", mode: 0o700, uid: 3, gid: 4),
        ], in: dir)
        let out = try flatten([lower, upper], in: dir)
        #expect(out.paths.sorted() == ["m", "m/f", "x", "x/in", "y"])
        #expect(out["x"]?.type == .directory)
        #expect(out["x"]?.mode == 0o711)
        #expect(out["y"]?.type == .regular)
        #expect(out["y"]?.content == "file y")
        // Directory onto directory: metadata updated, children kept.
        #expect(out["m"]?.mode == 0o700)
        #expect(out["m"]?.uid == 3 && out["m"]?.gid == 4)
        #expect(out["m/f"]?.content == "f")
    }

    @Test func directoriesComeFirstParentsBeforeChildren() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try makeLayer([file("b/c/f", "f"), directory("a"), file("a/z/g", "g")], in: dir)
        let out = try flatten([layer], options: FlattenOptions(imageName: "i", defaultTime: 1234), in: dir)
        #expect(out.paths == ["a", "a/z", "b", "b/c", "b/c/f", "a/z/g"])
        // Implicit parents: 0755 root:root at the fixed time, never "now".
        #expect(out["b/c"]?.mode == 0o755)
        #expect(out["b/c"]?.mtime == 1234)
        #expect(out["a"]?.mtime == 1_700_000_000)
        #expect(!out.paths.contains("") && !out.paths.contains("."))
        #expect(out.summary.root == RootMetadata(mode: 0o755, uid: 0, gid: 0, mtime: 1234, droppedXattrNames: []))
    }
}
