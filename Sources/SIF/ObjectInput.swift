/// Where the bytes of a new object come from.
public enum ObjectSource: Sendable {
    /// Small objects held in memory (definition files, JSON documents).
    case bytes([UInt8])
    /// A file copied in chunks, never read whole.
    case file(path: String)
    /// Bytes an external program already wrote into the SIF at the object's planned offset
    /// (mksquashfs `-offset`): recorded without being copied.
    case inPlace(size: Int64)
}

/// A data object to add: its type, bytes and descriptor fields (`pkg/sif/descriptor_input.go`).
public struct ObjectInput: Sendable {
    public var dataType: DataType
    public var source: ObjectSource
    public var name: String
    /// Object group; nil puts the object in no group. The reference default is group 1.
    public var group: UInt32?
    public var link: ObjectLink?
    /// Byte alignment of the object's offset; 0 or 1 for none.
    public var alignment: Int
    public var metadata: ObjectMetadata?
    /// Creation time of the object; nil takes the image's time.
    public var time: Int64?

    public static let defaultGroup: UInt32 = 1

    public init(
        _ dataType: DataType, source: ObjectSource, name: String = "", group: UInt32? = defaultGroup,
        link: ObjectLink? = nil, alignment: Int? = nil, metadata: ObjectMetadata? = nil, time: Int64? = nil
    ) throws(SIFError) {
        guard name.utf8.count <= Layout.nameLength else {
            throw .invalidInput("object name is \(name.utf8.count) bytes, at most \(Layout.nameLength) fit")
        }
        if let group, group == 0 || group & Layout.groupMask != 0 {
            throw .invalidInput("invalid group ID \(group)")
        }
        switch link {
        case let .object(id)? where id == 0 || id & Layout.groupMask != 0:
            throw .invalidInput("invalid linked object ID \(id)")
        case let .group(id)? where id == 0 || id & Layout.groupMask != 0:
            throw .invalidInput("invalid linked group ID \(id)")
        default: break
        }
        if let metadata {
            guard metadata.fits(dataType) else {
                throw .invalidInput("metadata \(metadata) does not belong on a \(dataType.name) object")
            }
            if case let .partition(_, _, arch) = metadata, !arch.isKnown {
                throw .invalidInput("a partition needs a known architecture")
            }
            if case let .ociDigest(digest) = metadata, digest.utf8.count >= Layout.extraLength {
                throw .invalidInput("digest text is too long")
            }
        }
        let resolvedAlignment = alignment ?? (dataType == .partition ? Layout.partitionAlignment : 0)
        guard resolvedAlignment >= 0, resolvedAlignment <= 1 << 30 else {
            throw .invalidInput("alignment \(resolvedAlignment) is out of range")
        }
        self.dataType = dataType
        self.source = source
        self.name = name
        self.group = group
        self.link = link
        self.alignment = resolvedAlignment
        self.metadata = metadata
        self.time = time
    }

    /// The size this input will have, when it can be known before writing.
    func knownSize() throws(SIFError) -> Int64 {
        switch source {
        case let .bytes(bytes): return Int64(bytes.count)
        case let .inPlace(size): return size
        case let .file(path):
            let file = try FileAccess(path: path, flags: 0)
            return try file.size()
        }
    }
}

/// Rounds `offset` up to a multiple of `alignment`, as the reference's `nextAligned` does.
func nextAligned(_ offset: Int64, _ alignment: Int) -> Int64 {
    guard alignment > 1 else { return offset }
    let align = Int64(alignment)
    let remainder = offset % align
    return remainder == 0 ? offset : offset - remainder + align
}
