import Hashing
import SIF

/// What `sifter inspect` shows of a SIF: the header, every descriptor with the sha256 of its
/// data, and the text of the definition file and JSON objects.
public struct InspectReport: Sendable {
    public let path: String
    public let header: Header
    public let objects: [Object]

    public struct Object: Sendable {
        public let descriptor: Descriptor
        public let sha256: String
        /// The object's text, for definition files and JSON objects small enough to show.
        public let text: String?
    }

    /// Objects larger than this are hashed but not shown as text.
    public static let textLimit: Int64 = 1 << 20

    /// Reads and hashes every object (streamed in chunks; no object is held whole in memory
    /// except the small text ones shown).
    public init(image: SIFImage) throws {
        path = image.path
        header = image.header
        var objects: [Object] = []
        for descriptor in image.descriptors {
            var hasher = try SHA256Hasher()
            var reader = image.reader(for: descriptor)
            try reader.forEachChunk { hasher.update($0) }
            let digest = hasher.finalize()
            var text: String?
            if [.deffile, .genericJSON, .labels, .envVar].contains(descriptor.dataType), descriptor.size <= Self.textLimit {
                text = String(decoding: try image.data(of: descriptor), as: UTF8.self)
            }
            objects.append(Object(descriptor: descriptor, sha256: digest.hex, text: text))
        }
        self.objects = objects
    }

    /// The stable `--json` shape documented in the README.
    public var json: JSONValue {
        let headerFields: [(String, JSONValue)] = [
            ("launchScript", .string(header.launchScript)),
            ("version", .string(header.version)),
            ("id", .string(header.idString)),
            ("arch", .string(header.arch.goName)),
            ("createdAt", .int(header.createdAt)),
            ("modifiedAt", .int(header.modifiedAt)),
            ("descriptorsFree", .int(header.descriptorsFree)),
            ("descriptorsTotal", .int(header.descriptorsTotal)),
            ("descriptorsOffset", .int(header.descriptorsOffset)),
            ("descriptorsSize", .int(header.descriptorsSize)),
            ("dataOffset", .int(header.dataOffset)),
            ("dataSize", .int(header.dataSize)),
        ]
        return .object([("header", .object(headerFields)), ("descriptors", .array(objects.map(Self.json(for:))))])
    }

    static func json(for object: Object) -> JSONValue {
        let d = object.descriptor
        var fields: [(String, JSONValue)] = [
            ("id", .int(Int64(d.id))),
            ("type", .string(d.dataType.name)),
            ("typeCode", .int(Int64(d.dataType.rawValue))),
            ("group", d.groupID.map { .int(Int64($0)) } ?? .null),
        ]
        switch d.link {
        case let .object(id)?: fields += [("link", .int(Int64(id))), ("linkIsGroup", .bool(false))]
        case let .group(id)?: fields += [("link", .int(Int64(id))), ("linkIsGroup", .bool(true))]
        case nil: fields += [("link", .null), ("linkIsGroup", .bool(false))]
        }
        fields += [
            ("offset", .int(d.offset)),
            ("size", .int(d.size)),
            ("sizeWithPadding", .int(d.sizeWithPadding)),
            ("name", .string(d.name)),
            ("createdAt", .int(d.createdAt)),
            ("modifiedAt", .int(d.modifiedAt)),
            ("sha256", .string(object.sha256)),
        ]
        switch d.metadata {
        case let .partition(fs, part, arch)?:
            fields.append(("partition", .object([
                ("fsType", .string(MetadataNames.fs(fs))), ("fsTypeCode", .int(Int64(fs.rawValue))),
                ("partType", .string(MetadataNames.part(part))), ("partTypeCode", .int(Int64(part.rawValue))),
                ("arch", .string(arch.goName)), ("primary", .bool(part == .primarySystem)),
            ])))
        case let .signature(hash, entity)?:
            fields.append(("signature", .object([
                ("hashType", .string(MetadataNames.hash(hash))),
                ("entity", .string(MetadataNames.fingerprint(entity))),
            ])))
        case let .cryptoMessage(format, message)?:
            fields.append(("cryptoMessage", .object([
                ("format", .string(MetadataNames.format(format))),
                ("messageType", .string(MetadataNames.message(message))),
            ])))
        case let .sbom(format)?:
            fields.append(("sbom", .object([("format", .string(format.description))])))
        case let .ociDigest(digest)?:
            fields.append(("digest", .string(digest)))
        case nil:
            break
        }
        return .object(fields)
    }
}

/// Machine names of the metadata codes, as used in `--json` and accepted by `sifter sif add`.
public enum MetadataNames {
    public static let fsTypes: [Int32: String] = [
        1: "squashfs", 2: "ext3", 3: "archive", 4: "raw", 5: "encryptedSquashfs", 6: "gocryptfsSquashfs",
    ]
    public static let partTypes: [Int32: String] = [1: "system", 2: "primSys", 3: "data", 4: "overlay"]
    public static let hashTypes: [Int32: String] = [
        1: "sha256", 2: "sha384", 3: "sha512", 4: "blake2s256", 5: "blake2b256",
    ]
    public static let formats: [Int32: String] = [1: "openpgp", 2: "pem"]
    public static let messages: [Int32: String] = [0x100: "clearSignature", 0x200: "rsaOaep"]

    public static func fs(_ fs: FSType) -> String { fsTypes[fs.rawValue] ?? "unknown" }
    public static func part(_ part: PartType) -> String { partTypes[part.rawValue] ?? "unknown" }
    public static func hash(_ hash: HashType) -> String { hashTypes[hash.rawValue] ?? "unknown" }
    public static func format(_ format: FormatType) -> String { formats[format.rawValue] ?? "unknown" }
    public static func message(_ message: MessageType) -> String { messages[message.rawValue] ?? "unknown" }

    /// The signer's OpenPGP v4 fingerprint (the first 20 bytes, as readers use), lower-case hex;
    /// empty when the field is zero.
    public static func fingerprint(_ entity: [UInt8]) -> String {
        let fingerprint = entity.prefix(20)
        guard fingerprint.contains(where: { $0 != 0 }) else { return "" }
        return fingerprint.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }.joined()
    }
}
