import ArchiveIO

/// Pass 2's writing side: turns plan items into pax members on the output. Members are built
/// fresh (never cloned from the input), so only what the tree needs is written: numeric
/// uid/gid without user or group names (mksquashfs would otherwise depend on the host's
/// passwd), whole seconds, the source's sparse map (holes are not written), xattrs as
/// `SCHILY.xattr.*` records.
final class Emitter {
    let writer: ArchiveWriter
    let imageName: String
    let mtimeClamp: Int64?
    let defaultTime: Int64
    var summary: FlattenSummary
    /// The resolved probe path, whose first bytes are captured as they stream past.
    var probe: [UInt8]?
    /// Executable files in walk order (`Plan.executableRank`) and the test that ends the walk.
    var executableRank: [EntryRef: Int] = [:]
    let executableProbe: (@Sendable ([UInt8]) -> Bool)?
    /// The walk position of `summary.firstExecutableHead`.
    private var firstExecutableRank = Int.max
    /// Offered every regular file; receives the content of those it wants.
    var observer: (any ContentObserver)?

    init(fileDescriptor fd: Int32, options: FlattenOptions, root: RootMetadata) throws(RootfsError) {
        imageName = options.imageName
        mtimeClamp = options.mtimeClamp
        defaultTime = options.defaultTime
        executableProbe = options.executableProbe
        summary = FlattenSummary(root: root)
        do {
            writer = try ArchiveWriter(fileDescriptor: fd)
            writer.writesLongLinksAsGNU = options.gnuLongLinkTargets
        } catch {
            throw .outputFailed(image: options.imageName, layer: nil, entry: nil, message: "\(error)")
        }
    }

    private func time(_ seconds: Int64?) -> Int64 {
        let value = seconds ?? defaultTime
        if let clamp = mtimeClamp, value > clamp { return clamp }
        return value
    }

    /// Runs a writer call, turning its errors into `outputFailed` for this member.
    private func output<T>(layer: String?, path: [UInt8], _ body: () throws -> T) throws(RootfsError) -> T {
        do {
            return try body()
        } catch {
            throw .outputFailed(image: imageName, layer: layer, entry: Paths.display(path), message: "\(error)")
        }
    }

    func writeDirectory(path: [UInt8], metadata: DirectoryMetadata) throws(RootfsError) {
        try output(layer: nil, path: path) {
            let entry = try ArchiveEntry()
            entry.pathnameBytes = path
            entry.fileType = .directory
            entry.permissions = metadata.mode
            entry.uid = metadata.uid
            entry.gid = metadata.gid
            entry.mtime = ArchiveTimestamp(seconds: metadata.mtime)
            entry.xattrs = metadata.xattrs
            try writer.writeHeader(entry)
        }
        summary.directories += 1
    }

    /// Writes `item` from the layer member `source` that `stream` is positioned on.
    func write(_ item: EmitItem, source: ArchiveEntry, stream: LayerStream) throws(RootfsError) {
        let layer = stream.layerName
        let primary = item.paths[0]
        let changed = { (reason: String) in
            RootfsError.layerChanged(
                image: self.imageName, layer: layer, entry: source.pathnameBytes.map(Paths.display), reason: reason)
        }
        // Pass 1 saw this member as the given kind; anything else means the blob changed.
        guard source.hardlinkBytes == nil else { throw changed("expected a file, found a hard link") }
        let type = Self.fileType(item.inode.kind)
        guard source.fileType == type else { throw changed("expected \(type), found \(source.fileType)") }
        let size = type == .regular ? source.size : 0

        let header = try output(layer: layer, path: primary) {
            let entry = try ArchiveEntry()
            entry.pathnameBytes = primary
            entry.fileType = type
            entry.permissions = source.permissions
            entry.uid = source.uid
            entry.gid = source.gid
            entry.mtime = ArchiveTimestamp(seconds: time(source.mtime?.seconds))
            entry.xattrs = uniqueXattrs(source.xattrs)
            entry.size = size
            entry.sparseRegions = source.sparseRegions
            if case .symlink(let target) = item.inode.kind { entry.symlinkBytes = target }
            if type == .characterDevice || type == .blockDevice {
                entry.rdevMajor = source.rdevMajor
                entry.rdevMinor = source.rdevMinor
            }
            try writer.writeHeader(entry)
            return entry
        }
        if type == .regular {
            let isProbe = probe.map(item.paths.contains) ?? false
            let rank = executableProbe == nil ? nil : executableRank[item.inode.source].flatMap { $0 < firstExecutableRank ? $0 : nil }
            let observed = observer.flatMap { $0.wantsContent(of: item.paths) ? $0 : nil }
            var observing = observed != nil
            var head: [UInt8] = []
            var position: Int64 = 0
            try stream.readData { (block, offset) throws(RootfsError) in
                // libarchive reports sparse holes as jumps in the offset.
                guard offset >= position else { throw changed("data blocks out of order") }
                if offset > position {
                    try writeZeros(offset - position, layer: layer, path: primary)
                    if observing, let observed { observing = Self.observeZeros(offset - position, by: observed) }
                }
                try output(layer: layer, path: primary) { try writer.writeData(block) }
                if observing, let observed { observing = observed.receive(block) }
                if isProbe || rank != nil, position == offset, Int64(head.count) == offset, head.count < FlattenSummary.probeLength {
                    head += block.prefix(FlattenSummary.probeLength - head.count)
                }
                position = offset + Int64(block.count)
            }
            if position < size {
                try writeZeros(size - position, layer: layer, path: primary)
                if observing, let observed { _ = Self.observeZeros(size - position, by: observed) }
            }
            observed?.endOfContent()
            summary.fileDataBytes += size
            if isProbe { summary.probeHead = head }
            noteExecutable(head, rank: rank)
        }
        try writeLinks(item, to: header, layer: layer)
        count(item)
    }

    /// Keeps `head` as `summary.firstExecutableHead` when its file comes earlier in the walk
    /// than the one kept and the probe accepts it.
    private func noteExecutable(_ head: [UInt8], rank: Int?) {
        guard let rank, rank < firstExecutableRank, executableProbe?(head) == true else { return }
        firstExecutableRank = rank
        summary.firstExecutableHead = head
    }

    /// Writes a synthetic entry's item from memory.
    func write(_ item: EmitItem, synthetic: SyntheticEntry) throws(RootfsError) {
        let primary = item.paths[0]
        let contents: [UInt8]
        if case .file(let bytes) = synthetic.kind { contents = bytes } else { contents = [] }
        if item.inode.kind == .regular {
            noteExecutable(Array(contents.prefix(FlattenSummary.probeLength)), rank: executableRank[item.inode.source])
        }
        let header = try output(layer: "synthetic", path: primary) {
            let entry = try ArchiveEntry()
            entry.pathnameBytes = primary
            entry.fileType = Self.fileType(item.inode.kind)
            entry.permissions = synthetic.mode & 0o7777
            entry.uid = synthetic.uid
            entry.gid = synthetic.gid
            entry.mtime = ArchiveTimestamp(seconds: time(synthetic.mtime))
            entry.size = Int64(contents.count)
            if case .symlink(let target) = item.inode.kind { entry.symlinkBytes = target }
            try writer.writeHeader(entry)
            try writer.writeData(contents)
            return entry
        }
        if item.inode.kind == .regular, let observer, observer.wantsContent(of: item.paths) {
            _ = contents.withUnsafeBytes { observer.receive($0) }
            observer.endOfContent()
        }
        summary.fileDataBytes += Int64(contents.count)
        try writeLinks(item, to: header, layer: "synthetic")
        count(item)
    }

    private func writeLinks(_ item: EmitItem, to header: ArchiveEntry, layer: String) throws(RootfsError) {
        for path in item.paths.dropFirst() {
            try output(layer: layer, path: path) {
                let link = try header.clone()
                link.pathnameBytes = path
                link.hardlinkBytes = item.paths[0]
                link.symlinkBytes = nil
                link.xattrs = []
                link.size = 0
                try writer.writeHeader(link)
            }
        }
    }

    /// Gives `observer` a hole's zeros, while it wants more; returns whether it still does.
    private static func observeZeros(_ count: Int64, by observer: any ContentObserver) -> Bool {
        let zeros = [UInt8](repeating: 0, count: Int(min(count, 1 << 16)))
        var left = count
        while left > 0 {
            let length = Int(min(left, Int64(zeros.count)))
            guard zeros.withUnsafeBytes({ observer.receive(UnsafeRawBufferPointer(rebasing: $0.prefix(length))) }) else {
                return false
            }
            left -= Int64(length)
        }
        return true
    }

    /// A hole of a sparse member: within the sparse map's holes nothing is written.
    private func writeZeros(_ count: Int64, layer: String, path: [UInt8]) throws(RootfsError) {
        try output(layer: layer, path: path) { try writer.writeZeros(count) }
    }

    private func count(_ item: EmitItem) {
        summary.hardlinks += item.paths.count - 1
        switch item.inode.kind {
        case .regular: summary.regularFiles += 1
        case .symlink: summary.symlinks += 1
        case .characterDevice: summary.characterDevices += 1
        case .blockDevice: summary.blockDevices += 1
        case .fifo: summary.fifos += 1
        }
    }

    func finish() throws(RootfsError) {
        try output(layer: nil, path: []) { try writer.finish() }
        // A name that is not UTF-8 is written as its raw bytes (pax `hdrcharset=BINARY`), which
        // is what the tree has; libarchive's notice of it is no warning for the user.
        summary.warnings += writer.warnings.filter { !$0.contains("Can't translate") }
    }

    static func fileType(_ kind: Inode.Kind) -> ArchiveEntry.FileType {
        switch kind {
        case .regular: return .regular
        case .symlink: return .symlink
        case .characterDevice: return .characterDevice
        case .blockDevice: return .blockDevice
        case .fifo: return .fifo
        }
    }
}

/// libarchive's pax writer stores each xattr twice (`LIBARCHIVE.xattr.*` and
/// `SCHILY.xattr.*`) and its reader returns both: keep the first value of each name, so
/// xattrs do not multiply from layer to output.
func uniqueXattrs(_ xattrs: [ArchiveXattr]) -> [ArchiveXattr] {
    var seen = Set<String>()
    return xattrs.filter { seen.insert($0.name).inserted }
}
