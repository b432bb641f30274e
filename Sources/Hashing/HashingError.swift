import COpenSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every failure the Hashing module reports.
public enum HashingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An OpenSSL call failed; `message` is OpenSSL's own error queue text.
    case openssl(operation: String, message: String)
    /// A digest string or byte array did not have the expected shape.
    case invalidDigest(input: String, reason: String)
    /// A system call failed while reading input.
    case io(operation: String, path: String?, errno: Int32)
    /// The file ended before the requested byte range was read.
    case unexpectedEndOfFile(expected: UInt64, actual: UInt64)
    /// A byte range was negative or overflowed.
    case invalidRange(offset: Int64, length: Int64)

    public var description: String {
        switch self {
        case let .openssl(operation, message):
            return "OpenSSL \(operation) failed: \(message)"
        case let .invalidDigest(input, reason):
            return "invalid sha256 digest \"\(input.prefix(100))\": \(reason)"
        case let .io(operation, path, code):
            let target = path.map { " \($0)" } ?? ""
            return "\(operation)\(target) failed: \(String(cString: strerror(code))) (errno \(code))"
        case let .unexpectedEndOfFile(expected, actual):
            return "unexpected end of file: wanted \(expected) bytes, read \(actual)"
        case let .invalidRange(offset, length):
            return "invalid byte range offset \(offset) length \(length)"
        }
    }

    /// Builds an error from the OpenSSL thread-local error queue, draining it so
    /// a stale entry cannot be blamed on a later, unrelated failure.
    static func fromOpenSSL(_ operation: String) -> HashingError {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            let text = buffer.withUnsafeMutableBufferPointer { ptr -> String in
                ERR_error_string_n(code, ptr.baseAddress, ptr.count)
                return String(cString: ptr.baseAddress!)
            }
            messages.append(text)
        }
        let message = messages.isEmpty ? "no error reported by OpenSSL" : messages.joined(separator: "; ")
        return .openssl(operation: operation, message: message)
    }
}
