import Foundation

/// An output file written under a temporary name beside its destination and renamed into place
/// only when complete, so a failed run never leaves a partial file at the destination.
public struct AtomicOutput: Sendable {
    public let destination: String
    public let temporaryPath: String

    /// Temporary files currently being written, so an interrupted run can remove them.
    private static let pending = PendingPaths()

    /// Removes every temporary file still being written, and every scratch directory in use
    /// (from a signal handler's queue).
    public static func discardAllPending() {
        let (files, directories) = pending.drain()
        for path in files { unlink(path) }
        for path in directories { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Runs `body` with `directory` (a scratch directory beside the output) removed if the run
    /// is interrupted; the caller removes it on every other path.
    public static func withScratchDirectory<T>(_ directory: String, _ body: () throws -> T) rethrows -> T {
        pending.insert(directory: directory)
        defer { pending.remove(directory: directory) }
        return try body()
    }

    /// Fails when the destination exists and `replace` is false, and when it is anything but
    /// a regular file (the rename would replace `/dev/null` or a FIFO, not write into it).
    public init(destination: String, replace: Bool) throws {
        var info = stat()
        if stat(destination, &info) == 0 || lstat(destination, &info) == 0 {
            guard replace else { throw SifterError.outputExists(destination) }
            guard (info.st_mode & S_IFMT) == S_IFREG else { throw SifterError.outputNotRegular(destination) }
        }
        let url = URL(fileURLWithPath: destination)
        let directory = url.deletingLastPathComponent().path
        self.destination = destination
        self.temporaryPath = directory + "/." + url.lastPathComponent + ".sifter-" + UUID().uuidString.prefix(8).lowercased() + ".tmp"
    }

    /// Moves the finished file into place.
    public func commit() throws {
        guard rename(temporaryPath, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            discard()
            throw SifterError.io(path: destination, operation: "rename", reason: reason)
        }
    }

    /// Removes the temporary file; safe to call when it does not exist.
    public func discard() {
        unlink(temporaryPath)
    }

    /// Runs `body` on the temporary path, then commits; discards on any error.
    public func write<T>(_ body: (String) throws -> T) throws -> T {
        Self.pending.insert(temporaryPath)
        defer { Self.pending.remove(temporaryPath) }
        do {
            let result = try body(temporaryPath)
            try commit()
            return result
        } catch {
            discard()
            throw error
        }
    }
}

final class PendingPaths: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: Set<String> = []
    private var directories: Set<String> = []

    func insert(_ path: String) { lock.withLock { _ = paths.insert(path) } }
    func remove(_ path: String) { lock.withLock { _ = paths.remove(path) } }
    func insert(directory: String) { lock.withLock { _ = directories.insert(directory) } }
    func remove(directory: String) { lock.withLock { _ = directories.remove(directory) } }
    func drain() -> (files: Set<String>, directories: Set<String>) {
        lock.withLock {
            defer {
                paths.removeAll()
                directories.removeAll()
            }
            return (paths, directories)
        }
    }
}
