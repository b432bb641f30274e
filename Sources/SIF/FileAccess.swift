#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file descriptor owned by one SIF image: positioned reads and writes only, so that
/// object streams never disturb each other.
final class FileAccess {
    let path: String
    let writable: Bool
    private var fd: Int32

    /// Opens a regular file. Anything else is refused at once: a FIFO would block the open (or
    /// the first read) until some writer comes, a device or directory is no SIF or object
    /// data. The open itself does not block (O_NONBLOCK, cleared again for the regular file).
    init(path: String, flags: Int32, mode: mode_t = 0o755) throws(SIFError) {
        self.path = path
        self.writable = flags & O_ACCMODE != O_RDONLY
        let fd = open(path, flags | O_CLOEXEC | O_NONBLOCK, mode)
        guard fd >= 0 else {
            let code = errno
            // A FIFO without reader refuses a non-blocking write-only open with ENXIO.
            var info = stat()
            if code == ENXIO, stat(path, &info) == 0, let kind = FileKind.notRegular(info.st_mode) {
                throw .notRegularFile(path: path, kind: kind)
            }
            throw .io(path: path, operation: "open", errno: code)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw .io(path: path, operation: "stat", errno: code)
        }
        if let kind = FileKind.notRegular(info.st_mode) {
            _ = Glibc.close(fd)
            throw .notRegularFile(path: path, kind: kind)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        self.fd = fd
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// Closes the descriptor, reporting a failed close (which can lose buffered writes on NFS).
    func close() throws(SIFError) {
        guard fd >= 0 else { return }
        let result = Glibc.close(fd)
        fd = -1
        if result != 0 { throw .io(path: path, operation: "close", errno: errno) }
    }

    func size() throws(SIFError) -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(path: path, operation: "stat", errno: errno) }
        return Int64(info.st_size)
    }

    /// Reads exactly `count` bytes at `offset`, or fewer at end of file.
    func read(at offset: Int64, count: Int) throws(SIFError) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        defer { buffer.deallocate() }
        let got = try read(into: buffer, at: offset)
        return Array(buffer[0..<got])
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(SIFError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "read", errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    func write(_ bytes: [UInt8], at offset: Int64) throws(SIFError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: bytes)
        try write(UnsafeRawBufferPointer(buffer), at: offset)
    }

    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(SIFError) {
        guard writable else { throw .notWritable(path: path) }
        var done = 0
        while done < buffer.count {
            let n = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "write", errno: errno)
            }
            done += n
        }
    }

    func truncate(to length: Int64) throws(SIFError) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw .io(path: path, operation: "truncate", errno: errno) }
    }

    func sync() throws(SIFError) {
        guard fsync(fd) == 0 else { throw .io(path: path, operation: "fsync", errno: errno) }
    }
}

/// What a file that is not regular is ("a FIFO"), for messages that refuse it; nil for a
/// regular file. Public for the other readers of local files (image layouts and archives).
public enum FileKind {
    public static func notRegular(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFIFO: "a FIFO"
        case S_IFDIR: "a directory"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "of an unknown type"
        }
    }
}
