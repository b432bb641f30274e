// Structural checks a loader makes before trusting any offset or count from the file, so that
// a damaged or hostile SIF gives a clear error instead of a crash or an unbounded allocation.

extension SIFImage {
    static func validate(_ header: Header, fileSize: Int64, path: String) throws(SIFError) {
        guard header.magic == Layout.magic else { throw .badMagic(path: path) }
        guard header.versionBytes == Layout.version else {
            throw .unsupportedVersion(path: path, version: header.version)
        }
        let total = header.descriptorsTotal
        guard total >= 0, total <= maxDescriptorCapacity else {
            throw .badHeader(path: path, reason: "descriptor count \(total) is outside 0...\(maxDescriptorCapacity)")
        }
        guard header.descriptorsFree >= 0, header.descriptorsFree <= total else {
            throw .badHeader(path: path, reason: "free descriptor count \(header.descriptorsFree) is outside 0...\(total)")
        }
        guard header.descriptorsSize == total * Int64(Layout.descriptorSize) else {
            throw .badHeader(path: path, reason: "descriptor area is \(header.descriptorsSize) bytes, \(total) descriptors need \(total * Int64(Layout.descriptorSize))")
        }
        guard header.descriptorsOffset >= Int64(Layout.headerSize), header.descriptorsOffset <= fileSize else {
            throw .badHeader(path: path, reason: "descriptor area offset \(header.descriptorsOffset) is outside the file (\(fileSize) bytes)")
        }
        let descriptorsEnd = header.descriptorsOffset + header.descriptorsSize
        guard descriptorsEnd <= fileSize else {
            throw .truncated(path: path, need: descriptorsEnd, have: fileSize)
        }
        guard header.dataOffset >= 0, header.dataSize >= 0 else {
            throw .badHeader(path: path, reason: "negative data offset or size")
        }
        let (dataEnd, overflow) = header.dataOffset.addingReportingOverflow(header.dataSize)
        guard !overflow else { throw .badHeader(path: path, reason: "data size \(header.dataSize) is absurd") }
        guard dataEnd <= fileSize else { throw .truncated(path: path, need: dataEnd, have: fileSize) }
    }

    static func validate(_ slots: [Descriptor], header: Header, fileSize: Int64, path: String) throws(SIFError) {
        var seenIDs = Set<UInt32>()
        var used: [Descriptor] = []
        for (slot, descriptor) in slots.enumerated() where descriptor.used {
            func bad(_ reason: String) -> SIFError { .badDescriptor(path: path, slot: slot, reason: reason) }
            guard descriptor.id != 0, seenIDs.insert(descriptor.id).inserted else {
                throw bad("object ID \(descriptor.id) is zero or used twice")
            }
            guard descriptor.offset >= 0, descriptor.size >= 0 else {
                throw bad("object \(descriptor.id) has a negative offset or size")
            }
            guard let end = descriptor.end, end <= fileSize else {
                throw bad("object \(descriptor.id) (\(descriptor.offset)+\(descriptor.size)) lies beyond the end of the file (\(fileSize) bytes)")
            }
            guard descriptor.sizeWithPadding >= descriptor.size else {
                throw bad("object \(descriptor.id) has a padded size smaller than its size")
            }
            if descriptor.size > 0, descriptor.offset < header.descriptorsOffset + header.descriptorsSize {
                throw bad("object \(descriptor.id) at \(descriptor.offset) overlaps the header or descriptor area")
            }
            used.append(descriptor)
        }
        guard Int64(used.count) == header.descriptorsTotal - header.descriptorsFree else {
            throw .badHeader(path: path, reason: "header says \(header.descriptorsTotal - header.descriptorsFree) objects, the descriptor area holds \(used.count)")
        }
        let placed = used.filter { $0.size > 0 }.sorted { $0.offset < $1.offset }
        for (earlier, later) in zip(placed, placed.dropFirst()) where later.offset < earlier.offset + earlier.size {
            throw .objectsOverlap(path: path, first: earlier.id, second: later.id)
        }
        let primaries = used.filter(\.isPrimaryPartition)
        guard primaries.count <= 1 else { throw .multiplePrimaryPartitions(path: path, ids: primaries.map(\.id)) }
    }
}
