import CArchive
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every failure the ArchiveIO module reports.
public enum ArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    /// How bad a libarchive failure was, from its return code.
    public enum Severity: String, Sendable, Equatable {
        /// `ARCHIVE_RETRY`: libarchive's readers say so for damaged input they could skip past
        /// (a tar header with a bad checksum). It is never retried: the retry would resync
        /// after the damage and silently drop or expose members.
        case retry
        /// `ARCHIVE_FAILED`: this operation failed, the archive may still be usable.
        case failed
        /// `ARCHIVE_FATAL`: the archive handle is no longer usable.
        case fatal
        /// A status code libarchive does not document.
        case unknown
    }

    /// A libarchive call failed. `message` is `archive_error_string`.
    case libarchive(operation: String, severity: Severity, errno: Int32, message: String)
    /// The handle was already finished or closed.
    case closed(operation: String)
    /// More data was written than the entry header declared.
    case dataExceedsEntrySize(pathname: String, declared: Int64, attempted: Int64)
    /// A gzip stream failed to decompress (bad header, corrupt deflate data, CRC32 or length
    /// mismatch, truncation); `offset` is how far into the file decompression had got.
    case corruptGzip(reason: String, offset: Int64)
    /// A tar member's headers that libarchive reads one way and other readers (Go's
    /// archive/tar, so Docker and umoci) refuse: a NUL inside a pax `path`, a malformed pax
    /// record. `entry` is the name as libarchive read it, when it got that far.
    case malformedHeader(entry: [UInt8]?, reason: String)

    public var description: String {
        switch self {
        case let .libarchive(operation, severity, code, message):
            var text = "\(operation) failed (\(severity.rawValue)): \(message)"
            // libarchive reuses EILSEQ to mean "bad file format" and -1 for
            // "miscellaneous"; strerror text for those would mislead.
            if code > 0 && code != EILSEQ { text += " [errno \(code): \(String(cString: strerror(code)))]" }
            return text
        case let .closed(operation):
            return "\(operation): archive already closed"
        case let .dataExceedsEntrySize(pathname, declared, attempted):
            return "writing \(attempted) bytes to \"\(pathname)\" exceeds its declared size \(declared)"
        case let .corruptGzip(reason, offset):
            return "gzip decompression failed at compressed byte \(offset): \(reason)"
        case let .malformedHeader(entry, reason):
            let name = entry.map { " of \"\(String(decoding: $0, as: UTF8.self))\"" } ?? ""
            return "malformed tar header\(name): \(reason)"
        }
    }
}

/// Bounded retries where a call may legitimately make no progress (a write of zero bytes).
let archiveRetryLimit = 3

/// The single place libarchive status codes become Swift errors.
/// `ARCHIVE_OK`, `ARCHIVE_EOF` and `ARCHIVE_WARN` are returned to the caller
/// (warnings are handed to `onWarning`); `ARCHIVE_RETRY`, `ARCHIVE_FAILED` and
/// `ARCHIVE_FATAL` throw. `ARCHIVE_RETRY` is not retried: libarchive's tar reader returns it
/// for a header with a bad checksum ("Damaged tar archive"), and calling again would make it
/// scan on to the next header that looks valid, so the members in between would vanish.
@discardableResult
func checkArchive(
    _ archive: OpaquePointer,
    _ operation: String,
    onWarning: (String) -> Void = { _ in },
    _ call: () -> Int32
) throws -> Int32 {
    let status = call()
    switch status {
    case ARCHIVE_OK, ARCHIVE_EOF:
        return status
    case ARCHIVE_WARN:
        onWarning("\(operation): \(archiveMessage(archive))")
        return status
    default:
        throw archiveFailure(archive, operation, status: status)
    }
}

/// Builds an error from the archive's last error state.
func archiveFailure(_ archive: OpaquePointer, _ operation: String, status: Int32) -> ArchiveError {
    let severity: ArchiveError.Severity
    switch status {
    case ARCHIVE_RETRY: severity = .retry
    case ARCHIVE_FAILED: severity = .failed
    case ARCHIVE_FATAL: severity = .fatal
    default: severity = .unknown
    }
    return .libarchive(
        operation: operation, severity: severity, errno: archive_errno(archive), message: archiveMessage(archive))
}

func archiveMessage(_ archive: OpaquePointer) -> String {
    guard let text = archive_error_string(archive) else { return "no message from libarchive" }
    return String(cString: text)
}
