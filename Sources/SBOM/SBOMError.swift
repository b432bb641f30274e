/// Failures of the SBOM module. What is wrong inside an image's package database is no error:
/// the image is what it is, so it becomes a warning and the packages that could be read are
/// listed. Errors are what stops the SBOM from being written at all.
public enum SBOMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The private file a database is spooled to for SQLite could not be written (this machine).
    case spool(path: String, operation: String, reason: String)
    /// A SIF holds no SBOM object of the kind asked for.
    case missing(file: String, detail: String)
    /// An SBOM object that is not what its descriptor says.
    case unreadable(file: String, detail: String)

    public var description: String {
        switch self {
        case let .spool(path, operation, reason):
            "cannot spool a package database for the SBOM: \(path): \(operation) failed: \(reason)"
        case let .missing(file, detail): "\(file): \(detail)"
        case let .unreadable(file, detail): "\(file): \(detail)"
        }
    }

    /// A failure of this machine, not of the input.
    public var isEnvironment: Bool {
        if case .spool = self { return true }
        return false
    }
}
