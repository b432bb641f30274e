import ArchiveIO
import Foundation
import Testing

private let longName = "long/" + String(repeating: "d", count: 60) + "/" + String(repeating: "f", count: 90) + ".txt"
private let badName: [UInt8] = Array("bad-".utf8) + [0xff, 0xfe] + Array("-name".utf8)
/// VFS_CAP_REVISION_2 granting CAP_NET_BIND_SERVICE; contains NUL bytes on purpose.
private let capability: [UInt8] = [0, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
private let fileContent = Array("hello, archive\n".utf8)

/// Writes the fixture archive used by the round-trip tests.
private func writeFixture(to path: String) throws {
    let writer = try ArchiveWriter(path: path)

    let dir = try ArchiveEntry()
    dir.pathname = "dir/"
    dir.fileType = .directory
    dir.permissions = 0o755
    dir.mtime = ArchiveTimestamp(seconds: 1_600_000_000)
    try writer.writeHeader(dir)

    let file = try ArchiveEntry()
    file.pathname = "dir/file.txt"
    file.fileType = .regular
    file.permissions = 0o4755
    file.uid = 1000
    file.gid = 2000
    file.uname = "alice"
    file.gname = "staff"
    file.size = Int64(fileContent.count)
    file.mtime = ArchiveTimestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789)
    file.xattrs = [
        ArchiveXattr(name: "user.test", value: Array("xattr value".utf8)),
        ArchiveXattr(name: "security.capability", value: capability),
    ]
    try writer.writeHeader(file)
    try writer.writeData(fileContent)

    let link = try ArchiveEntry()
    link.pathname = "dir/link"
    link.fileType = .symlink
    link.permissions = 0o777
    link.symlink = "file.txt"
    try writer.writeHeader(link)

    let hard = try ArchiveEntry()
    hard.pathname = "dir/hard"
    hard.fileType = .regular
    hard.permissions = 0o644
    hard.hardlink = "dir/file.txt"
    try writer.writeHeader(hard)

    let fifo = try ArchiveEntry()
    fifo.pathname = "dir/fifo"
    fifo.fileType = .fifo
    fifo.permissions = 0o600
    try writer.writeHeader(fifo)

    let device = try ArchiveEntry()
    device.pathname = "dev/null"
    device.fileType = .characterDevice
    device.permissions = 0o666
    device.rdevMajor = 1
    device.rdevMinor = 3
    try writer.writeHeader(device)

    try addFile(writer, Array(longName.utf8), Array("long".utf8))
    try addFile(writer, badName, Array("bad".utf8))
    try addFile(writer, Array("café-ü.txt".utf8), Array("utf8".utf8))
    try writer.finish()
    // A name that is not UTF-8 cannot go in a pax "path" record as text;
    // libarchive warns and stores it with hdrcharset=BINARY instead.
    #expect(writer.warnings.count == 1 && writer.warnings.allSatisfy { $0.contains("bad-") }, "\(writer.warnings)")
}

@Suite struct RoundTrip {
    @Test func everyEntryKindSurvives() throws {
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let path = tmp.file("fixture.tar")
        try writeFixture(to: path)

        let reader = try ArchiveReader(path: path)
        var entries: [(ArchiveEntry, [UInt8])] = []
        while let entry = try reader.nextEntry() {
            entries.append((entry, try readAll(reader)))
        }
        #expect(reader.formatName?.contains("pax") == true)
        #expect(reader.filterNames.isEmpty)
        try reader.close()
        #expect(reader.warnings.isEmpty, "\(reader.warnings)")

        try #require(entries.count == 9)
        // Entries stay valid after the reader moved on: each owns its header.
        let (dir, _) = entries[0]
        #expect(dir.pathname == "dir/")
        #expect(dir.fileType == .directory)
        #expect(dir.permissions == 0o755)
        #expect(dir.mtime == ArchiveTimestamp(seconds: 1_600_000_000))

        let (file, content) = entries[1]
        #expect(file.pathname == "dir/file.txt")
        #expect(file.fileType == .regular)
        #expect(file.permissions == 0o4755)
        #expect(file.mode == 0o104755)
        #expect(file.uid == 1000 && file.gid == 2000)
        #expect(file.uname == "alice" && file.gname == "staff")
        #expect(file.size == Int64(fileContent.count))
        #expect(file.mtime == ArchiveTimestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789))
        #expect(content == fileContent)
        #expect(
            Set(file.xattrs) == [
                ArchiveXattr(name: "user.test", value: Array("xattr value".utf8)),
                ArchiveXattr(name: "security.capability", value: capability),
            ])
        #expect(file.hardlink == nil && file.symlink == nil)

        let (link, _) = entries[2]
        #expect(link.fileType == .symlink)
        #expect(link.symlink == "file.txt")
        #expect(link.symlinkBytes == Array("file.txt".utf8))

        let (hard, hardData) = entries[3]
        #expect(hard.pathname == "dir/hard")
        #expect(hard.hardlink == "dir/file.txt")
        #expect(hard.size == 0 && hardData.isEmpty)

        #expect(entries[4].0.fileType == .fifo)
        #expect(entries[4].0.permissions == 0o600)

        let (device, _) = entries[5]
        #expect(device.fileType == .characterDevice)
        #expect(device.rdevMajor == 1 && device.rdevMinor == 3)

        #expect(entries[6].0.pathname == longName)
        #expect(entries[6].1 == Array("long".utf8))

        let (bad, badData) = entries[7]
        #expect(bad.pathnameBytes == badName)
        #expect(bad.pathname == nil, "non-UTF-8 names must not be decoded lossily")
        #expect(badData == Array("bad".utf8))

        #expect(entries[8].0.pathname == "café-ü.txt")
    }

    @Test func gnuTarAgreesAsIndependentOracle() throws {
        guard let tar = findTool("tar") else { return }
        let tmp = try TempDir()
        defer { tmp.cleanup() }
        let path = tmp.file("fixture.tar")
        try writeFixture(to: path)

        let listing = try runTool(tar, ["--xattrs", "--numeric-owner", "-tvf", path])
        #expect(listing.status == 0, "\(listing.stderr)")
        let lines = listing.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 9, "\(listing.stdout)")
        #expect(lines.contains { $0.hasPrefix("drwxr-xr-x") && $0.hasSuffix(" dir/") })
        // GNU tar marks members carrying xattrs with "*" after the mode.
        #expect(lines.contains { $0.hasPrefix("-rwsr-xr-x* 1000/2000") && $0.hasSuffix(" dir/file.txt") })
        #expect(lines.filter { $0.contains("*") }.count == 1)
        #expect(lines.contains { $0.hasPrefix("l") && $0.hasSuffix("dir/link -> file.txt") })
        #expect(lines.contains { $0.hasPrefix("h") && $0.hasSuffix("dir/hard link to dir/file.txt") })
        #expect(lines.contains { $0.hasPrefix("prw-------") && $0.hasSuffix(" dir/fifo") })
        #expect(lines.contains { $0.hasPrefix("crw-rw-rw-") && $0.contains("1,3") && $0.hasSuffix(" dev/null") })
        #expect(lines.contains { $0.hasSuffix(" " + longName) })
        // In the C locale GNU tar prints non-ASCII bytes as octal escapes.
        #expect(lines.contains { $0.hasSuffix(#" caf\303\251-\303\274.txt"#) })
        #expect(lines.contains { $0.hasSuffix(#" bad-\377\376-name"#) })

        // xattrs must be stored as SCHILY.xattr records, which GNU tar, bsdtar
        // and Go's archive/tar all read.
        let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(raw.firstRange(of: Array("SCHILY.xattr.user.test=xattr value\n".utf8)) != nil)
        #expect(raw.firstRange(of: Array("SCHILY.xattr.security.capability=".utf8) + capability) != nil)

        // GNU tar extracts the exact non-UTF-8 name and contents.
        let out = tmp.file("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let extract = try runTool(tar, ["-xf", path, "-C", out, "--exclude=dev", "--exclude=dir/fifo"])
        #expect(extract.status == 0, "\(extract.stderr)")
        let badPath = Array((out + "/").utf8) + badName + [0]
        let fd = badPath.withUnsafeBufferPointer { ptr in
            ptr.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_RDONLY) }
        }
        #expect(fd >= 0)
        if fd >= 0 { close(fd) }
        #expect(try String(contentsOfFile: out + "/dir/hard", encoding: .utf8) == "hello, archive\n")
    }

    @Test func cloneIsIndependent() throws {
        let entry = try ArchiveEntry()
        entry.pathname = "a"
        entry.xattrs = [ArchiveXattr(name: "user.x", value: [1])]
        let copy = try entry.clone()
        copy.pathname = "b"
        copy.xattrs = []
        #expect(entry.pathname == "a" && entry.xattrs.count == 1)
        #expect(copy.pathname == "b" && copy.xattrs.isEmpty)
        entry.mtime = nil
        #expect(entry.mtime == nil)
        entry.pathnameBytes = nil
        #expect(entry.pathnameBytes == nil)
    }
}
