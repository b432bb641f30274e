// Changing an existing image: add, delete, set the primary partition (`pkg/sif/create.go`
// `AddObject`, `DeleteObject`, `SetPrimPart`). Each rewrites the descriptor area and header.

extension SIFImage {
    /// Adds an object in the first free slot, after the current end of data.
    /// `time` stamps the object and the header's modification time (nil: now).
    @discardableResult
    public func add(_ object: ObjectInput, time: Int64? = nil) throws(SIFError) -> Descriptor {
        guard file.writable else { throw .notWritable(path: path) }
        guard let slot = slots.firstIndex(where: { !$0.used }) else {
            throw .noSpace(path: path, capacity: header.descriptorsTotal)
        }
        let stamp = time ?? currentTime()
        try writeObject(object, slot: slot, time: stamp)
        header.modifiedAt = stamp
        try writeDescriptors()
        try writeHeader()
        return slots[slot]
    }

    /// Deletes object `id`. `zero` overwrites its data with zeros; `compact` truncates the file
    /// when the object is the last one (the reference refuses to compact anything else).
    public func delete(id: UInt32, zero: Bool = false, compact: Bool = false, time: Int64? = nil) throws(SIFError) {
        guard file.writable else { throw .notWritable(path: path) }
        guard let slot = slots.firstIndex(where: { $0.used && $0.id == id }) else {
            throw .objectNotFound(path: path, selection: "id \(id)")
        }
        let descriptor = slots[slot]
        if compact {
            let end = descriptor.offset + descriptor.size
            let isLast = descriptors.allSatisfy { $0.offset + $0.size <= end }
            guard isLast else {
                throw .invalidInput("\(path): object \(id) is not the last object, so the file cannot be compacted")
            }
        }
        if zero {
            var remaining = descriptor.size
            var position = descriptor.offset
            let zeros = [UInt8](repeating: 0, count: 1 << 16)
            while remaining > 0 {
                let count = Int(min(remaining, Int64(zeros.count)))
                try file.write(Array(zeros.prefix(count)), at: position)
                position += Int64(count)
                remaining -= Int64(count)
            }
        }
        if compact {
            try file.truncate(to: descriptor.offset + descriptor.size - descriptor.sizeWithPadding)
            header.dataSize -= descriptor.sizeWithPadding
        }
        if descriptor.isPrimaryPartition { header.arch = .unknown }
        slots[slot] = .empty
        header.descriptorsFree += 1
        header.modifiedAt = time ?? currentTime()
        try writeDescriptors()
        try writeHeader()
    }

    /// Makes system partition `id` the primary one; the previous primary becomes a plain system
    /// partition, and the header takes the new primary's architecture.
    public func setPrimaryPartition(id: UInt32, time: Int64? = nil) throws(SIFError) {
        guard file.writable else { throw .notWritable(path: path) }
        guard let slot = slots.firstIndex(where: { $0.used && $0.id == id }) else {
            throw .objectNotFound(path: path, selection: "id \(id)")
        }
        guard let partition = slots[slot].partition else {
            throw .invalidInput("\(path): object \(id) is not a partition")
        }
        if partition.part == .primarySystem { return }
        guard partition.part == .system else {
            throw .invalidInput("\(path): object \(id) is a \(partition.part) partition, not a system partition")
        }
        if let old = slots.firstIndex(where: { $0.used && $0.isPrimaryPartition }), let previous = slots[old].partition {
            slots[old].extra = padded(ObjectMetadata.partition(fs: previous.fs, part: .system, arch: previous.arch))
        }
        slots[slot].extra = padded(.partition(fs: partition.fs, part: .primarySystem, arch: partition.arch))
        header.arch = partition.arch
        header.modifiedAt = time ?? currentTime()
        try writeDescriptors()
        try writeHeader()
    }

    private func padded(_ metadata: ObjectMetadata) -> [UInt8] {
        var writer = ByteWriter()
        writer.append(fixed: metadata.encoded(), width: Layout.extraLength)
        return writer.bytes
    }
}
