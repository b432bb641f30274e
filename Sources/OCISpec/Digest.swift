/// A content digest, `algorithm:encoded`. Only sha256 is accepted: it is what every registry
/// sifter talks to uses, and accepting others would mean trusting digests we cannot check.
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let hex: String

    public init(sha256Hex hex: String) throws(OCISpecError) {
        guard hex.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw .invalidDigest("sha256:" + hex)
        }
        self.hex = hex
    }

    public init(parsing text: String) throws(OCISpecError) {
        guard text.hasPrefix("sha256:") else { throw .invalidDigest(text) }
        try self.init(sha256Hex: String(text.dropFirst(7)))
    }

    public var description: String { "sha256:" + hex }
    /// Short form for people: `sha256:0123456789ab`.
    public var short: String { "sha256:" + hex.prefix(12) }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public enum OCISpecError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidDigest(String)
    case invalidPlatform(String)
    case invalidDocument(what: String, reason: String)
    case invalidReference(String, reason: String)

    public var description: String {
        switch self {
        case let .invalidDigest(text): "invalid digest \"\(text)\" (expected sha256:<64 lower-case hex digits>)"
        case let .invalidPlatform(text): "invalid platform \"\(text)\" (expected os/arch[/variant], e.g. linux/amd64)"
        case let .invalidDocument(what, reason): "invalid \(what): \(reason)"
        case let .invalidReference(text, reason): "invalid image reference \"\(text)\": \(reason)"
        }
    }
}
