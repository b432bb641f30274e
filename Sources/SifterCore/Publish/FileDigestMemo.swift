import Foundation
import Hashing
import OCISpec

/// Remembers the sha256 of files sifter wrote or pushed, so `push` after `build` (the CI
/// step) does not read a multi-GiB SIF once more just to name it before the upload: hashing
/// is a fifth of a local push.
///
/// An entry is keyed by device and inode and holds the size, mtime and ctime the file had when
/// it was hashed; any write to the file changes its ctime, which userspace cannot set back, so a
/// changed file is hashed again (the check rsync and git make). Entries live in the cache
/// directory (`file-digests/`), written atomically; an unreadable entry is a miss. The registry
/// still checks every uploaded blob against the digest.
public struct FileDigestMemo: Sendable {
    public let directory: String

    public init(cacheRoot: String) {
        directory = cacheRoot + "/file-digests"
    }

    /// The remembered digest of `path`, if the file is unchanged since.
    public func digest(of path: String) -> Digest? {
        guard let stamp = Stamp(path: path),
              let text = try? String(contentsOfFile: entryPath(stamp), encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ").map(String.init)
        guard fields.count == 2, fields[0] == stamp.text, let digest = try? Digest(parsing: fields[1].trimmingCharacters(in: .newlines)) else {
            return nil
        }
        return digest
    }

    /// The digest of `path`: remembered, or computed (and then remembered).
    public func digestOrHash(_ path: String) throws -> Digest {
        if let known = digest(of: path) { return known }
        let digest = try Digest(sha256Hex: SHA256.hash(fileAt: path).hex)
        remember(digest, for: path)
        return digest
    }

    /// Records `digest` for `path` as it is now. Best effort: a cache that cannot be written
    /// only costs a hash later.
    public func remember(_ digest: Digest, for path: String) {
        guard let stamp = Stamp(path: path) else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let target = entryPath(stamp)
        let temporary = target + ".\(getpid()).tmp"
        guard (try? Data("\(stamp.text) \(digest)\n".utf8).write(to: URL(fileURLWithPath: temporary))) != nil else { return }
        if rename(temporary, target) != 0 { unlink(temporary) }
    }

    private func entryPath(_ stamp: Stamp) -> String { directory + "/\(stamp.device)-\(stamp.inode)" }

    /// What identifies a file's content without reading it.
    struct Stamp {
        var device: UInt64
        var inode: UInt64
        var text: String

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            text = "\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
        }
    }
}
