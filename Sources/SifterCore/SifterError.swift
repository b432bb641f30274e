/// Errors of the pipeline layer itself; errors of the modules below pass through unchanged.
public enum SifterError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidArgument(String)
    case outputExists(String)
    case io(path: String, operation: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidArgument(reason): reason
        case let .outputExists(path): "\(path) already exists (use --force to replace it)"
        case let .io(path, operation, reason): "\(path): \(operation) failed: \(reason)"
        }
    }
}
