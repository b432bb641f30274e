import Foundation

/// An exclusive `flock` on `.NAME.sifter-sync.lock` beside a sync output, held while the item
/// is checked and built, so two overlapping runs (two cron jobs, a rerun while a job array is
/// still going) never build the same output twice: the second waits, then finds it up to
/// date. The file is removed on release; a waiter that locked a removed file tries again, so
/// every holder locks the file the path names.
final class OutputLock {
    private let fd: Int32
    let path: String

    init(path: String) throws {
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SifterError.io(path: path, operation: "open", reason: String(cString: strerror(errno))) }
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    let reason = String(cString: strerror(errno))
                    close(fd)
                    throw SifterError.io(path: path, operation: "lock", reason: reason)
                }
            }
            var held = stat()
            var named = stat()
            if fstat(fd, &held) == 0, lstat(path, &named) == 0, held.st_ino == named.st_ino, held.st_dev == named.st_dev {
                self.fd = fd
                self.path = path
                return
            }
            close(fd)
        }
    }

    func release() {
        unlink(path)
        flock(fd, LOCK_UN)
        close(fd)
    }
}
