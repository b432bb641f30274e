import Foundation
import Testing
import Squashfs

/// The patch against mksquashfs itself: an image stamped with another time (as the clock
/// stamps a build's) and then patched must be byte for byte the image mksquashfs writes
/// with SOURCE_DATE_EPOCH set to that time (the same zlib at the same level recompresses the
/// root's block), at offset 0 and inside a file, whether the tables after the inode table
/// move or not.
@Suite struct RootTimePatchTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/mksquashfs")))
    func patchedImageEqualsTheOneWrittenWithThatTime() throws {
        let scratch = NSTemporaryDirectory() + "root-time-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let tar = scratch + "/in.tar"
        // Enough members for a multi-block inode table, xattrs (an xattr table), hard links,
        // fragments and full blocks; every time at or before the earliest time patched in.
        try shell("""
        python3 - '\(tar)' <<'PY'
        import io, sys, tarfile
        with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
            def add(name, kind=tarfile.REGTYPE, data=b'', **extra):
                info = tarfile.TarInfo(name); info.type = kind; info.mtime = 1_600_000_000 - len(name)
                info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
                for key, value in extra.items(): setattr(info, key, value)
                info.size = len(data) if kind == tarfile.REGTYPE else 0
                t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
            for d in range(30):
                add(f'd{d}', tarfile.DIRTYPE, pax_headers={'SCHILY.xattr.user.dir': f'v{d}'})
                for f in range(60):
                    add(f'd{d}/f{f}', data=f'{d}-{f}'.encode() * (f + 1), uid=d, gid=f % 7)
            add('d0/big', data=bytes(range(256)) * 2000)
            add('d1/link', tarfile.LNKTYPE, linkname='d0/f1')
            add('d1/sym', tarfile.SYMTYPE, linkname='../d0/f2')
        PY
        """)
        var deltas: Set<Int64> = []
        for (index, time) in [UInt32(1_600_000_000), 1_600_000_001, 1_650_000_000, 1_700_000_123, 1_612_345_678,
                              1_699_999_999, 1_750_000_003, 1_600_000_777, 1_777_777_777].enumerated() {
            let offset: Int64 = index % 2 == 0 ? 0 : 8192
            let patched = scratch + "/patched-\(index).img"
            let reference = scratch + "/reference-\(index).img"
            let common = "-tar -noappend -quiet -no-progress" + (offset > 0 ? " -offset \(offset)" : "")
            // The image as a build leaves it, stamped with "the clock": a fixed later time here,
            // so whether the recompressed block keeps its size does not depend on the day.
            let clock = 1_800_000_000 + UInt32(index) * 1_000_003
            try shell("SOURCE_DATE_EPOCH=\(clock) mksquashfs - '\(patched)' \(common) < '\(tar)' >/dev/null")
            try shell("SOURCE_DATE_EPOCH=\(time) mksquashfs - '\(reference)' \(common) < '\(tar)' >/dev/null")
            deltas.insert(try RootTimePatch.apply(path: patched, offset: offset, time: time))
            let same = FileManager.default.contentsEqual(atPath: patched, andPath: reference)
            #expect(same, "time \(time), offset \(offset)")
            if same { try shell("unsquashfs -o \(offset) -lln '\(patched)' >/dev/null") }
        }
        // (Times before now only: mksquashfs stamps the root with the clock when
        // SOURCE_DATE_EPOCH is later, so the reference would not carry the time.)
        // Both paths of the patch ran: in place, and with the tables moved.
        #expect(deltas.contains(0) && deltas.contains { $0 != 0 }, "deltas \(deltas)")
    }

    @Test func refusesWhatIsNotASquashfs() throws {
        let path = NSTemporaryDirectory() + "not-squashfs-" + UUID().uuidString
        try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: SquashfsError.invalidImage("not a squashfs 4.0 superblock")) {
            try RootTimePatch.apply(path: path, offset: 0, time: 1)
        }
    }

    private func shell(_ script: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(script)")
    }
}
