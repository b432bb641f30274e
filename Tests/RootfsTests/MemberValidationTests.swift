import ArchiveIO
import Foundation
import Rootfs
import TarFixtures
import Testing

/// A layer of raw tar bytes (members no writer produces), uncompressed.
func rawLayer(_ bytes: [UInt8], in dir: TempDir) throws -> LayerInput {
    let path = dir.file(UUID().uuidString + ".tar")
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return try describe(tarPath: path, .tar, in: dir)
}

/// The flattener must refuse `layer` with an `invalidEntry` for `entry` whose reason contains
/// `reason`.
func expectRefused(_ layer: LayerInput, entry: String, reason: String, in dir: TempDir,
                   sourceLocation: SourceLocation = #_sourceLocation) throws {
    do {
        _ = try flatten([layer], in: dir)
        Issue.record("accepted", sourceLocation: sourceLocation)
    } catch let error as RootfsError {
        guard case let .invalidEntry(image, digest, name, why) = error else {
            Issue.record("\(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(image == defaultOptions.imageName && digest == layer.name, sourceLocation: sourceLocation)
        #expect(name == entry, sourceLocation: sourceLocation)
        #expect(why.contains(reason), "\(why)", sourceLocation: sourceLocation)
    }
}

private let long = String(repeating: "a", count: 256)

@Suite struct NameLimits {
    /// mksquashfs cut both names to the same 256 bytes: a corrupt directory, exit status 0.
    @Test func componentOver255BytesIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try makeLayer([directory("d"), file("d/" + long + "X", "one"), file("d/" + long + "Y", "two")], in: dir)
        try expectRefused(layer, entry: "d/" + long + "X", reason: "a path component is 257 bytes long", in: dir)
    }

    @Test func hardLinkTargetOver255BytesIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try makeLayer([file("t", "target"), hardlink("h", "x/" + long)], in: dir)
        try expectRefused(layer, entry: "h", reason: "has a component of 256 bytes", in: dir)
    }

    @Test func symlinkTargetOver4095BytesIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try makeLayer([file("first"), symlink("s", String(repeating: "x/", count: 2048))], in: dir)
        try expectRefused(layer, entry: "s", reason: "its symlink target is 4096 bytes long", in: dir)
    }

    @Test func limitsThemselvesAreAccepted() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let name = String(repeating: "n", count: 255)
        // A target's components are not names: only its whole length is limited.
        let target = String(repeating: "x/", count: 1896) + String(repeating: "c", count: 300) + "/y"
        // A long component a later ".." removes is never created (as with umoci).
        let layer = try makeLayer([file(name, "max"), symlink("s", target), file(long + "/../dotdot", "d")], in: dir)
        let out = try flatten([layer], in: dir)
        #expect(out[name]?.content == "max")
        #expect(out["dotdot"]?.content == "d")
        #expect(out["s"]?.symlink == target && target.utf8.count == 4094)
    }
}

@Suite struct NumberLimits {
    @Test(arguments: [("uid", Int64(1) << 32), ("gid", Int64(1) << 32)])
    func idsOver32BitsAreRefused(field: String, value: Int64) throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let member = field == "uid" ? file("big", "x", uid: value) : file("big", "x", gid: value)
        let layer = try makeLayer([file("first"), member], in: dir)
        try expectRefused(layer, entry: "big", reason: "\(field) \(value) cannot be stored", in: dir)
    }

    @Test(arguments: [(UInt64(4096), UInt64(0)), (1, 1 << 20)])
    func devicesSquashfsCannotEncodeAreRefused(major: UInt64, minor: UInt64) throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let device = TEntry(path: Array("dev/x".utf8), type: .characterDevice, rdev: (major, minor))
        let layer = try makeLayer([file("first"), device], in: dir)
        try expectRefused(layer, entry: "dev/x", reason: "device \(major):\(minor) cannot be stored", in: dir)
    }

    @Test func largestOfEachIsAccepted() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let top = Int64(UInt32.max)
        let layer = try makeLayer([
            file("ids", "x", uid: top, gid: top),
            TEntry(path: Array("dev/max".utf8), type: .blockDevice, rdev: (4095, 1_048_575)),
        ], in: dir)
        let out = try flatten([layer], in: dir)
        #expect(out["ids"].map { [$0.uid, $0.gid] } == [top, top])
        #expect(out["dev/max"]?.rdev == [4095, 1_048_575])
    }
}

@Suite struct TimeClamping {
    /// squashfs times are unsigned 32-bit: earlier and later times are clamped, with a warning,
    /// on both paths; times it can hold (2038 and after included) are kept.
    @Test func timesOutsideSquashfsRangeAreClamped() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        func at(_ path: String, _ time: Int64) -> TEntry {
            var entry = file(path, path)
            entry.mtime = time
            return entry
        }
        let layer = try makeLayer([
            at("negative", -1), at("very-negative", -(1 << 40)), at("y2038", 1 << 31), at("max", 0xFFFF_FFFF),
            at("over", 1 << 32), at("far", 1 << 40), directory("old-dir", mtime: -5),
        ], in: dir)
        let expected: [String: Int64] = [
            "negative": 0, "very-negative": 0, "y2038": 1 << 31, "max": 0xFFFF_FFFF, "over": 0xFFFF_FFFF,
            "far": 0xFFFF_FFFF, "old-dir": 0,
        ]
        let out = try flatten([layer], in: dir)
        #expect(Dictionary(uniqueKeysWithValues: out.entries.map { ($0.path, $0.mtime) }).filter { expected[$0.key] != nil }
            == expected)
        #expect(out.summary.latestTime == 0xFFFF_FFFF)
        #expect(out.summary.warnings.contains { $0.contains("\"negative\" (mtime -1) and 4 more") && $0.contains("2106") },
                "\(out.summary.warnings)")
    }
}

@Suite struct DamagedLayers {
    /// A member behind a header with a bad checksum used to be skipped, the rest read on.
    @Test func damagedHeaderNamesTheLastGoodEntry() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try rawLayer(RawTar.member("first", data: [1]) + RawTar.header("bad", checksum: 7)
            + RawTar.member("third", data: [3]) + RawTar.end, in: dir)
        #expect {
            _ = try flatten([layer], in: dir)
        } throws: { error in
            guard case let .unreadableLayer(_, digest, entry, message)? = error as? RootfsError else { return false }
            return digest == layer.name && entry == "first" && message.contains("Damaged tar archive")
        }
    }

    @Test func paxPathWithNULIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let layer = try rawLayer(RawTar.member("first") + RawTar.pax([("path", Array("etc/cut-here\0.hidden".utf8))])
            + RawTar.member("innocent", data: [1]) + RawTar.end, in: dir)
        try expectRefused(layer, entry: "etc/cut-here", reason: "pax record \"path\" holds a NUL byte", in: dir)
    }
}
