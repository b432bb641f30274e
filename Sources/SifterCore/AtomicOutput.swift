import Foundation
import Synchronization

/// An output file written under a temporary name beside its destination and moved into place
/// only when complete, so a failed run never leaves a partial file at the destination.
///
/// The temporary file is `.NAME.sifter-XXXXXXXX.tmp`, beside a lock file `….lock` the run holds
/// (`LivenessLock`); a run killed outright (SIGKILL) leaves both, and the next run for the same
/// output removes them once it can take the lock. The finished file is synced, given its mode,
/// and renamed without replacing anything unless `replace`: of two runs writing one new output,
/// the second to finish fails instead of silently replacing the first one's file.
public struct AtomicOutput: Sendable {
    public let destination: String
    public let temporaryPath: String
    /// Whether an existing destination may be replaced (`--force`).
    public let replace: Bool
    /// Permission bits the finished file gets (checked), or nil to keep what its writer gave it.
    public let mode: mode_t?
    private let lock: LivenessLock

    /// Temporary files currently being written, so an interrupted run can remove them.
    private static let pending = PendingPaths()

    /// Removes every temporary file still being written, and every scratch directory in use
    /// (from a signal handler's queue).
    public static func discardAllPending() {
        let (files, directories, locks) = pending.drain()
        for path in files { unlink(path) }
        for path in directories { try? FileManager.default.removeItem(atPath: path) }
        for path in locks { unlink(path) }
    }

    /// Runs `body` with `directory` (a scratch directory beside the output) removed if the run
    /// is interrupted; the caller removes it on every other path.
    public static func withScratchDirectory<T>(_ directory: String, _ body: () throws -> T) rethrows -> T {
        pending.insert(directory: directory)
        defer { pending.remove(directory: directory) }
        return try body()
    }

    /// Registers a scratch directory (and the lock file that says it is alive) for removal if
    /// the run is interrupted.
    static func trackScratchDirectory(_ directory: String, lock: String) {
        pending.insert(directory: directory)
        pending.insert(lock: lock)
    }

    static func untrackScratchDirectory(_ directory: String, lock: String) {
        pending.remove(directory: directory)
        pending.remove(lock: lock)
    }

    /// Checks, before any work, that `destination` can be written: its directory exists and is
    /// a directory, and the destination is absent, or (with `replace`) a regular file (the
    /// rename would replace `/dev/null` or a FIFO, not write into it).
    public static func checkDestination(_ destination: String, replace: Bool) throws {
        var info = stat()
        if lstat(destination, &info) == 0 {
            if stat(destination, &info) != 0 { _ = lstat(destination, &info) }
            guard replace else { throw SifterError.outputExists(destination) }
            guard (info.st_mode & S_IFMT) == S_IFREG else { throw SifterError.outputNotRegular(destination) }
        }
        let directory = Self.directory(of: destination)
        guard stat(directory, &info) == 0 else {
            let reason = errno == ENOENT ? "does not exist" : String(cString: strerror(errno))
            throw SifterError.outputDirectory(output: destination, directory: directory, reason: reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw SifterError.outputDirectory(output: destination, directory: directory, reason: "is not a directory")
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw SifterError.outputDirectory(output: destination, directory: directory, reason: "is not writable (\(String(cString: strerror(errno))))")
        }
    }

    /// Checks the destination (`checkDestination`), removes what dead runs left for it, and
    /// takes a temporary name beside it.
    public init(destination: String, replace: Bool, mode: mode_t? = nil) throws {
        try Self.checkDestination(destination, replace: replace)
        let directory = Self.directory(of: destination)
        let stem = "." + Self.fileName(of: destination) + ".sifter-"
        Self.removeStale(in: directory, stem: stem)
        var taken: (LivenessLock, String)?
        for _ in 0..<16 where taken == nil {
            let prefix = directory + "/" + stem + UUID().uuidString.prefix(8).lowercased()
            if let lock = try LivenessLock.create(at: prefix + ".lock") { taken = (lock, prefix + ".tmp") }
        }
        guard let (lock, temporary) = taken else {
            throw SifterError.io(path: destination, operation: "create a temporary name", reason: "every name tried was taken")
        }
        self.destination = destination
        self.temporaryPath = temporary
        self.replace = replace
        self.mode = mode
        self.lock = lock
    }

    /// Moves the finished file into place: its data synced, its mode set, renamed (never over
    /// an existing file unless `replace`), and the rename synced in the directory.
    public func commit() throws {
        do {
            try finish()
            try Self.rename(temporaryPath, to: destination, replace: replace)
        } catch {
            discard()
            throw error
        }
        lock.release()
        try Self.syncDirectory(Self.directory(of: destination))
    }

    /// Removes the temporary file; safe to call when it does not exist.
    public func discard() {
        unlink(temporaryPath)
        lock.release()
    }

    /// Runs `body` on the temporary path, then commits; discards on any error.
    public func write<T>(_ body: (String) throws -> T) throws -> T {
        Self.pending.insert(temporaryPath, lock: lock.path)
        defer { Self.pending.remove(temporaryPath, lock: lock.path) }
        do {
            let result = try body(temporaryPath)
            try commit()
            return result
        } catch {
            discard()
            throw error
        }
    }

    /// fsync (a file renamed before its data reaches the disk can be empty after a crash) and
    /// the mode, on one descriptor.
    private func finish() throws {
        let fd = open(temporaryPath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure(temporaryPath, "open") }
        defer { close(fd) }
        if let mode, fchmod(fd, mode) != 0 { throw Self.failure(temporaryPath, "chmod") }
        guard fsync(fd) == 0 else { throw Self.failure(temporaryPath, "fsync") }
    }

    private static func failure(_ path: String, _ operation: String) -> SifterError {
        SifterError.io(path: path, operation: operation, reason: String(cString: strerror(errno)))
    }

    /// `rename`, or with `replace` false a rename that fails when `target` exists:
    /// renameat2(RENAME_NOREPLACE), else link + unlink where the file system lacks it.
    static func rename(_ source: String, to target: String, replace: Bool) throws {
        if replace {
            guard Glibc.rename(source, target) == 0 else { throw failure(target, "rename") }
            return
        }
        if let renameat2 = renameAt2 {
            if renameat2(AT_FDCWD, source, AT_FDCWD, target, 1 /* RENAME_NOREPLACE */) == 0 { return }
            if errno == EEXIST { throw SifterError.outputCreatedMeanwhile(target) }
            // EINVAL: the file system does not support the flag; ENOSYS: nor the call.
            guard errno == EINVAL || errno == ENOSYS else { throw failure(target, "rename") }
        }
        guard link(source, target) == 0 else {
            if errno == EEXIST { throw SifterError.outputCreatedMeanwhile(target) }
            throw failure(target, "link")
        }
        unlink(source)
    }

    /// glibc declares renameat2 only under _GNU_SOURCE, which Swift's Glibc module does not set.
    private static let renameAt2: (@convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UInt32) -> Int32)? = {
        guard let symbol = dlsym(nil, "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UInt32) -> Int32).self)
    }()

    /// Makes a rename in `directory` durable. File systems that cannot sync a directory say
    /// EINVAL; nothing more can be done there.
    static func syncDirectory(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(directory, "open") }
        defer { close(fd) }
        guard fsync(fd) == 0 || errno == EINVAL else { throw failure(directory, "fsync") }
    }

    /// Removes the temporary files of runs for the same output that are gone.
    static func removeStale(in directory: String, stem: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(stem) && name.hasSuffix(".lock") {
            let prefix = directory + "/" + name.dropLast(".lock".count)
            LivenessLock.removeIfDead(directory + "/" + name, belongings: [prefix + ".tmp", prefix + ".tmp.blobs"])
        }
    }

    /// The directory part of a path as written (`.` for a bare name), for messages and for the
    /// temporary name beside the output.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    static func fileName(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }
}

/// Paths to remove when the run is interrupted; the signal handler drains them.
final class PendingPaths: Sendable {
    private struct Paths {
        var files: Set<String> = []
        var directories: Set<String> = []
        var locks: Set<String> = []
    }

    private let paths = Mutex(Paths())

    func insert(_ path: String, lock: String) { paths.withLock { _ = $0.files.insert(path); _ = $0.locks.insert(lock) } }
    func remove(_ path: String, lock: String) { paths.withLock { _ = $0.files.remove(path); _ = $0.locks.remove(lock) } }
    func insert(directory: String) { paths.withLock { _ = $0.directories.insert(directory) } }
    func remove(directory: String) { paths.withLock { _ = $0.directories.remove(directory) } }
    func insert(lock: String) { paths.withLock { _ = $0.locks.insert(lock) } }
    func remove(lock: String) { paths.withLock { _ = $0.locks.remove(lock) } }

    func drain() -> (files: Set<String>, directories: Set<String>, locks: Set<String>) {
        paths.withLock { paths in
            defer { paths = Paths() }
            return (paths.files, paths.directories, paths.locks)
        }
    }
}
