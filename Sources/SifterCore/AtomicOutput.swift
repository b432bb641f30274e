import Foundation

/// An output file written under a temporary name beside its destination and renamed into place
/// only when complete, so a failed run never leaves a partial file at the destination.
public struct AtomicOutput: Sendable {
    public let destination: String
    public let temporaryPath: String

    /// Temporary files currently being written, so an interrupted run can remove them.
    private static let pending = PendingPaths()

    /// Removes every temporary file still being written (from a signal handler's queue).
    public static func discardAllPending() {
        for path in pending.drain() { unlink(path) }
    }

    /// Fails when the destination exists and `replace` is false.
    public init(destination: String, replace: Bool) throws {
        if !replace, FileManager.default.fileExists(atPath: destination) {
            throw SifterError.outputExists(destination)
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

    func insert(_ path: String) { lock.withLock { _ = paths.insert(path) } }
    func remove(_ path: String) { lock.withLock { _ = paths.remove(path) } }
    func drain() -> Set<String> {
        lock.withLock {
            defer { paths.removeAll() }
            return paths
        }
    }
}
