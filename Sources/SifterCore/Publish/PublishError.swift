import OCISpec

/// Errors of push, pull and convert; errors of the registry client and the SIF reader pass
/// through unchanged.
public enum PublishError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file is a SIF that Apptainer would refuse to push (no primary partition, arch unknown).
    case notPushable(path: String, reason: String)
    /// `--semver` was not `vX.Y.Z[-pre][+build]`.
    case invalidVersion(String, reason: String)
    /// A tag that a registry would refuse (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`).
    case invalidTag(String)
    /// A destination or source reference that cannot be used (wrong scheme, pinned digest).
    case invalidReference(String, reason: String)
    /// The remote manifest is not a SIF artifact Apptainer would pull.
    case notSIFArtifact(reference: String, reason: String)
    /// A small document inside the SIF (inspect metadata, provenance) is malformed.
    case invalidMetadata(path: String, object: String, reason: String)
    /// Writing an output (digest file, GitHub Actions file) failed.
    case output(path: String, reason: String)
    /// `--expires-after` is not what Quay reads (`2w`, `12h`).
    case invalidExpiry(String)
    /// The platforms asked for cannot be built from this source.
    case platforms(source: String, reason: String)

    public var description: String {
        switch self {
        case let .notPushable(path, reason):
            "\(path): cannot be pushed: \(reason)"
        case let .invalidVersion(text, reason):
            "invalid version \"\(text)\": \(reason) (expected vX.Y.Z[-pre][+build], e.g. v1.2.3)"
        case let .invalidTag(tag):
            "invalid tag \"\(tag)\" (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')"
        case let .invalidReference(text, reason):
            "\(text): \(reason)"
        case let .notSIFArtifact(reference, reason):
            "\(reference): not a SIF artifact: \(reason)"
        case let .invalidMetadata(path, object, reason):
            "\(path): object \(object): \(reason)"
        case let .output(path, reason):
            "\(path): \(reason)"
        case let .invalidExpiry(text):
            "invalid --expires-after \"\(text)\": Quay reads a whole number and one of s, m, h, d, w (e.g. 12h, 2w)"
        case let .platforms(source, reason):
            "\(source): \(reason)"
        }
    }

    /// True when the input itself is wrong (exit 65), false for usage and I/O problems.
    public var isBadInput: Bool {
        switch self {
        case .notPushable, .notSIFArtifact, .invalidMetadata: true
        case .invalidVersion, .invalidTag, .invalidReference, .output, .invalidExpiry, .platforms: false
        }
    }
}
