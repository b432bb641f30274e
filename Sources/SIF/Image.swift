#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An open SIF file: its header and descriptors, validated on load, and positioned access to
/// object data. Creating, adding, deleting and setting the primary partition live in their own
/// files, as in the reference implementation.
public final class SIFImage {
    /// Upper bound on the descriptor count a loader accepts: the reference writes 48, and this
    /// keeps a hostile header from making the reader allocate without limit.
    public static let maxDescriptorCapacity: Int64 = 65_536

    public var path: String { file.path }
    public internal(set) var header: Header
    /// Every slot of the descriptor area, used or not, in slot order.
    public internal(set) var slots: [Descriptor]
    let file: FileAccess

    init(file: FileAccess, header: Header, slots: [Descriptor]) {
        self.file = file
        self.header = header
        self.slots = slots
    }

    /// The live objects, in slot order.
    public var descriptors: [Descriptor] { slots.filter(\.used) }

    /// Opens and validates a SIF file. `writable` is needed for add, delete and set-primary.
    public static func load(path: String, writable: Bool = false) throws(SIFError) -> SIFImage {
        let file = try FileAccess(path: path, flags: writable ? O_RDWR : O_RDONLY)
        let size = try file.size()
        guard size >= Int64(Layout.headerSize) else {
            throw .truncated(path: path, need: Int64(Layout.headerSize), have: size)
        }
        let header = Header(decoding: try file.read(at: 0, count: Layout.headerSize))
        try validate(header, fileSize: size, path: path)
        let area = try file.read(at: header.descriptorsOffset, count: Int(header.descriptorsSize))
        guard area.count == Int(header.descriptorsSize) else {
            throw .truncated(path: path, need: header.descriptorsOffset + header.descriptorsSize, have: size)
        }
        let slots = (0..<Int(header.descriptorsTotal)).map {
            Descriptor(decoding: area, at: $0 * Layout.descriptorSize)
        }
        try validate(slots, header: header, fileSize: size, path: path)
        return SIFImage(file: file, header: header, slots: slots)
    }

    /// Closes the file, reporting a failed close.
    public func close() throws(SIFError) { try file.close() }

    // MARK: Selection

    /// A condition on a descriptor; several given together must all hold.
    public enum Selector: Sendable, CustomStringConvertible {
        case dataType(DataType)
        case id(UInt32)
        case group(UInt32)
        case noGroup
        case linkedObject(UInt32)
        case linkedGroup(UInt32)
        case partitionType(PartType)
        case name(String)

        func matches(_ descriptor: Descriptor) -> Bool {
            switch self {
            case let .dataType(type): descriptor.dataType == type
            case let .id(id): descriptor.id == id
            case let .group(group): descriptor.groupID == group
            case .noGroup: descriptor.groupID == nil
            case let .linkedObject(id): descriptor.link == .object(id)
            case let .linkedGroup(group): descriptor.link == .group(group)
            case let .partitionType(part): descriptor.partition?.part == part
            case let .name(name): descriptor.name == name
            }
        }

        public var description: String {
            switch self {
            case let .dataType(type): "type \(type.name)"
            case let .id(id): "id \(id)"
            case let .group(group): "group \(group)"
            case .noGroup: "no group"
            case let .linkedObject(id): "link to object \(id)"
            case let .linkedGroup(group): "link to group \(group)"
            case let .partitionType(part): "partition type \(part)"
            case let .name(name): "name \"\(name)\""
            }
        }
    }

    /// The live objects matching every selector, in slot order.
    public func descriptors(matching selectors: [Selector]) -> [Descriptor] {
        descriptors.filter { descriptor in selectors.allSatisfy { $0.matches(descriptor) } }
    }

    /// The single live object matching every selector.
    public func descriptor(matching selectors: [Selector]) throws(SIFError) -> Descriptor {
        let found = descriptors(matching: selectors)
        let selection = selectors.isEmpty ? "any object" : selectors.map(\.description).joined(separator: ", ")
        guard let first = found.first else { throw .objectNotFound(path: path, selection: selection) }
        guard found.count == 1 else { throw .multipleObjects(path: path, selection: selection, ids: found.map(\.id)) }
        return first
    }

    /// The primary system partition, if the image has one.
    public var primaryPartition: Descriptor? { descriptors.first(where: \.isPrimaryPartition) }

    // MARK: Data

    /// A sequential reader over one object's bytes; it reads in caller-sized chunks.
    public func reader(for descriptor: Descriptor) -> ObjectReader {
        ObjectReader(file: file, offset: descriptor.offset, size: descriptor.size)
    }

    /// The whole of a small object (a definition file, a JSON document); refuses anything larger
    /// than `limit` so that a huge object is never pulled into memory by mistake.
    public func data(of descriptor: Descriptor, limit: Int64 = 16 << 20) throws(SIFError) -> [UInt8] {
        guard descriptor.size <= limit else {
            throw .invalidInput("\(path): object \(descriptor.id) is \(descriptor.size) bytes, more than the \(limit) read whole")
        }
        var reader = reader(for: descriptor)
        return try reader.readAll()
    }
}

/// Reads one object's data front to back with positioned reads.
public struct ObjectReader {
    private let file: FileAccess
    private let end: Int64
    private var position: Int64

    init(file: FileAccess, offset: Int64, size: Int64) {
        self.file = file
        self.position = offset
        self.end = offset + size
    }

    public var remaining: Int64 { end - position }

    /// Fills up to `buffer.count` bytes; returns 0 at the end of the object.
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(SIFError) -> Int {
        let want = Int(min(Int64(buffer.count), remaining))
        guard want > 0 else { return 0 }
        let got = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]), at: position)
        guard got == want else { throw .truncated(path: file.path, need: end, have: position + Int64(got)) }
        position += Int64(got)
        return got
    }

    /// Calls `body` with successive chunks of at most `chunkSize` bytes.
    public mutating func forEachChunk(
        chunkSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try read(into: buffer)
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    mutating func readAll() throws(SIFError) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(remaining), alignment: 16)
        defer { buffer.deallocate() }
        let count = try read(into: buffer)
        return Array(buffer[0..<count])
    }
}
