import ArchiveIO
import Foundation
import Rootfs
import Testing

/// The synthetic-entry policies that follow Apptainer's build: `makeFile` writes /etc/hosts
/// and /etc/resolv.conf through a symlink (`internal/pkg/build/sources/base_environment.go`),
/// `insertDefinition` keeps an image's definition in bootstrap_history
/// (`internal/pkg/build/metadata.go`).
@Suite struct SyntheticPolicyTests {
    static let time: Int64 = 1_700_000_000

    static func hosts(_ path: String) -> SyntheticEntry {
        SyntheticEntry(path: path, kind: .file(contents: []), mode: 0o644, mtime: time, policy: .replaceThroughSymlink)
    }

    static let definition = SyntheticEntry(
        path: ".singularity.d/Singularity", kind: .file(contents: Array("new".utf8)), mode: 0o644, mtime: time,
        policy: .replaceKeepingHistory(directory: ".singularity.d/bootstrap_history", prefix: "Apptainer"))

    /// Flattens the layers with the synthetic entries on top and reads the tree back.
    func flattenTree(_ layers: [[TEntry]], synthetic: [SyntheticEntry]) throws -> CanonicalTree {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let inputs = try layers.map { try makeLayer($0, in: dir) }
        let options = FlattenOptions(imageName: "policies", defaultTime: Self.time, synthetic: synthetic)
        return CanonicalTree(try flatten(inputs, options: options, in: dir).entries)
    }

    @Test func writesThroughARelativeLink() throws {
        let tree = try flattenTree([[directory("etc"), directory("run"), file("run/hosts", "127.0.0.1 image", mode: 0o600),
                                         symlink("etc/hosts", "../run/hosts")]], synthetic: [Self.hosts("etc/hosts")])
        #expect(tree.members["etc/hosts"]?.symlink == "../run/hosts")
        #expect(tree.members["run/hosts"]?.content == "")
        #expect(tree.members["run/hosts"]?.mode == 0o644)
    }

    @Test func writesThroughAnAbsoluteDanglingLinkInsideTheRoot() throws {
        let tree = try flattenTree([[directory("etc"), symlink("etc/resolv.conf", "/run/systemd/resolve/stub-resolv.conf")]],
                                       synthetic: [Self.hosts("etc/resolv.conf")])
        #expect(tree.members["etc/resolv.conf"]?.symlink == "/run/systemd/resolve/stub-resolv.conf")
        #expect(tree.members["run/systemd/resolve/stub-resolv.conf"]?.content == "")
        #expect(tree.members["run/systemd/resolve"]?.type == .directory)
    }

    @Test(arguments: [("to a directory", "../var"), ("to itself", "hosts"), ("through a file", "../file/x")])
    func replacesALinkItCannotWriteThrough(_ example: (String, String)) throws {
        let tree = try flattenTree([[directory("etc"), directory("var"), file("file", "f"), symlink("etc/hosts", example.1)]],
                                       synthetic: [Self.hosts("etc/hosts")])
        #expect(tree.members["etc/hosts"]?.type == .regular, "\(example.0)")
        #expect(tree.members["etc/hosts"]?.content == "")
        #expect(tree.members["var"]?.type == .directory)
        #expect(tree.members["file"]?.content == "f")
    }

    @Test func replacesAFileOrNothing() throws {
        let tree = try flattenTree([[directory("etc"), file("etc/hosts", "x")]], synthetic: [Self.hosts("etc/hosts"), Self.hosts("etc/resolv.conf")])
        #expect(tree.members["etc/hosts"]?.content == "")
        #expect(tree.members["etc/resolv.conf"]?.content == "")
    }

    @Test func keepsTheImagesDefinition() throws {
        let tree = try flattenTree([[directory(".singularity.d"), file(".singularity.d/Singularity", "old")]],
                                       synthetic: [Self.definition])
        #expect(tree.members[".singularity.d/Singularity"]?.content == "new")
        #expect(tree.members[".singularity.d/bootstrap_history/Apptainer0"]?.content == "old")
        #expect(tree.members[".singularity.d/bootstrap_history"]?.mode == 0o755)
    }

    @Test func numbersAfterTheHistoryThereIs() throws {
        let tree = try flattenTree([[directory(".singularity.d/bootstrap_history"), file(".singularity.d/bootstrap_history/Apptainer0", "first"),
                                         file(".singularity.d/Singularity", "second")]], synthetic: [Self.definition])
        #expect(tree.members[".singularity.d/bootstrap_history/Apptainer0"]?.content == "first")
        #expect(tree.members[".singularity.d/bootstrap_history/Apptainer1"]?.content == "second")
        #expect(tree.members[".singularity.d/Singularity"]?.content == "new")
    }

    @Test func noHistoryWithoutADefinition() throws {
        let tree = try flattenTree([[directory("bin"), file("bin/sh", "sh")]], synthetic: [Self.definition])
        #expect(tree.members[".singularity.d/Singularity"]?.content == "new")
        #expect(tree.members.keys.allSatisfy { !$0.contains("bootstrap_history") })
    }
}
