import Foundation

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

    /// A malformed digest is a decoding error at its place in the document, so the message
    /// can say which field holds it.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
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
    /// No manifest of an index (nested ones included) fits; `available` says what there is and
    /// in which nested index.
    case noMatchingPlatform(wanted: String, available: [String])
    /// Indexes nested deeper than `Index.maxNestedDepth`; `chain` lists the nested ones.
    case nestedIndexTooDeep(chain: [String], limit: Int)
    /// A nested index that lists an index it is nested in.
    case nestedIndexCycle(String)
    /// A manifest whose config is not an image config: an artifact in the manifest format.
    case notAContainerImage(configMediaType: String, artifactType: String?)

    public var description: String {
        switch self {
        case let .invalidDigest(text): "invalid digest \"\(text)\" (expected sha256:<64 lower-case hex digits>)"
        case let .invalidPlatform(text): "invalid platform \"\(text)\" (expected os/arch[/variant], e.g. linux/amd64)"
        case let .invalidDocument(what, reason): "invalid \(what): \(reason)"
        case let .invalidReference(text, reason): "invalid image reference \"\(text)\": \(reason)"
        case let .noMatchingPlatform(wanted, available):
            "no image for platform \(wanted); available: \(available.isEmpty ? "none" : available.joined(separator: ", "))"
        case let .nestedIndexTooDeep(chain, limit):
            "the image index nests indexes more than \(limit) deep (nested: \(chain.joined(separator: " → "))); sifter follows \(limit) levels"
        case let .nestedIndexCycle(digest):
            "nested image index \(digest) lists an index it is nested in"
        case let .notAContainerImage(configMediaType, artifactType):
            "not a container image: its config has media type \(configMediaType)"
                + (artifactType.map { " and its artifact type is \($0)" } ?? "")
                + (ArtifactNames.kind(configMediaType: configMediaType, artifactType: artifactType).map { " (\($0))" } ?? "")
        }
    }
}

extension DecodingError {
    /// The error in words, with the JSON path of the field: what Swift's own description buries
    /// under coding-key dumps.
    public var readable: String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch self {
        case let .keyNotFound(key, context):
            let full = path(context.codingPath + [key])
            return "missing field \"\(full)\""
        case let .valueNotFound(type, context):
            return "field \"\(path(context.codingPath))\" is null, expected \(Self.jsonName(type))"
        case let .typeMismatch(type, context):
            let at = path(context.codingPath)
            return at.isEmpty ? "the document is not \(Self.jsonName(type))" : "field \"\(at)\" is not \(Self.jsonName(type))"
        case let .dataCorrupted(context):
            let at = path(context.codingPath)
            let reason = context.debugDescription
            return at.isEmpty ? "not valid JSON (\(reason))" : "field \"\(at)\": \(reason)"
        @unknown default:
            return String(describing: self)
        }
    }

    private static func jsonName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type, is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [Any].Type: "an array"
        default: String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}

/// Decodes `T` from JSON, reporting a failure as `.invalidDocument(what, readable reason)`.
func decodeDocument<T: Decodable>(_ type: T.Type, what: String, from bytes: [UInt8]) throws(OCISpecError) -> T {
    do {
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    } catch let error as DecodingError {
        throw .invalidDocument(what: what, reason: error.readable)
    } catch let error as OCISpecError {
        throw error
    } catch {
        throw .invalidDocument(what: what, reason: String(describing: error))
    }
}
