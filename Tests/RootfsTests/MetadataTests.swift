import ArchiveIO
import Foundation
import Rootfs
import Testing

@Suite struct MetadataTests {
    @Test func specialFilesModesOwnersAndXattrs() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let capability: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        var null = TEntry(path: Array("dev/null".utf8), type: .characterDevice, mode: 0o666, rdev: (1, 3))
        null.uid = 0
        let loop = TEntry(path: Array("dev/loop0".utf8), type: .blockDevice, mode: 0o660, gid: 6, rdev: (7, 0))
        let fifo = TEntry(path: Array("run/fifo".utf8), type: .fifo, mode: 0o600, uid: 1000, gid: 1000)
        var ping = file("bin/ping", "ELF", mode: 0o4755)
        ping.xattrs = [ArchiveXattr(name: "security.capability", value: capability)]
        var tagged = directory("data", mode: 0o2775, uid: 4_000_000_000, gid: 70000)
        tagged.xattrs = [ArchiveXattr(name: "user.note", value: Array("hello".utf8))]
        let layer = try makeLayer([
            directory("dev"), null, loop, fifo, ping, tagged, directory("tmp", mode: 0o1777),
            file("usr/bin/sudo", "s", mode: 0o4711, uid: 0, gid: 0), file("usr/bin/wall", "w", mode: 0o2755, gid: 5),
        ], in: dir)
        let out = try flatten([layer], in: dir)
        #expect(out["dev/null"]?.type == .characterDevice)
        #expect(out["dev/null"]?.rdev == [1, 3])
        #expect(out["dev/null"]?.mode == 0o666)
        #expect(out["dev/loop0"]?.type == .blockDevice)
        #expect(out["dev/loop0"]?.rdev == [7, 0])
        #expect(out["dev/loop0"]?.gid == 6)
        #expect(out["run/fifo"]?.type == .fifo)
        #expect(out["run/fifo"]?.uid == 1000)
        #expect(out["bin/ping"]?.mode == 0o4755)
        #expect(out["bin/ping"]?.xattrs == [ArchiveXattr(name: "security.capability", value: capability)])
        #expect(out["data"]?.mode == 0o2775)
        #expect(out["data"]?.uid == 4_000_000_000)
        #expect(out["data"]?.gid == 70000)
        #expect(out["data"]?.xattrs == [ArchiveXattr(name: "user.note", value: Array("hello".utf8))])
        // One SCHILY record per xattr (what mksquashfs reads), never multiplied.
        #expect(out.occurrences(of: "SCHILY.xattr.security.capability=") == 1)
        #expect(out.occurrences(of: "SCHILY.xattr.user.note=") == 1)
        #expect(out["tmp"]?.mode == 0o1777)
        #expect(out["usr/bin/sudo"]?.mode == 0o4711)
        #expect(out["usr/bin/wall"]?.mode == 0o2755)
        // Owners are numeric only: no user or group names that a consumer could look up.
        #expect(out.entries.allSatisfy { ($0.uname ?? "").isEmpty })
        #expect(out.summary.characterDevices == 1 && out.summary.blockDevices == 1 && out.summary.fifos == 1)
    }

    @Test func longUnicodeAndNonUTF8Names() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let longDir = String(repeating: "d", count: 120)
        let longName = longDir + "/" + String(repeating: "n", count: 200)
        var latin1 = file("", "bytes")
        latin1.path = Array("caf".utf8) + [0xE9]  // "café" in Latin-1: not UTF-8
        let layer = try makeLayer([
            file(longName, "long"), file("ünï/çødé/日本語.txt", "unicode"), latin1, symlink("link-to-long", longName),
        ], in: dir)
        let out = try flatten([layer], in: dir)
        #expect(out[longName]?.content == "long")
        #expect(out[longDir]?.type == .directory)
        #expect(out["ünï/çødé/日本語.txt"]?.content == "unicode")
        #expect(out["caf\\xe9"]?.content == "bytes")
        #expect(out["link-to-long"]?.symlink == longName)
    }

    @Test func emptyLayersAndEmptyBlob() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let base = try makeLayer([file("a", "a")], in: dir)
        let emptyTar = try makeLayer([], .gzip, in: dir)
        let emptyZstd = try makeLayer([], .zstd, in: dir)
        let zeroPath = dir.file("zero.tar")
        _ = FileManager.default.createFile(atPath: zeroPath, contents: Data())
        let zero = try describe(tarPath: zeroPath, .tar, in: dir)
        let out = try flatten([base, emptyTar, emptyZstd, zero], in: dir)
        #expect(out.paths == ["a"])
        #expect(out.summary.layers.map(\.entries) == [1, 0, 0, 0])
        #expect(out.summary.layers[2].compression == ["zstd"])
    }

    @Test func zstdPlainAndGzipLayersStack() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let one = try makeLayer([file("from-tar", "1")], .tar, in: dir)
        let two = try makeLayer([file("from-gzip", "2")], .gzip, in: dir)
        let three = try makeLayer([file("from-zstd", "3"), whiteout(".wh.from-tar")], .zstd, in: dir)
        let out = try flatten([one, two, three], in: dir)
        #expect(out.paths == ["from-gzip", "from-zstd"])
        #expect(out["from-zstd"]?.content == "3")
        #expect(out.summary.layers.map(\.compression) == [[], ["gzip"], ["zstd"]])
        #expect(out.summary.layers[2].uncompressedBytes > out.summary.layers[2].compressedBytes)
    }

    @Test func sparseFileAndRootEntryFromGNUTar() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let tree = dir.file("tree")
        try FileManager.default.createDirectory(atPath: tree + "/sub", withIntermediateDirectories: true)
        let sparse = tree + "/sub/sparse"
        _ = FileManager.default.createFile(atPath: sparse, contents: Data())
        let handle = try #require(FileHandle(forWritingAtPath: sparse))
        try handle.seek(toOffset: 3 << 20)
        try handle.write(contentsOf: Data("tail".utf8))
        try handle.close()
        try checkTool(run("chmod", ["0700", tree]))
        let tarPath = dir.file("sparse.tar")
        try checkTool(run("tar", ["--sparse", "--format=posix", "--numeric-owner", "--mtime=@1650000000",
                                  "-C", tree, "-cf", tarPath, "."]))
        let layer = try describe(tarPath: tarPath, .gzip, in: dir)
        let out = try flatten([layer], in: dir)
        let content = try #require(out["sub/sparse"]?.content)
        #expect(content.utf8.count == (3 << 20) + 4)
        #expect(content.hasSuffix("tail"))
        #expect(content.utf8.prefix(3 << 20).allSatisfy { $0 == 0 })
        #expect(out.summary.fileDataBytes == (3 << 20) + 4)
        // The tar's "./" entry sets the root, which is reported and never written.
        #expect(out.summary.root.mode == 0o700)
        #expect(out.summary.root.mtime == 1_650_000_000)
        #expect(out.paths == ["sub", "sub/sparse"])
    }

    @Test func mtimeClampAndSyntheticEntries() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try makeLayer([
            directory("etc"), file("etc/hosts", "127.0.0.1 image"), symlink("singularity", "elsewhere"),
            directory("existing", mode: 0o700), symlink("lnk", "etc"),
        ], in: dir)
        let options = FlattenOptions(imageName: "i", defaultTime: 100, mtimeClamp: 1_000_000, synthetic: [
            SyntheticEntry(path: "/etc/hosts", kind: .file(contents: []), mode: 0o644, mtime: 5),
            SyntheticEntry(path: ".singularity.d/env/01-base.sh", kind: .file(contents: Array("#!/bin/sh\n".utf8)),
                           mode: 0o755, mtime: 5),
            SyntheticEntry(path: "singularity", kind: .symlink(target: ".singularity.d/runscript"), mode: 0o777,
                           mtime: 5, policy: .ifAbsentOrSymlink),
            SyntheticEntry(path: "existing", kind: .directory, mode: 0o755, mtime: 5, policy: .ifAbsent),
            SyntheticEntry(path: "lnk/resolv.conf", kind: .file(contents: []), mode: 0o644, mtime: 5),
        ])
        let out = try flatten([layer], options: options, in: dir)
        #expect(out["etc/hosts"]?.content == "")
        #expect(out["etc/hosts"]?.mtime == 5)
        #expect(out["etc"]?.mtime == 1_000_000)
        #expect(out[".singularity.d"]?.mtime == 100)
        #expect(out[".singularity.d/env/01-base.sh"]?.mode == 0o755)
        #expect(out["singularity"]?.symlink == ".singularity.d/runscript")
        #expect(out["existing"]?.mode == 0o700)
        // A synthetic path through a symlink lands inside the tree, at the link's target.
        #expect(out["etc/resolv.conf"] != nil)
        #expect(out["lnk"]?.type == .symlink)
    }

    @Test func outputIsDeterministic() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let one = try makeLayer([directory("b"), file("b/x", "x"), file("a", "a"), hardlink("c", "a")], in: dir)
        let two = try makeLayer([file("b/y", "y"), directory("z")], .zstd, in: dir)
        let first = try flatten([one, two], in: dir)
        let second = try flatten([one, two], in: dir)
        #expect(first.entries == second.entries)
        // Directories first, then objects in layer order and member order within a layer.
        #expect(first.paths == ["b", "z", "b/x", "a", "c", "b/y"])
    }
}
