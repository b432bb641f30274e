import SIF

/// A data object described by names, as a person types them (`sifter sif add`), turned into
/// the SIF module's `ObjectInput` with every name checked.
public struct ObjectSpec: Sendable {
    public var type: String
    public var file: String
    public var name = ""
    /// 0 puts the object in no group.
    public var group: UInt32 = ObjectInput.defaultGroup
    public var linkObject: UInt32?
    public var linkGroup: UInt32?
    public var alignment: Int?
    public var fs = "squashfs"
    public var part = "system"
    public var arch: String?
    public var hash = "sha256"
    public var entity: String?
    public var format: String?
    public var message = "clearSignature"
    public var digest: String?
    public var time: Int64?

    public init(type: String, file: String) {
        self.type = type
        self.file = file
    }

    public func objectInput() throws -> ObjectInput {
        guard let dataType = DataType(name: type) else {
            throw SifterError.invalidArgument("unknown object type \"\(type)\"; one of: \(DataType.allKnown.map(\.name).joined(separator: ", "))")
        }
        if linkObject != nil, linkGroup != nil {
            throw SifterError.invalidArgument("an object links to another object or to a group, not both")
        }
        let link: ObjectLink? = linkObject.map { .object($0) } ?? linkGroup.map { .group($0) }
        return try ObjectInput(
            dataType, source: .file(path: file), name: name, group: group == 0 ? nil : group,
            link: link, alignment: alignment, metadata: try metadata(for: dataType), time: time
        )
    }

    private func metadata(for dataType: DataType) throws -> ObjectMetadata? {
        switch dataType {
        case .partition:
            let fsType = try Self.lookup(fs, MetadataNames.fsTypes, what: "file system type")
            let partType = try Self.lookup(part, MetadataNames.partTypes, what: "partition type")
            guard let archName = arch else { throw SifterError.invalidArgument("a partition needs --arch (a Go architecture name such as amd64)") }
            guard let sifArch = Arch(goName: archName) else { throw SifterError.invalidArgument("unknown architecture \"\(archName)\"") }
            return .partition(fs: FSType(rawValue: fsType), part: PartType(rawValue: partType), arch: sifArch)
        case .signature:
            let hashType = try Self.lookup(hash, MetadataNames.hashTypes, what: "hash type")
            let fingerprint = try entity.map(Self.hexBytes) ?? []
            guard fingerprint.count <= 256 else { throw SifterError.invalidArgument("--entity is longer than 256 bytes") }
            return .signature(hash: HashType(rawValue: hashType), entity: fingerprint)
        case .cryptoMessage:
            let formatType = try Self.lookup(format ?? "openpgp", MetadataNames.formats, what: "message format")
            let messageType = try Self.lookup(message, MetadataNames.messages, what: "message type")
            return .cryptoMessage(format: FormatType(rawValue: formatType), message: MessageType(rawValue: messageType))
        case .sbom:
            let name = format ?? "cyclonedx-json"
            guard let sbomFormat = SBOMFormat(name: name) else { throw SifterError.invalidArgument("unknown SBOM format \"\(name)\"") }
            return .sbom(format: sbomFormat)
        case .ociBlob, .ociRootIndex:
            guard let digest else { throw SifterError.invalidArgument("an OCI blob object needs --digest sha256:<hex>") }
            return .ociDigest(digest)
        default:
            return nil
        }
    }

    private static func lookup(_ name: String, _ table: [Int32: String], what: String) throws -> Int32 {
        guard let code = table.first(where: { $0.value == name })?.key else {
            let known = table.sorted { $0.key < $1.key }.map(\.value).joined(separator: ", ")
            throw SifterError.invalidArgument("unknown \(what) \"\(name)\"; one of: \(known)")
        }
        return code
    }

    static func hexBytes(_ text: String) throws -> [UInt8] {
        let digits = Array(text.lowercased())
        guard digits.count % 2 == 0 else { throw SifterError.invalidArgument("\"\(text)\" is not hex") }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = digits[index].hexDigitValue, let low = digits[index + 1].hexDigitValue else {
                throw SifterError.invalidArgument("\"\(text)\" is not hex")
            }
            bytes.append(UInt8(high << 4 | low))
        }
        return bytes
    }
}
