import Foundation
import Hashing
import OCISpec
#if canImport(Glibc)
import Glibc
#endif

/// A content-addressed blob store shared by sifter runs: `ROOT/blobs/sha256/<hex>` holds only
/// complete, verified blobs (a directory a CI cache step can save and restore as is);
/// `ROOT/ingest/` holds partial downloads and their lock files.
///
/// Several processes may use one cache at once. A blob is written to `ingest/<hex>.partial`
/// while `ingest/<hex>.lock` is flock()ed, verified, then renamed into place, so a reader never
/// sees a partial blob and two writers of the same blob never interleave. A partial left by a
/// killed run is resumed by the next one.
public final class BlobCache: Sendable {
    public let root: String

    /// Opens (creating if needed) a cache directory.
    public init(root: String) throws(DistributionError) {
        self.root = root
        // Missing parents (~/.cache on a fresh account) are made private to the user, as the
        // XDG base directory specification asks.
        var parents: [String] = []
        var parent = (root as NSString).deletingLastPathComponent
        while !parent.isEmpty, parent != "/", access(parent, F_OK) != 0 {
            parents.insert(parent, at: 0)
            parent = (parent as NSString).deletingLastPathComponent
        }
        for directory in parents where mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw .io(operation: "mkdir", path: directory, errno: errno)
        }
        for directory in [root, root + "/blobs", root + "/blobs/sha256", root + "/ingest"] {
            if mkdir(directory, 0o755) != 0, errno != EEXIST {
                throw .io(operation: "mkdir", path: directory, errno: errno)
            }
        }
    }

    /// `SIFTER_CACHE_DIR`, else `$XDG_CACHE_HOME/sifter`, else `~/.cache/sifter`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = environment["SIFTER_CACHE_DIR"], !dir.isEmpty { return dir }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/sifter" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/sifter"
    }

    /// Where a blob lives (or would live).
    public func blobPath(for digest: Digest) -> String { root + "/blobs/sha256/" + digest.hex }

    /// The path of a complete blob, or nil when the cache does not have it.
    public func path(for digest: Digest) -> String? {
        var info = stat()
        guard stat(blobPath(for: digest), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return blobPath(for: digest)
    }

    /// Re-hashes a cached blob (after a CI cache restore, say). A blob that does not match is
    /// removed and false returned; an absent blob is false too.
    @discardableResult
    public func verify(_ digest: Digest) throws(DistributionError) -> Bool {
        guard let path = path(for: digest) else { return false }
        let actual: SHA256Digest
        do {
            actual = try SHA256.hash(fileAt: path)
        } catch {
            throw .cache(path: path, reason: "cannot hash: \(error)")
        }
        if actual.hex == digest.hex { return true }
        unlink(path)
        return false
    }

    /// Records a use, so `prune(olderThan:)` and size-based pruning keep recently used blobs.
    /// Access times are unreliable (relatime, noatime), so the modification time is the clock.
    public func markUsed(_ digest: Digest) {
        _ = utimensat(AT_FDCWD, blobPath(for: digest), nil, 0)
    }

    /// Adds a local file to the cache by copying it (e.g. a layer built locally), verifying
    /// the digest on the way. Returns the cached path.
    @discardableResult
    public func add(file: String, digest: Digest) throws(DistributionError) -> String {
        do {
            return try copyIn(file: file, digest: digest)
        } catch let .digestMismatch(_, _, _, expected, actual) {
            throw .cache(path: file, reason: "content has digest \(actual), not \(expected)")
        }
    }

    private func copyIn(file: String, digest: Digest) throws(DistributionError) -> String {
        try ingest(digest, expectedSize: nil) { writer throws(DistributionError) in
            guard let input = FileHandle(forReadingAtPath: file) else { throw .io(operation: "open", path: file, errno: errno) }
            defer { try? input.close() }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let n = read(input.fileDescriptor, buffer.baseAddress, buffer.count)
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else { throw .io(operation: "read", path: file, errno: errno) }
                if n == 0 { break }
                try writer.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
        }.path
    }

    /// Removes a cached blob that failed its check, if the file is still the one that was
    /// checked (`device`, `inode`): another run may have put a good copy there meanwhile.
    func discard(_ digest: Digest, device: UInt64, inode: UInt64) throws(DistributionError) {
        let lock = try IngestLock(path: root + "/ingest/" + digest.hex + ".lock")
        defer { lock.release() }
        var info = stat()
        let path = blobPath(for: digest)
        guard stat(path, &info) == 0, UInt64(info.st_dev) == device, UInt64(info.st_ino) == inode else { return }
        guard unlink(path) == 0 || errno == ENOENT else { throw .io(operation: "unlink", path: path, errno: errno) }
    }

    /// Writes a blob through `body` under the per-blob lock and moves it into place once its
    /// size (when known) and digest check out (mismatches are thrown with empty registry and
    /// repository, for the caller to fill in). If the blob is already there (perhaps written by
    /// another process while we waited for the lock), `body` is not called and `wrote` is false:
    /// the caller decides whether to trust it.
    /// `arrival`, when given, learns of every byte written and of the blob's verification.
    /// A write the file system refuses for lack of space removes the partial file: it would
    /// only hold the space the next run needs.
    func ingest(_ digest: Digest, expectedSize: Int64?, arrival: BlobArrival? = nil,
                _ body: (BlobWriter) throws(DistributionError) -> Void) throws(DistributionError) -> (path: String, wrote: Bool)
    {
        let final = blobPath(for: digest)
        if path(for: digest) != nil { return (final, false) }
        let lock = try IngestLock(path: root + "/ingest/" + digest.hex + ".lock")
        defer { lock.release() }
        if path(for: digest) != nil { return (final, false) }

        let partial = root + "/ingest/" + digest.hex + ".partial"
        let fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "open", path: partial, errno: errno) }
        defer { close(fd) }
        do throws(DistributionError) {
            let writer = try BlobWriter(fd: fd, path: partial, expectedSize: expectedSize)
            writer.arrival = arrival
            try arrival?.begin(fd: fd, offset: writer.offset)
            try body(writer)
            if let expectedSize, writer.offset != expectedSize {
                throw DistributionError.sizeMismatch(registry: "", repository: "", digest: digest, expected: expectedSize, actual: writer.offset)
            }
            let actual = writer.digest
            guard actual.hex == digest.hex else {
                try writer.reset()
                throw DistributionError.digestMismatch(registry: "", repository: "", what: "blob", expected: digest,
                                                       actual: (try? Digest(sha256Hex: actual.hex)) ?? digest)
            }
            // Data before name: after a crash the blob is either complete or absent.
            guard fsync(fd) == 0 else { throw DistributionError.io(operation: "fsync", path: partial, errno: errno) }
            guard rename(partial, final) == 0 else { throw DistributionError.io(operation: "rename", path: final, errno: errno) }
        } catch let .io(operation, path, code) where Self.isOutOfSpace(code) {
            // Under the lock, so no other run is appending to it.
            _ = ftruncate(fd, 0)
            unlink(partial)
            throw .cache(path: root, reason: "\(operation) \(path) failed: \(String(cString: strerror(code))); the partial download of "
                + "blob \(digest) was removed (free space, or choose another cache with --cache-dir or SIFTER_CACHE_DIR)")
        }
        arrival?.verified()
        return (final, true)
    }

    /// Errors that mean the file system has no room for the blob.
    static func isOutOfSpace(_ code: Int32) -> Bool {
        code == ENOSPC || code == EDQUOT || code == EFBIG
    }
}

/// An exclusive flock() on `ingest/<hex>.lock`, held across processes and threads (each lock
/// is its own open file description). The lock file is reopened if pruning replaced it
/// between our open and our flock, so two holders can never have different inodes.
final class IngestLock {
    private let fd: Int32

    init(path: String) throws(DistributionError) {
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    let code = errno
                    close(fd)
                    throw .io(operation: "flock", path: path, errno: code)
                }
            }
            var held = stat()
            var named = stat()
            if fstat(fd, &held) == 0, stat(path, &named) == 0, held.st_ino == named.st_ino, held.st_dev == named.st_dev {
                self.fd = fd
                return
            }
            close(fd)
        }
    }

    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// Appends a blob's bytes to its partial file while hashing them. Picks up where a previous
/// run stopped (re-hashing what is on disk). As a `BodyTarget` it can undo the bytes of one
/// HTTP exchange when that turns out to be an error page or a redirect body.
final class BlobWriter: BodyTarget {
    let fd: Int32
    let path: String
    let expectedSize: Int64?
    private(set) var offset: Int64 = 0
    private var hasher: SHA256Hasher
    private var mark: (offset: Int64, hasher: SHA256Hasher)
    /// Called with the new offset after each write (progress reporting).
    var onWrite: ((Int64) -> Void)?
    /// Checked before each write; set by a failing sibling download.
    var isCancelled: () -> Bool = { false }
    /// Readers of the blob while it downloads.
    var arrival: BlobArrival?

    init(fd: Int32, path: String, expectedSize: Int64?) throws(DistributionError) {
        self.fd = fd
        self.path = path
        self.expectedSize = expectedSize
        do { hasher = try SHA256Hasher() } catch { throw .cache(path: path, reason: "\(error)") }
        mark = (0, hasher)
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(operation: "fstat", path: path, errno: errno) }
        let existing = Int64(info.st_size)
        if existing > 0, existing <= (expectedSize ?? Int64.max) {
            try rehash(length: existing)
            offset = existing
        } else if existing > 0 {
            try reset()
        }
        mark = (offset, hasher)
    }

    var digest: SHA256Digest { hasher.finalize() }
    var buffered: [UInt8] { [] }

    func begin() { mark = (offset, hasher) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try append(bytes)
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(DistributionError) {
        if isCancelled() { throw .cancelled }
        if let expectedSize, offset + Int64(bytes.count) > expectedSize {
            // More than the descriptor says: stop now instead of filling the disk.
            throw .sizeMismatch(registry: "", repository: "", digest: nil, expected: expectedSize, actual: offset + Int64(bytes.count))
        }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, errno: errno)
            }
            done += n
        }
        hasher.update(bytes)
        offset += Int64(bytes.count)
        arrival?.publish(offset)
        onWrite?(offset)
    }

    func rollback() throws(DistributionError) {
        guard offset != mark.offset else { return }
        arrival?.truncated(to: mark.offset)
        guard ftruncate(fd, off_t(mark.offset)) == 0 else { throw .io(operation: "truncate", path: path, errno: errno) }
        (offset, hasher) = mark
    }

    /// Starts over from an empty file.
    func reset() throws(DistributionError) {
        arrival?.truncated(to: 0)
        guard ftruncate(fd, 0) == 0 else { throw .io(operation: "truncate", path: path, errno: errno) }
        offset = 0
        do { hasher = try SHA256Hasher() } catch { throw .cache(path: path, reason: "\(error)") }
        mark = (0, hasher)
    }

    private func rehash(length: Int64) throws(DistributionError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var done: Int64 = 0
        while done < length {
            let n = pread(fd, buffer.baseAddress, Int(min(Int64(buffer.count), length - done)), off_t(done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw .io(operation: "read", path: path, errno: n == 0 ? EIO : errno) }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            done += Int64(n)
        }
    }
}
