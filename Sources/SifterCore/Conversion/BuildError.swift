import Hashing
import OCISpec

/// Errors of the build pipeline; each names the image and, where it applies, the blob.
public enum BuildError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSource(String, reason: String)
    case noMatchingPlatform(String, wanted: String, available: [String])
    case blobMismatch(String, what: String, digest: String, reason: String)
    case unsupportedSource(String)
    case failed(String, stage: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidSource(source, reason):
            "\(source): \(reason)"
        case let .noMatchingPlatform(source, wanted, available):
            "\(source): no image for platform \(wanted); available: \(available.isEmpty ? "none" : available.joined(separator: ", "))"
        case let .blobMismatch(source, what, digest, reason):
            "\(source): \(what) \(digest): \(reason)"
        case let .unsupportedSource(text):
            "unsupported source \"\(text)\": use docker://REF, oci:DIR[:TAG], oci-archive:FILE or docker-archive:FILE"
        case let .failed(source, stage, reason):
            "\(source): \(stage) failed: \(reason)"
        }
    }

    /// Checks a whole small blob's size and sha256 against its descriptor.
    static func checkBlob(_ bytes: [UInt8], against descriptor: Descriptor, source: String, what: String) throws {
        guard Int64(bytes.count) == descriptor.size else {
            throw BuildError.blobMismatch(source, what: what, digest: descriptor.digest.description,
                                          reason: "size is \(bytes.count) bytes, the descriptor says \(descriptor.size)")
        }
        var hasher = try SHA256Hasher()
        hasher.update(bytes)
        let actual = hasher.finalize().hex
        guard actual == descriptor.digest.hex else {
            throw BuildError.blobMismatch(source, what: what, digest: descriptor.digest.description, reason: "content hashes to sha256:\(actual)")
        }
    }
}
