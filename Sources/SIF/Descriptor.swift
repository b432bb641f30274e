// A 585-byte packed object descriptor (`pkg/sif/descriptor.go` `rawDescriptor`) and the
// type-specific metadata kept in its 384-byte `Extra` union.

/// Type-specific metadata of an object, as stored in the descriptor's extra field.
public enum ObjectMetadata: Equatable, Sendable {
    case partition(fs: FSType, part: PartType, arch: Arch)
    /// `entity` is the signer's fingerprint (up to 256 bytes; readers use the first 20).
    case signature(hash: HashType, entity: [UInt8])
    case cryptoMessage(format: FormatType, message: MessageType)
    case sbom(format: SBOMFormat)
    /// For OCI root index and blob objects: the blob digest, `sha256:<hex>`.
    case ociDigest(String)

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 16)
        switch self {
        case let .partition(fs, part, arch):
            writer.append(fs.rawValue)
            writer.append(part.rawValue)
            writer.append(fixed: arch.bytes, width: 3)
        case let .signature(hash, entity):
            writer.append(hash.rawValue)
            writer.append(fixed: entity, width: 256)
        case let .cryptoMessage(format, message):
            writer.append(format.rawValue)
            writer.append(message.rawValue)
        case let .sbom(format):
            writer.append(format.rawValue)
        case let .ociDigest(digest):
            writer.append(fixed: Array(digest.utf8) + [0], width: Layout.extraLength)
        }
        return writer.bytes
    }

    /// Reads the metadata a descriptor of `type` carries; nil for types without any.
    static func decode(_ extra: [UInt8], as type: DataType) -> ObjectMetadata? {
        var reader = ByteReader(extra)
        switch type {
        case .partition:
            let fs = FSType(rawValue: reader.read())
            let part = PartType(rawValue: reader.read())
            return .partition(fs: fs, part: part, arch: Arch(bytes: reader.read(count: 3)[...]))
        case .signature:
            let hash = HashType(rawValue: reader.read())
            return .signature(hash: hash, entity: reader.read(count: 256))
        case .cryptoMessage:
            let format = FormatType(rawValue: reader.read())
            return .cryptoMessage(format: format, message: MessageType(rawValue: reader.read()))
        case .sbom:
            return .sbom(format: SBOMFormat(rawValue: reader.read()))
        case .ociBlob, .ociRootIndex:
            return .ociDigest(String(decoding: extra.prefix(while: { $0 != 0 }), as: UTF8.self))
        default:
            return nil
        }
    }

    /// Whether this metadata belongs on an object of `type`.
    func fits(_ type: DataType) -> Bool {
        switch self {
        case .partition: type == .partition
        case .signature: type == .signature
        case .cryptoMessage: type == .cryptoMessage
        case .sbom: type == .sbom
        case .ociDigest: type == .ociBlob || type == .ociRootIndex
        }
    }
}

/// A link from one object to another object or to a whole group.
public enum ObjectLink: Equatable, Sendable {
    case object(UInt32)
    case group(UInt32)

    var stored: UInt32 {
        switch self {
        case let .object(id): id
        case let .group(id): id | Layout.groupMask
        }
    }
}

/// One object descriptor, as stored.
public struct Descriptor: Equatable, Sendable {
    public var dataType: DataType
    public var used: Bool
    public var id: UInt32
    /// The stored group field, mask included (`0xF0000000` = no group).
    public var rawGroupID: UInt32
    /// The stored link field (group links carry the mask; 0 = no link).
    public var rawLinkedID: UInt32
    public var offset: Int64
    public var size: Int64
    public var sizeWithPadding: Int64
    public var createdAt: Int64
    public var modifiedAt: Int64
    public var uid: Int64
    public var gid: Int64
    /// Raw bytes of the 128-byte name field.
    public var nameBytes: [UInt8]
    /// Raw bytes of the 384-byte extra field.
    public var extra: [UInt8]

    /// The group this object belongs to, or nil when it is in no group.
    public var groupID: UInt32? {
        let group = rawGroupID & ~Layout.groupMask
        return group == 0 ? nil : group
    }

    /// The object or group this one is linked to, if any.
    public var link: ObjectLink? {
        let value = rawLinkedID & ~Layout.groupMask
        if rawLinkedID & Layout.groupMask == Layout.groupMask { return .group(value) }
        return value == 0 ? nil : .object(value)
    }

    public var name: String { String(decoding: nameBytes.trimmingTrailingNULs, as: UTF8.self) }

    public var metadata: ObjectMetadata? { ObjectMetadata.decode(extra, as: dataType) }

    /// Partition metadata, when this is a partition.
    public var partition: (fs: FSType, part: PartType, arch: Arch)? {
        if case let .partition(fs, part, arch) = metadata { return (fs, part, arch) }
        return nil
    }

    public var isPrimaryPartition: Bool { partition?.part == .primarySystem }

    /// End of the object's data (offset + size), nil when that overflows.
    var end: Int64? {
        let (sum, overflow) = offset.addingReportingOverflow(size)
        return overflow ? nil : sum
    }

    static let empty = Descriptor(
        dataType: DataType(rawValue: 0), used: false, id: 0, rawGroupID: 0, rawLinkedID: 0,
        offset: 0, size: 0, sizeWithPadding: 0, createdAt: 0, modifiedAt: 0, uid: 0, gid: 0,
        nameBytes: [UInt8](repeating: 0, count: Layout.nameLength),
        extra: [UInt8](repeating: 0, count: Layout.extraLength)
    )

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: Layout.descriptorSize)
        writer.append(dataType.rawValue)
        writer.append(used)
        writer.append(id)
        writer.append(rawGroupID)
        writer.append(rawLinkedID)
        for value in [offset, size, sizeWithPadding, createdAt, modifiedAt, uid, gid] {
            writer.append(value)
        }
        writer.append(fixed: nameBytes, width: Layout.nameLength)
        writer.append(fixed: extra, width: Layout.extraLength)
        return writer.bytes
    }

    init(decoding bytes: [UInt8], at position: Int) {
        var reader = ByteReader(bytes, at: position)
        dataType = DataType(rawValue: reader.read())
        used = reader.readBool()
        id = reader.read()
        rawGroupID = reader.read()
        rawLinkedID = reader.read()
        offset = reader.read()
        size = reader.read()
        sizeWithPadding = reader.read()
        createdAt = reader.read()
        modifiedAt = reader.read()
        uid = reader.read()
        gid = reader.read()
        nameBytes = reader.read(count: Layout.nameLength)
        extra = reader.read(count: Layout.extraLength)
    }

    init(dataType: DataType, used: Bool, id: UInt32, rawGroupID: UInt32, rawLinkedID: UInt32,
         offset: Int64, size: Int64, sizeWithPadding: Int64, createdAt: Int64, modifiedAt: Int64,
         uid: Int64, gid: Int64, nameBytes: [UInt8], extra: [UInt8]) {
        self.dataType = dataType
        self.used = used
        self.id = id
        self.rawGroupID = rawGroupID
        self.rawLinkedID = rawLinkedID
        self.offset = offset
        self.size = size
        self.sizeWithPadding = sizeWithPadding
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
        self.uid = uid
        self.gid = gid
        self.nameBytes = nameBytes
        self.extra = extra
    }
}
