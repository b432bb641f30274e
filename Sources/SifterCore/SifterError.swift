/// Errors of the pipeline layer itself; errors of the modules below pass through unchanged.
public enum SifterError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidArgument(String)
    case outputExists(String)
    /// `--force` would rename over something that is not a regular file (a device, a folder).
    case outputNotRegular(String)
    case io(path: String, operation: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidArgument(reason): reason
        case let .outputExists(path): "\(path) already exists (use --force to replace it)"
        case let .outputNotRegular(path): "\(path) is not a regular file; sifter replaces only regular files"
        case let .io(path, operation, reason): "\(path): \(operation) failed: \(reason)"
        }
    }
}
