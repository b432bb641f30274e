/// A SHA-256 digest, printed and parsed in the OCI form `sha256:<64 lower-case hex>`.
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible, Codable {
    /// Number of bytes in a SHA-256 digest.
    public static let byteCount = 32
    static let prefix = "sha256:"

    /// The raw 32 digest bytes.
    public let bytes: [UInt8]

    /// Wraps raw digest bytes; throws unless exactly 32 are given.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.byteCount else {
            throw HashingError.invalidDigest(
                input: Self.hexString(bytes), reason: "expected \(Self.byteCount) bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// Parses `sha256:<hex>`. Only lower-case hex is accepted because the OCI
    /// image spec requires it and a digest string is compared byte-for-byte.
    public init(parsing string: String) throws {
        guard string.hasPrefix(Self.prefix) else {
            throw HashingError.invalidDigest(input: string, reason: "missing \"sha256:\" prefix")
        }
        self.bytes = try Self.decodeHex(Substring(string).dropFirst(Self.prefix.count), original: string)
    }

    /// Parses the bare 64-character lower-case hex encoding (no algorithm prefix).
    public init(hex: String) throws {
        self.bytes = try Self.decodeHex(Substring(hex), original: hex)
    }

    /// `LosslessStringConvertible` form of `init(parsing:)`.
    public init?(_ description: String) {
        guard let parsed = try? SHA256Digest(parsing: description) else { return nil }
        self = parsed
    }

    /// Lower-case hex of the digest bytes.
    public var hex: String { Self.hexString(bytes) }

    /// `sha256:<hex>`.
    public var description: String { Self.prefix + hex }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static func decodeHex(_ hex: Substring, original: String) throws -> [UInt8] {
        let utf8 = Array(hex.utf8)
        guard utf8.count == byteCount * 2 else {
            throw HashingError.invalidDigest(
                input: original, reason: "expected \(byteCount * 2) hex characters, got \(utf8.count)")
        }
        var out = [UInt8]()
        out.reserveCapacity(byteCount)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else {
                throw HashingError.invalidDigest(input: original, reason: "not lower-case hex")
            }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    static func hexString(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
