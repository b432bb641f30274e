import Foundation
import Synchronization

/// A lock file that a run holds locked (`flock`) for as long as it lives, so that the temporary
/// files named after it can be told from those of a run that is gone: the kernel drops a flock
/// when its holder dies, SIGKILL included, so a lock file whose lock can be taken belongs to a
/// dead run, and its files may be removed. Works across processes and, with NFSv4, across hosts
/// sharing the directory, where a process id would not.
final class LivenessLock: Sendable {
    let path: String
    private let descriptor: Mutex<Int32>

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    deinit { release() }

    /// Creates `path` and locks it; nil when the name is taken, or when a sweeper removed the
    /// fresh file before it was locked (the caller tries another name).
    static func create(at path: String) throws -> LivenessLock? {
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { return nil }
            throw SifterError.io(path: path, operation: "create", reason: String(cString: strerror(errno)))
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0, errno == EWOULDBLOCK {
            // A sweeper locked the fresh file first; it removes it.
            close(fd)
            return nil
        }
        // Where flock is not supported (ENOLCK on some NFS mounts) the file is kept unlocked:
        // it still marks the run's files, and no sweeper there can take a lock to remove them.
        guard isSameFile(fd, path) else {
            close(fd)
            return nil
        }
        return LivenessLock(path: path, descriptor: fd)
    }

    /// Removes the lock file, then drops the lock. Idempotent.
    func release() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            unlink(path)
            close(fd)
            fd = -1
        }
    }

    /// When the run that held the lock file at `path` is gone, removes `belongings` (files or
    /// directories), then the lock file; true if it did. A live run's lock is left alone.
    @discardableResult
    static func removeIfDead(_ path: String, belongings: [String]) -> Bool {
        let fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
              flock(fd, LOCK_EX | LOCK_NB) == 0, isSameFile(fd, path) else { return false }
        // The lock file goes last: a sweeper that dies half way leaves it for the next one.
        for item in belongings {
            var itemInfo = stat()
            guard lstat(item, &itemInfo) == 0 else { continue }
            try? FileManager.default.removeItem(atPath: item)
        }
        unlink(path)
        return true
    }

    /// Whether `path` still names the file open at `fd` (it was not removed and replaced).
    private static func isSameFile(_ fd: Int32, _ path: String) -> Bool {
        var open = stat()
        var named = stat()
        guard fstat(fd, &open) == 0, lstat(path, &named) == 0 else { return false }
        return open.st_dev == named.st_dev && open.st_ino == named.st_ino
    }
}
