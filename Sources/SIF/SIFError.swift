/// Everything the SIF module can report. Each case names the file and, where it applies,
/// the object, so a user can see what is wrong without a hex dump.
public enum SIFError: Error, Equatable, Sendable, CustomStringConvertible {
    case io(path: String, operation: String, errno: Int32)
    case truncated(path: String, need: Int64, have: Int64)
    case badMagic(path: String)
    case unsupportedVersion(path: String, version: String)
    case badHeader(path: String, reason: String)
    case badDescriptor(path: String, slot: Int, reason: String)
    case objectsOverlap(path: String, first: UInt32, second: UInt32)
    case multiplePrimaryPartitions(path: String, ids: [UInt32])
    case noSpace(path: String, capacity: Int64)
    case objectNotFound(path: String, selection: String)
    case multipleObjects(path: String, selection: String, ids: [UInt32])
    case invalidInput(String)
    case notWritable(path: String)
    case sourceChanged(path: String, expected: Int64, actual: Int64)
    /// A FIFO, device, directory or socket where a file is read or written.
    case notRegularFile(path: String, kind: String)

    public var description: String {
        switch self {
        case let .io(path, operation, errno):
            return "\(path): \(operation) failed: \(Self.errnoText(errno))"
        case let .truncated(path, need, have):
            return "\(path): not a complete SIF file: needs at least \(need) bytes, has \(have)"
        case let .badMagic(path):
            return "\(path): not a SIF file (no SIF_MAGIC in the header)"
        case let .unsupportedVersion(path, version):
            return "\(path): unsupported SIF version \"\(version)\" (only 01 is known)"
        case let .badHeader(path, reason):
            return "\(path): damaged SIF header: \(reason)"
        case let .badDescriptor(path, slot, reason):
            return "\(path): damaged descriptor in slot \(slot + 1): \(reason)"
        case let .objectsOverlap(path, first, second):
            return "\(path): objects \(first) and \(second) overlap"
        case let .multiplePrimaryPartitions(path, ids):
            return "\(path): more than one primary partition (objects \(ids.map(String.init).joined(separator: ", ")))"
        case let .noSpace(path, capacity):
            return "\(path): all \(capacity) descriptor slots are in use"
        case let .objectNotFound(path, selection):
            return "\(path): no object matches \(selection)"
        case let .multipleObjects(path, selection, ids):
            return "\(path): several objects match \(selection): \(ids.map(String.init).joined(separator: ", "))"
        case let .invalidInput(reason):
            return reason
        case let .notWritable(path):
            return "\(path): opened read-only"
        case let .sourceChanged(path, expected, actual):
            return "\(path): object source gave \(actual) bytes, expected \(expected)"
        case let .notRegularFile(path, kind):
            return "\(path): not a regular file (\(kind))"
        }
    }

    static func errnoText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return "\(String(cString: text)) (errno \(code))"
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
