import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One-shot SHA-256 helpers.
public enum SHA256 {
    /// Chunk size for file hashing: large enough to amortise syscalls, small
    /// enough that multi-gigabyte layers never sit in memory.
    public static let chunkSize = 1 << 20

    /// Hashes a byte buffer.
    public static func hash(_ bytes: UnsafeRawBufferPointer) throws -> SHA256Digest {
        var hasher = try SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Hashes a byte array.
    public static func hash(_ bytes: [UInt8]) throws -> SHA256Digest {
        try bytes.withUnsafeBytes { try hash($0) }
    }

    /// Hashes a `Data` value.
    public static func hash(_ data: Data) throws -> SHA256Digest {
        try data.withUnsafeBytes { try hash($0) }
    }

    /// Hashes a whole file, streaming it in `chunkSize` pieces.
    public static func hash(fileAt path: String) throws -> SHA256Digest {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HashingError.io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var hasher = try SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw HashingError.io(operation: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hasher.finalize()
    }

    /// Hashes `length` bytes starting at `offset` of an open descriptor using
    /// `pread`, so the descriptor's file position is left unchanged and the
    /// caller may share it. Throws `unexpectedEndOfFile` if the file is short.
    public static func hash(fileDescriptor fd: Int32, offset: Int64, length: Int64) throws -> SHA256Digest {
        guard offset >= 0, length >= 0, offset <= Int64.max - length else {
            throw HashingError.invalidRange(offset: offset, length: length)
        }
        var hasher = try SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var done: Int64 = 0
        while done < length {
            let want = Int(min(Int64(buffer.count), length - done))
            let n = pread(fd, buffer.baseAddress, want, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw HashingError.io(operation: "pread", path: nil, errno: errno)
            }
            if n == 0 {
                throw HashingError.unexpectedEndOfFile(expected: UInt64(length), actual: UInt64(done))
            }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            done += Int64(n)
        }
        return hasher.finalize()
    }
}
