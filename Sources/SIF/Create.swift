#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a new SIF is laid out and stamped (`pkg/sif/create.go` `createOpts`).
public struct CreateOptions: Sendable {
    /// The launch script; the reference library leaves it empty, Apptainer writes
    /// `Layout.defaultLaunchScript`.
    public var launchScript: String = ""
    /// The image UUID (16 bytes); nil picks a random v4 UUID, or the nil UUID when deterministic.
    public var id: [UInt8]?
    /// Creation time in Unix seconds; nil means now, or Go's zero time when deterministic.
    public var time: Int64?
    /// Nil UUID and Go's zero time, as the reference `OptCreateDeterministic`.
    public var deterministic = false
    public var descriptorCapacity: Int64 = Layout.defaultDescriptorCapacity
    public var descriptorsOffset: Int64 = Layout.defaultDescriptorsOffset

    public init() {}

    func resolved() throws(SIFError) -> (launch: [UInt8], id: [UInt8], time: Int64) {
        let launch = Array(launchScript.utf8)
        guard launch.count < Layout.launchScriptLength else {
            throw .invalidInput("launch script is \(launch.count) bytes, it must be under \(Layout.launchScriptLength)")
        }
        guard descriptorCapacity >= 0, descriptorCapacity <= SIFImage.maxDescriptorCapacity else {
            throw .invalidInput("descriptor capacity \(descriptorCapacity) is outside 0...\(SIFImage.maxDescriptorCapacity)")
        }
        guard descriptorsOffset >= Int64(Layout.headerSize) else {
            throw .invalidInput("descriptor area must start after the \(Layout.headerSize)-byte header")
        }
        if let id, id.count != 16 { throw .invalidInput("an image ID is 16 bytes") }
        let id = id ?? (deterministic ? [UInt8](repeating: 0, count: 16) : randomUUID())
        let time = time ?? (deterministic ? Layout.deterministicTime : currentTime())
        return (launch, id, time)
    }
}

extension SIFImage {
    /// Creates a SIF at `path` holding `objects` in order (slot i gets ID i+1), truncating any
    /// existing file unless an object is `.inPlace`, whose bytes must already be in the file.
    /// The result is open read-write.
    public static func create(
        path: String, options: CreateOptions = CreateOptions(), objects: [ObjectInput] = []
    ) throws(SIFError) -> SIFImage {
        let (launch, id, time) = try options.resolved()
        guard Int64(objects.count) <= options.descriptorCapacity else {
            throw .noSpace(path: path, capacity: options.descriptorCapacity)
        }
        let keepsContent = objects.contains { if case .inPlace = $0.source { true } else { false } }
        let file = try FileAccess(path: path, flags: O_RDWR | O_CREAT | (keepsContent ? 0 : O_TRUNC))
        let header = Header(
            launchScript: launch, id: id, time: time,
            descriptorsOffset: options.descriptorsOffset, capacity: options.descriptorCapacity
        )
        let image = SIFImage(
            file: file, header: header,
            slots: Array(repeating: .empty, count: Int(options.descriptorCapacity))
        )
        for (slot, object) in objects.enumerated() {
            try image.writeObject(object, slot: slot, time: time)
        }
        try image.writeDescriptors()
        try image.writeHeader()
        return image
    }

    /// Where each object would be placed by `create` with these options: lets a caller hand an
    /// external writer the offset of a later `.inPlace` object before any byte is written.
    /// Objects after the first whose size cannot be known yet (an `.inPlace` of size 0 used as a
    /// placeholder) get offsets computed as if it were empty.
    public static func plannedOffsets(options: CreateOptions, objects: [ObjectInput]) throws(SIFError) -> [Int64] {
        var end = options.descriptorsOffset + options.descriptorCapacity * Int64(Layout.descriptorSize)
        var offsets: [Int64] = []
        for object in objects {
            let offset = nextAligned(end, object.alignment)
            offsets.append(offset)
            end = offset + (try object.knownSize())
        }
        return offsets
    }

    /// Writes one object's data after the current data end and fills its descriptor
    /// (`writeDataObject` + `fillDescriptor` in the reference).
    func writeObject(_ object: ObjectInput, slot: Int, time: Int64) throws(SIFError) {
        guard slot < slots.count else { throw .noSpace(path: path, capacity: header.descriptorsTotal) }
        if case let .partition(_, part, arch)? = object.metadata, part == .primarySystem {
            if let existing = primaryPartition {
                throw .multiplePrimaryPartitions(path: path, ids: [existing.id, UInt32(slot) + 1])
            }
            header.arch = arch
        }
        let unaligned = header.dataOffset + header.dataSize
        let offset = nextAligned(unaligned, object.alignment)
        let size = try copyData(of: object, to: offset)
        let objectTime = object.time ?? time
        var descriptor = Descriptor.empty
        descriptor.dataType = object.dataType
        descriptor.used = true
        descriptor.id = UInt32(slot) + 1
        descriptor.rawGroupID = (object.group ?? 0) | Layout.groupMask
        descriptor.rawLinkedID = object.link?.stored ?? 0
        descriptor.offset = offset
        descriptor.size = size
        descriptor.sizeWithPadding = offset - unaligned + size
        descriptor.createdAt = objectTime
        descriptor.modifiedAt = objectTime
        var name = ByteWriter()
        name.append(fixed: Array(object.name.utf8), width: Layout.nameLength)
        descriptor.nameBytes = name.bytes
        var extra = ByteWriter()
        extra.append(fixed: object.metadata?.encoded() ?? [], width: Layout.extraLength)
        descriptor.extra = extra.bytes
        slots[slot] = descriptor
        header.descriptorsFree -= 1
        header.dataSize += descriptor.sizeWithPadding
    }

    private func copyData(of object: ObjectInput, to offset: Int64) throws(SIFError) -> Int64 {
        switch object.source {
        case let .bytes(bytes):
            try file.write(bytes, at: offset)
            return Int64(bytes.count)
        case let .inPlace(size):
            let have = try file.size()
            guard have >= offset + size else { throw .truncated(path: path, need: offset + size, have: have) }
            return size
        case let .file(sourcePath):
            let source = try FileAccess(path: sourcePath, flags: O_RDONLY)
            let expected = try source.size()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            var copied: Int64 = 0
            while true {
                let count = try source.read(into: buffer, at: copied)
                if count == 0 { break }
                try file.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), at: offset + copied)
                copied += Int64(count)
            }
            guard copied == expected else { throw .sourceChanged(path: sourcePath, expected: expected, actual: copied) }
            try source.close()
            return copied
        }
    }

    func writeDescriptors() throws(SIFError) {
        var area: [UInt8] = []
        area.reserveCapacity(slots.count * Layout.descriptorSize)
        for slot in slots { area += slot.used ? slot.encoded() : Descriptor.empty.encoded() }
        try file.write(area, at: header.descriptorsOffset)
    }

    func writeHeader() throws(SIFError) {
        try file.write(header.encoded(), at: 0)
    }
}

func currentTime() -> Int64 { Int64(Glibc.time(nil)) }

/// A random version-4 UUID from the kernel's generator.
func randomUUID() -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 16)
    var generator = SystemRandomNumberGenerator()
    for index in 0..<16 { bytes[index] = generator.next() }
    bytes[6] = (bytes[6] & 0x0F) | 0x40
    bytes[8] = (bytes[8] & 0x3F) | 0x80
    return bytes
}
