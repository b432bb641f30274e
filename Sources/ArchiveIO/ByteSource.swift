#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a blob reader gets its bytes: positional reads that block until the bytes exist.
///
/// A file on disk answers at once; a blob still downloading waits until the bytes asked for
/// have arrived. Reads are positional, so a reader keeps its own offset and one source can be
/// read again from the start (the flattener's two passes use one open source per layer).
public protocol ByteSource: AnyObject, Sendable {
    /// The source's length in bytes.
    var size: Int64 { get }
    /// Fills `buffer` with the bytes at `offset`, waiting for them if they have not arrived;
    /// fewer only where the source ends first. Returns how many bytes were read.
    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A regular file opened for reading, owning its descriptor (closed when released).
public final class FileSource: ByteSource {
    public let path: String
    public let size: Int64
    private let descriptor: Int32

    /// Opens `path`; refuses anything but a regular file (a FIFO or a device would block or
    /// never end).
    public init(path: String) throws(ArchiveError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure("open(\(path))", errno) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw Self.failure("fstat(\(path))", code)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ArchiveError.libarchive(operation: "open(\(path))", severity: .fatal, errno: 0, message: "not a regular file")
        }
        self.path = path
        self.size = Int64(info.st_size)
        descriptor = fd
    }

    deinit { close(descriptor) }

    public func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, base + done, buffer.count - done, off_t(offset + Int64(done)))
            if n > 0 {
                done += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw Self.failure("read(\(path))", errno)
            }
        }
        return done
    }

    private static func failure(_ operation: String, _ code: Int32) -> ArchiveError {
        .libarchive(operation: operation, severity: .fatal, errno: code, message: String(cString: strerror(code)))
    }
}
