import ArchiveIO
import Rootfs
import Testing

/// Every hard link must follow its target in the stream, and point at a member with content.
func expectLinksAfterTargets(_ out: Flattened, sourceLocation: SourceLocation = #_sourceLocation) {
    for (index, entry) in out.entries.enumerated() {
        guard let target = entry.hardlink else { continue }
        let targetIndex = out.entries.firstIndex { $0.path == target }
        #expect(targetIndex != nil && targetIndex! < index, "\(entry.path) => \(target)", sourceLocation: sourceLocation)
        #expect(targetIndex.map { out.entries[$0].hardlink == nil } ?? false, sourceLocation: sourceLocation)
    }
}

@Suite struct LinkTests {
    @Test func hardlinkWithinLayerAndAcrossLayers() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let lower = try makeLayer([directory("bin"), file("bin/tool", "TOOL", mode: 0o755), hardlink("bin/alias", "bin/tool")], in: dir)
        let upper = try makeLayer([directory("usr"), hardlink("usr/again", "/bin/tool")], in: dir)
        let out = try flatten([lower, upper], in: dir)
        #expect(out.paths.sorted() == ["bin", "bin/alias", "bin/tool", "usr", "usr/again"])
        // The first name in tree order carries the content, the others link to it.
        #expect(out["bin/alias"]?.content == "TOOL")
        #expect(out["bin/alias"]?.hardlink == nil)
        #expect(out["bin/alias"]?.mode == 0o755)
        #expect(out["bin/tool"]?.hardlink == "bin/alias")
        #expect(out["usr/again"]?.hardlink == "bin/alias")
        #expect(out.summary.regularFiles == 1)
        #expect(out.summary.hardlinks == 2)
        expectLinksAfterTargets(out)
    }

    @Test func replacedOrRemovedTargetLeavesLinkWithOldContent() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let one = try makeLayer([file("a", "old"), file("w", "w-old")], in: dir)
        let two = try makeLayer([hardlink("link", "a"), hardlink("wlink", "w")], in: dir)
        let three = try makeLayer([file("a", "new", mode: 0o600), whiteout(".wh.w")], in: dir)
        let out = try flatten([one, two, three], in: dir)
        #expect(out.paths.sorted() == ["a", "link", "wlink"])
        #expect(out["a"]?.content == "new")
        #expect(out["a"]?.mode == 0o600)
        #expect(out["link"]?.content == "old")
        #expect(out["link"]?.hardlink == nil)
        #expect(out["wlink"]?.content == "w-old")
        // Layer one supplies the old contents, layer three the new one; two only names.
        #expect(out.summary.layers.map(\.emittedObjects) == [2, 0, 1])
        expectLinksAfterTargets(out)
    }

    @Test func linkWhoseNameSortsFirstCarriesContent() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try makeLayer([
            directory("z"), file("z/target", "T"), directory("a"), hardlink("a/link", "z/target"), hardlink("a/link2", "a/link"),
        ], in: dir)
        let out = try flatten([layer], in: dir)
        #expect(out["a/link"]?.content == "T")
        #expect(out["a/link2"]?.hardlink == "a/link")
        #expect(out["z/target"]?.hardlink == "a/link")
        expectLinksAfterTargets(out)
    }

    @Test func symlinksAreStoredNotFollowed() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try makeLayer([
            symlink("abs", "/etc/passwd"), symlink("rel", "../../outside"), symlink("dangling", "nowhere"),
            file("f", "f"), hardlink("hl-to-symlink", "abs"),
        ], in: dir)
        let out = try flatten([layer], in: dir)
        #expect(out["abs"]?.type == .symlink)
        #expect(out["abs"]?.symlink == "/etc/passwd")
        #expect(out["rel"]?.symlink == "../../outside")
        #expect(out["dangling"]?.symlink == "nowhere")
        // A hard link to a symlink shares the symlink itself (umoci does not follow the last
        // component of a link target).
        #expect(out["abs"]?.hardlink == nil)
        #expect(out["hl-to-symlink"]?.hardlink == "abs")
        #expect(out.summary.symlinks == 3)
        expectLinksAfterTargets(out)
    }
}
