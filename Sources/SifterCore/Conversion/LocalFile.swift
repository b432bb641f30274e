import Foundation
import SIF

/// Files of local sources (OCI layouts, image archives) read without trusting them: the size is
/// checked against what the descriptor says (or a cap) before anything is read, at most that
/// size plus one byte is ever read (so a file that grows meanwhile is caught), and anything but
/// a regular file is refused without blocking (a FIFO would wait for a writer forever).
enum LocalFile {
    /// Documents (index.json, manifests, indexes) larger than this are refused, as registries
    /// refuse manifests over 4 MiB.
    static let documentLimit: Int64 = 4 << 20
    /// Image configs larger than this are refused.
    static let configLimit: Int64 = 16 << 20

    enum Problem: Error, Equatable {
        case missing
        case notRegular(kind: String)
        /// The file (or what its descriptor says) is larger than the limit.
        case tooLarge(size: Int64, limit: Int64)
        /// The file's size is not the descriptor's.
        case sizeMismatch(size: Int64, expected: Int64)
        case io(operation: String, errno: Int32)
    }

    /// The whole of the regular file at `path`: exactly `expected` bytes when given, and at
    /// most `limit`.
    static func read(_ path: String, limit: Int64, expected: Int64? = nil) throws(Problem) -> [UInt8] {
        if let expected {
            guard expected >= 0 else { throw .sizeMismatch(size: 0, expected: expected) }
            guard expected <= limit else { throw .tooLarge(size: expected, limit: limit) }
        }
        let fd = try openRegular(path)
        defer { close(fd) }
        let size = try checkedSize(fd, limit: limit, expected: expected)
        // One byte more than the size: a file that grew since fstat shows as too long.
        var bytes = [UInt8](repeating: 0, count: Int(size) + 1)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "read", errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        guard done == Int(size) else { throw .sizeMismatch(size: Int64(done), expected: expected ?? size) }
        bytes.removeLast()
        return bytes
    }

    /// Checks that `path` is a regular file of `expected` bytes without reading it.
    static func check(_ path: String, expected: Int64) throws(Problem) {
        let fd = try openRegular(path)
        defer { close(fd) }
        _ = try checkedSize(fd, limit: .max, expected: expected)
    }

    /// Opens without blocking (O_NONBLOCK) and refuses what is not a regular file.
    private static func openRegular(_ path: String) throws(Problem) -> Int32 {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .missing }
            throw .io(operation: "open", errno: errno)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw .io(operation: "stat", errno: code)
        }
        if let kind = FileKind.notRegular(info.st_mode) {
            close(fd)
            throw .notRegular(kind: kind)
        }
        return fd
    }

    private static func checkedSize(_ fd: Int32, limit: Int64, expected: Int64?) throws(Problem) -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(operation: "stat", errno: errno) }
        let size = Int64(info.st_size)
        if let expected, size != expected { throw .sizeMismatch(size: size, expected: expected) }
        guard size <= limit else { throw .tooLarge(size: size, limit: limit) }
        return size
    }
}

extension LocalFile.Problem {
    /// The problem as the reason in a message about `subject` ("config sha256:…", "x/index.json").
    func reason(_ subject: String) -> String {
        switch self {
        case .missing: "\(subject) is missing"
        case let .notRegular(kind): "\(subject) is not a regular file (it is \(kind))"
        case let .tooLarge(size, limit): "\(subject) is \(size) bytes, more than the \(limit) bytes sifter accepts for it"
        case let .sizeMismatch(size, expected): "\(subject): size is \(size) bytes, the descriptor says \(expected)"
        case let .io(operation, code): "\(subject): \(operation) failed: \(String(cString: strerror(code)))"
        }
    }
}
