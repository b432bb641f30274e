import ArchiveIO
import Foundation
import Rootfs
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The one-pass flattener against the exact two-pass one: whenever it does not give up, the
/// tree it writes must be the same, member for member and hard link group for group.
@Suite struct OnePassTests {
    @Test func layeredImageIsWrittenInOnePassAsTheTwoPassesWriteIt() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var ping = file("usr/bin/ping", "\u{7F}ELF\u{2}\u{1}\u{1}\u{0}" + String(repeating: "\u{0}", count: 12) + "\u{3E}\u{0}rest", mode: 0o4755)
        ping.xattrs = [ArchiveXattr(name: "security.capability", value: [1, 0, 0, 2, 0, 32, 0, 0] + Array(repeating: 0, count: 12))]
        var etc = directory("etc", mode: 0o750, uid: 3, gid: 4)
        etc.xattrs = [ArchiveXattr(name: "user.note", value: Array("lower".utf8))]
        let base = try makeLayer([
            directory("./", mode: 0o755), directory("usr"), directory("usr/bin"), ping,
            file("usr/bin/tool", "tool v1", mode: 0o755, uid: 1000, gid: 100), hardlink("usr/bin/tool-alias", "usr/bin/tool"),
            etc, file("etc/hosts", "image hosts"), file("etc/old", "old"), file("etc/keep", "keep"),
            directory("opt"), directory("opt/app"), file("opt/app/a", "a"), file("opt/app/b", "b"),
            directory("var"), directory("var/cache"), file("var/cache/big", String(repeating: "x", count: 200_000)),
            TEntry(path: Array("dev/null".utf8), type: .characterDevice, mode: 0o666, rdev: (1, 3)),
            TEntry(path: Array("run/fifo".utf8), type: .fifo, mode: 0o600), directory("tmp", mode: 0o1777),
            symlink("bin", "usr/bin"), symlink("singularity", "/old/runscript"), file("environment", "not a symlink"),
        ], .gzip, in: dir)
        var etcUpper = directory("etc", mode: 0o755, uid: 0, gid: 0)
        etcUpper.xattrs = [ArchiveXattr(name: "user.note", value: Array("upper".utf8))]
        let middle = try makeLayer([
            etcUpper, whiteout("etc/.wh.old"), file("etc/new", "new"),
            directory("opt/app"), whiteout("opt/app/.wh..wh..opq"), file("opt/app/c", "c"),
            hardlink("usr/bin/old-tool", "usr/bin/tool"), file("usr/bin/tool", "tool v2", mode: 0o755),
            whiteout("var/.wh.cache"),
        ], .zstd, in: dir)
        let top = try makeLayer([
            file("usr/bin/new", "new binary", mode: 0o755), hardlink("usr/bin/new-alias", "usr/bin/new"),
            hardlink("usr/bin/keep-link", "etc/keep"), directory("srv", mode: 0o700, uid: 7, gid: 7),
        ], .gzip, in: dir)
        let options = FlattenOptions(imageName: "one-pass", defaultTime: 1_700_000_000, synthetic: [
            SyntheticEntry(path: "tmp", kind: .directory, mode: 0o755, mtime: 1_700_000_000, policy: .ifAbsent),
            SyntheticEntry(path: "home", kind: .directory, mode: 0o755, mtime: 1_700_000_000, policy: .ifAbsent),
            SyntheticEntry(path: "singularity", kind: .symlink(target: ".singularity.d/runscript"), mode: 0o777,
                           mtime: 1_700_000_000, policy: .ifAbsentOrSymlink),
            SyntheticEntry(path: "environment", kind: .symlink(target: ".singularity.d/env/90-environment.sh"), mode: 0o777,
                           mtime: 1_700_000_000, policy: .ifAbsentOrSymlink),
            SyntheticEntry(path: "etc/hosts", kind: .file(contents: []), mode: 0o644, mtime: 1_700_000_000),
            SyntheticEntry(path: ".singularity.d/runscript", kind: .file(contents: Array("#!/bin/sh\n".utf8)),
                           mode: 0o755, mtime: 1_700_000_000),
        ], probePath: "bin/ping")

        let exact = try flatten([base, middle, top], options: options, in: dir)
        let onePass = try flattenInOnePass([base, middle, top], options: options, in: dir)
        let written = try #require(onePass.entries, "abandoned: \(onePass.abandoned ?? "")")
        #expect(CanonicalTree(written) == CanonicalTree(exact.entries))
        #expect(onePass.summary?.probeHead == exact.summary.probeHead)
        #expect(onePass.summary?.root == exact.summary.root)
        // Spot checks that the comparison sees what matters.
        let tree = CanonicalTree(written)
        #expect(tree.members["usr/bin/old-tool"]?.content == "tool v1")
        #expect(tree.members["usr/bin/tool"]?.content == "tool v2")
        #expect(tree.members["etc"]?.xattrs.first?.value == Array("upper".utf8))
        #expect(tree.members["etc/old"] == nil && tree.members["var/cache"] == nil && tree.members["opt/app/a"] == nil)
        #expect(tree.members["singularity"]?.symlink == ".singularity.d/runscript")
        #expect(tree.members["environment"]?.content == "not a symlink")
        #expect(tree.members["etc/hosts"]?.content == "")
        #expect(tree.groups.contains(["usr/bin/keep-link", "etc/keep"]))
        // Directories come after the files in them: mksquashfs applies their metadata then.
        let order = written.map(\.path)
        #expect(try #require(order.firstIndex(of: "usr")) > #require(order.firstIndex(of: "usr/bin/new")))
    }

    @Test func givesUpWhereReadingTopDownCouldDiffer() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let cases: [(String, [[TEntry]])] = [
            ("a member beneath a same-layer symlink", [[directory("real")], [symlink("link", "real"), file("link/f", "f")]]),
            ("a path written twice in one layer", [[file("a", "1"), file("a", "2")]]),
            ("a lower symlink an upper layer writes through", [[directory("usr"), symlink("lib", "usr")], [file("lib/x", "x")]]),
            ("a link to a file removed in between", [[file("t", "t")], [whiteout(".wh.t")], [hardlink("l", "t")]]),
            ("a root entry that is not the top layer's first member", [[file("a")], [file("b"), directory("./", uid: 5)]]),
        ]
        for (name, stack) in cases {
            let layers = try stack.map { try makeLayer($0, .gzip, in: dir) }
            let exact = try? flatten(layers, options: onePassOptions, in: dir)
            let onePass = try flattenInOnePass(layers, options: onePassOptions, in: dir)
            #expect(onePass.entries == nil, "\(name): expected the one pass to give up")
            #expect(onePass.abandoned != nil, "\(name)")
            _ = exact
        }
    }

    /// Random layer stacks over a few names, so that paths collide, whiteouts hit, links
    /// cross layers and symlinks sit on paths: the one pass either gives up or writes the
    /// exact tree; and when the two passes refuse a stack, the one pass never writes it.
    @Test func randomStacksMatchTheTwoPasses() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var generator = SplitMix(seed: 0x5EED)
        var written = 0
        var refused = 0
        var reasons: [String: Int] = [:]
        let stacks = 400
        for stack in 0..<stacks {
            var files: [String] = []
            let layers = try (0..<generator.next(in: 2...4)).map { _ in
                try makeLayer(randomLayer(&generator, files: &files), .tar, in: dir)
            }
            let exact = try? flatten(layers, options: onePassOptions, in: dir)
            let onePass = try flattenInOnePass(layers, options: onePassOptions, in: dir)
            guard let exact else {
                refused += 1
                #expect(onePass.entries == nil, "stack \(stack): the two passes refuse it, the one pass wrote it")
                continue
            }
            if let reason = onePass.abandoned { reasons[String(reason.prefix(40)), default: 0] += 1 }
            if let entries = onePass.entries {
                written += 1
                #expect(CanonicalTree(entries) == CanonicalTree(exact.entries), "stack \(stack)")
            }
        }
        // The comparison must have run often enough to mean something.
        #expect(written >= 30, "one pass written for \(written) of \(stacks - refused) valid stacks; gave up: \(reasons)")
    }

    /// Both streams through the real mksquashfs: the listings (modes, owners, sizes, times)
    /// must be identical, so directories written last get their metadata.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/mksquashfs")))
    func bothStreamsMakeTheSameSquashfs() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var docs = directory("usr/share/doc", mode: 0o700, uid: 12, gid: 34, mtime: 1_500_000_000)
        docs.xattrs = [ArchiveXattr(name: "user.kind", value: Array("docs".utf8))]
        let lower = try makeLayer([
            directory("usr", mtime: 1_400_000_000), directory("usr/share"), docs, file("usr/share/doc/a", "a"),
            file("usr/share/doc/b", "b"), directory("etc", mode: 0o711, mtime: 1_450_000_000), file("etc/x", "x"),
        ], .gzip, in: dir)
        let upper = try makeLayer([
            whiteout("usr/share/doc/.wh.b"), file("usr/share/doc/c", "c"), hardlink("etc/c-link", "usr/share/doc/c"),
            hardlink("etc/a-link", "usr/share/doc/a"),
        ], .gzip, in: dir)
        let layers = [lower, upper]
        let exactTar = dir.file("exact.tar")
        let onePassTar = dir.file("one.tar")
        let fd = open(exactTar, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try LayerFlattener(layers: layers, options: onePassOptions).write(toFileDescriptor: fd)
        close(fd)
        let onePass = try flattenInOnePass(layers, options: onePassOptions, in: dir, keepingAt: onePassTar)
        #expect(onePass.entries != nil, "abandoned: \(onePass.abandoned ?? "")")
        var listings: [String] = []
        for tar in [exactTar, onePassTar] {
            let image = tar + ".sqfs"
            let squash = try run("sh", ["-c", "SOURCE_DATE_EPOCH=1700000000 mksquashfs - '\(image)' -tar -noappend -quiet -no-progress -exit-on-error < '\(tar)'"])
            #expect(squash.status == 0, "\(squash.stderr)")
            let listing = try run("unsquashfs", ["-lln", image])
            let xattrs = try run("unsquashfs", ["-lls", image])
            listings.append(listing.stdout.split(separator: "\n").filter { $0.contains("squashfs-root/") }.sorted().joined(separator: "\n")
                + (xattrs.status == 0 ? "" : "?"))
        }
        #expect(listings[0] == listings[1])
        #expect(listings[0].contains("drwx------ 12/34"))
    }
}

/// SOURCE_DATE_EPOCH at the test members' time, so that no member is later.
let onePassOptions = FlattenOptions(imageName: "test/image:1", defaultTime: 1_700_000_000)

/// A layer of random members over a small name space; hard links name files written
/// before (`files`), as real layers do.
private func randomLayer(_ generator: inout SplitMix, files: inout [String]) -> [TEntry] {
    let names = ["a", "b", "c", "a/b", "a/c", "b/a", "a/b/c", "c/a", "d/e", "d/f"]
    var entries: [TEntry] = []
    for _ in 0..<generator.next(in: 1...8) {
        let path = names[generator.next(in: 0...(names.count - 1))]
        let parent = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) + "/" : ""
        let leaf = String(path.split(separator: "/").last!)
        switch generator.next(in: 0...19) {
        case 0...6:
            entries.append(file(path, "content \(generator.next(in: 0...99))", mode: 0o644))
            files.append(path)
        case 7...10: entries.append(directory(path, mode: [0o755, 0o700][generator.next(in: 0...1)]))
        case 11: entries.append(symlink(path, ["a", "../b", "/c", "x"][generator.next(in: 0...3)]))
        case 12, 13:
            if let target = files.isEmpty ? nil : files[generator.next(in: 0...(files.count - 1))] {
                entries.append(hardlink(path, target))
            }
        case 14, 15: entries.append(whiteout(parent + ".wh." + leaf))
        case 16: entries.append(whiteout(parent + ".wh..wh..opq"))
        default: entries.append(file(path, "other", mode: 0o600))
        }
    }
    return entries
}

/// A small deterministic generator, so a failing stack can be reproduced.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

/// What a tar stream leaves on disk: members by path (hard links carry their target's
/// fields), and the groups of names that share a file.
struct CanonicalTree: Equatable {
    var members: [String: OutEntry] = [:]
    var groups: Set<Set<String>> = []

    init(_ entries: [OutEntry]) {
        var groupOf: [String: Int] = [:]
        var groupPaths: [[String]] = []
        for entry in entries {
            if let target = entry.hardlink, let original = members[target] {
                var linked = original
                linked.path = entry.path
                members[entry.path] = linked
                let group = groupOf[target] ?? {
                    groupPaths.append([target])
                    groupOf[target] = groupPaths.count - 1
                    return groupPaths.count - 1
                }()
                groupPaths[group].append(entry.path)
                groupOf[entry.path] = group
            } else {
                members[entry.path] = entry
            }
        }
        groups = Set(groupPaths.map(Set.init))
    }
}

struct OnePassOutcome {
    var entries: [OutEntry]?
    var summary: FlattenSummary?
    var abandoned: String?
}

/// Runs the one-pass flattener with its own guess into a file and reads the stream back.
func flattenInOnePass(_ layers: [LayerInput], options: FlattenOptions = defaultOptions, in dir: TempDir,
                      keepingAt path: String? = nil) throws -> OnePassOutcome {
    let flattener = LayerFlattener(layers: layers, options: options)
    guard let guess = flattener.onePassGuess() else { return OnePassOutcome(abandoned: "no guess") }
    let outPath = path ?? dir.file("one-\(UUID().uuidString).tar")
    let fd = open(outPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw ToolFailure(description: "cannot create \(outPath)") }
    defer { close(fd) }
    switch try flattener.write(guess: guess, toFileDescriptor: fd) {
    case let .written(summary):
        return OnePassOutcome(entries: try readBack(outPath), summary: summary)
    case let .abandoned(reason):
        return OnePassOutcome(abandoned: reason)
    }
}
