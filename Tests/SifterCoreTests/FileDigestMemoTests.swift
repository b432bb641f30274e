import Foundation
import OCISpec
import Testing
@testable import SifterCore

/// A remembered digest is used only while the file is unchanged: any write, even of the same
/// bytes, changes the ctime and makes sifter hash the file again.
@Suite struct FileDigestMemoTests {
    let root = NSTemporaryDirectory() + "digest-memo-" + UUID().uuidString

    func sha256(_ path: String) throws -> Digest {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return try Digest(sha256Hex: String(out.prefix(64)))
    }

    @Test func rememberedOnlyWhileTheFileIsUnchanged() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let memo = FileDigestMemo(cacheRoot: root + "/cache")
        let file = root + "/image.sif"
        try Data("first content".utf8).write(to: URL(fileURLWithPath: file))
        #expect(memo.digest(of: file) == nil)

        let first = try memo.digestOrHash(file)
        #expect(first == (try sha256(file)))
        #expect(memo.digest(of: file) == first)

        // A recorded digest that is wrong for the bytes is still returned while the file is
        // unchanged: the memo trusts its own records (and the registry checks uploads).
        let other = try Digest(sha256Hex: String(repeating: "ab", count: 32))
        memo.remember(other, for: file)
        #expect(memo.digest(of: file) == other)

        // Rewriting the same bytes in place: same size, new ctime (and mtime).
        usleep(10_000)
        let handle = try #require(FileHandle(forWritingAtPath: file))
        try handle.write(contentsOf: Data("first content".utf8))
        try handle.close()
        #expect(memo.digest(of: file) == nil)
        #expect(try memo.digestOrHash(file) == first)

        // A changed byte with the old mtime put back: the ctime still differs.
        var info = stat()
        stat(file, &info)
        let handle2 = try #require(FileHandle(forWritingAtPath: file))
        try handle2.write(contentsOf: Data("F".utf8))
        try handle2.close()
        var times = [info.st_atim, info.st_mtim]
        utimensat(AT_FDCWD, file, &times, 0)
        #expect(memo.digest(of: file) == nil)
        #expect(try memo.digestOrHash(file) == (try sha256(file)))

        // Replaced by another file under the same name (another inode), a damaged entry, no file.
        try Data("second".utf8).write(to: URL(fileURLWithPath: file + ".new"))
        rename(file + ".new", file)
        #expect(memo.digest(of: file) == nil)
        _ = try memo.digestOrHash(file)
        for entry in try FileManager.default.contentsOfDirectory(atPath: memo.directory) {
            try Data("garbage".utf8).write(to: URL(fileURLWithPath: memo.directory + "/" + entry))
        }
        #expect(memo.digest(of: file) == nil)
        #expect(memo.digest(of: root + "/missing.sif") == nil)
    }
}
