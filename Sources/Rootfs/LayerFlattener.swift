import ArchiveIO

/// Flattens OCI layers into one uncompressed pax tar of the final tree, written to a file
/// descriptor (typically a pipe into `mksquashfs - OUT -tar`), as `umoci unpack` run as
/// root would leave the tree on disk, without ever putting it on disk.
///
/// Always two passes, so what is written never depends on a guess:
/// 1. `index()` reads every layer once on worker threads (largest first; a layer still
///    downloading is read as it arrives), checks its size, digest and diff_id, and applies
///    the member headers bottom-up to an in-memory index (`Tree`: names and metadata, never
///    contents). The result says what the consumer must know before the stream starts: the
///    root's owner and mode, and the latest time in the tree.
/// 2. `write(_:toFileDescriptor:)` writes every directory from the index (parents first),
///    then reads each layer that contributes again, from the source pass 1 kept open, and
///    copies the members whose content survives straight to the output, each object once
///    under its first name followed by hard links for its other names.
///
/// Memory is bounded by the index (roughly a few hundred bytes per member) plus libarchive's
/// fixed buffers; file data is never held.
public final class LayerFlattener: Sendable {
    public let layers: [LayerInput]
    public let options: FlattenOptions
    /// Threads reading layers in pass 1.
    public let workers: Int

    public init(layers: [LayerInput], options: FlattenOptions, workers: Int = 2) {
        self.layers = layers
        self.options = options
        self.workers = max(1, workers)
    }

    /// Pass 1. Nothing is written. Throws a `RootfsError`, or the error a blob's opener or
    /// writer threw (a failed download).
    public func index() throws -> IndexedTree {
        let indexer = Indexer(options: options)
        let read = try LayerIndexer(layers: layers, options: options, workers: workers).run(into: indexer)
        for (index, entry) in options.synthetic.enumerated() {
            try indexer.apply(synthetic: entry, ref: EntryRef(layer: layers.count, ordinal: index))
        }
        var warnings = read.flatMap(\.warnings)
        let rootMetadata = indexer.tree.root.metadata
        let root = RootMetadata(
            mode: rootMetadata.mode, uid: rootMetadata.uid, gid: rootMetadata.gid, mtime: rootMetadata.mtime,
            droppedXattrNames: rootMetadata.xattrs.map(\.name))
        if !root.droppedXattrNames.isEmpty {
            warnings.append("xattrs on the root directory cannot be stored and were dropped: "
                + root.droppedXattrNames.joined(separator: ", "))
        }
        var probe: [UInt8]?
        if let probePath = options.probePath,
           let resolved = try? indexer.tree.resolve(Paths.clean(Array(probePath.utf8)), followLast: true) {
            probe = Paths.join(resolved)
        }
        return IndexedTree(
            plan: Plan(tree: indexer.tree, layerCount: layers.count + 1), root: root, latestTime: indexer.latestTime,
            layerSummaries: read.map(\.summary), warnings: warnings, probe: probe, sources: read.map(\.source))
    }

    /// Pass 2: writes the whole stream (ending with the tar trailer) to `fd`, which stays open
    /// and owned by the caller. On error, what was written is a prefix of nothing useful: the
    /// consumer must be told to fail (e.g. by closing the pipe and discarding its output).
    /// Every thrown error is a `RootfsError`. `observer` is offered every regular file of the
    /// final tree as it is written.
    @discardableResult
    public func write(_ indexed: IndexedTree, toFileDescriptor fd: Int32,
                      observer: (any ContentObserver)? = nil) throws(RootfsError) -> FlattenSummary {
        let clock = ContinuousClock()
        let plan = indexed.plan
        var layerSummaries = indexed.layerSummaries
        let emitter = try Emitter(fileDescriptor: fd, options: options, root: indexed.root)
        emitter.observer = observer
        emitter.probe = indexed.probe
        emitter.executableRank = plan.executableRank
        for directory in plan.directories {
            try emitter.writeDirectory(path: directory.path, metadata: directory.metadata)
        }
        let contributing = layers.indices.filter { !plan.items[$0].isEmpty }
        let meter = PassMeter(.stream, totalBytes: contributing.reduce(0) { $0 + layers[$1].size }, report: options.progress)
        for (index, layer) in layers.enumerated() {
            let items = plan.items[index]
            layerSummaries[index].emittedObjects = items.count
            guard !items.isEmpty else { continue }
            let start = clock.now
            // Pass 1 checked the digests of these bytes; a source whose bytes may have changed
            // since (a file the user owns) is hashed again, and the diff_id needs no second look.
            let stream = try LayerStream(layer, source: indexed.sources[index], imageName: options.imageName,
                                         hashBlob: !layer.blob.unchangedWhileOpen, hashTar: false,
                                         onBytesRead: meter.map { meter in { meter.add($0) } })
            var written = 0
            while let entry = try stream.next() {
                guard let item = items[stream.ordinal] else { continue }
                try emitter.write(item, source: entry, stream: stream)
                written += 1
            }
            _ = try stream.finish()
            guard written == items.count else {
                throw .layerChanged(image: options.imageName, layer: layer.digest.description, entry: nil,
                                    reason: "\(items.count - written) members seen in the first pass are missing")
            }
            layerSummaries[index].emitSeconds = seconds(clock.now - start)
        }
        for (ordinal, item) in plan.items[layers.count].sorted(by: { $0.key < $1.key }) {
            try emitter.write(item, synthetic: options.synthetic[ordinal])
        }
        try emitter.finish()

        var summary = emitter.summary
        summary.layers = layerSummaries
        summary.warnings = indexed.warnings + summary.warnings
        summary.latestTime = indexed.latestTime
        return summary
    }

    /// Both passes.
    @discardableResult
    public func write(toFileDescriptor fd: Int32, observer: (any ContentObserver)? = nil) throws -> FlattenSummary {
        try write(try index(), toFileDescriptor: fd, observer: observer)
    }
}

/// The result of pass 1: the final tree's plan, what its consumer must be started with, and
/// the layers' sources, kept open for pass 2.
public final class IndexedTree {
    let plan: Plan
    /// The root directory's metadata (a tar stream's `./` member does not set it in mksquashfs).
    public let root: RootMetadata
    /// The latest mtime in the output: what to give mksquashfs as SOURCE_DATE_EPOCH.
    public let latestTime: Int64
    public let layerSummaries: [LayerSummary]
    public let warnings: [String]
    let probe: [UInt8]?
    let sources: [any ByteSource]

    init(plan: Plan, root: RootMetadata, latestTime: Int64, layerSummaries: [LayerSummary], warnings: [String],
         probe: [UInt8]?, sources: [any ByteSource]) {
        self.plan = plan
        self.root = root
        self.latestTime = latestTime
        self.layerSummaries = layerSummaries
        self.warnings = warnings
        self.probe = probe
        self.sources = sources
    }
}
