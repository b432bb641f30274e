/// Errors of the pipeline layer itself; errors of the modules below pass through unchanged.
public enum SifterError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidArgument(String)
    case outputExists(String)
    /// `--force` would rename over something that is not a regular file (a device, a folder).
    case outputNotRegular(String)
    /// The output's directory is missing, not a directory, or not writable.
    case outputDirectory(output: String, directory: String, reason: String)
    /// Another run created the output while this one wrote it; it was not replaced.
    case outputCreatedMeanwhile(String)
    /// A file sifter reads is a FIFO, a device or a directory, which would block or mislead.
    case notRegularFile(path: String, kind: String)
    case io(path: String, operation: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidArgument(reason): reason
        case let .outputExists(path): "\(path) already exists (use --force to replace it)"
        case let .outputNotRegular(path): "\(path) is not a regular file; sifter replaces only regular files"
        case let .outputDirectory(output, directory, reason):
            reason == "is not a directory" ? "cannot write \(output): \(directory) is not a directory"
                : "cannot write \(output): the directory \(directory) \(reason)"
        case let .outputCreatedMeanwhile(path):
            "\(path) already exists: another run created it while this one was writing; it was not replaced (use --force to replace it)"
        case let .notRegularFile(path, kind): "\(path) is not a regular file (it is \(kind))"
        case let .io(path, operation, reason): "\(path): \(operation) failed: \(reason)"
        }
    }
}
