import ArchiveIO

/// Flattens OCI layers into one uncompressed pax tar of the final tree, written to a file
/// descriptor (typically a pipe into `mksquashfs - OUT -tar`), as `umoci unpack` run as
/// root would leave the tree on disk, without ever putting it on disk.
///
/// Two passes over the layers:
/// 1. every member header is applied to an in-memory index (`Tree`: names and metadata,
///    never contents), with blob size, digest and diff_id verified while reading, before
///    anything is written;
/// 2. every directory is written from the index (parents first), then each layer is read
///    again and the members whose content survives are copied straight to the output,
///    each object once under its first name followed by hard links for its other names.
///    Layers that contribute nothing are not read again. The blob digest is verified again,
///    so a blob swapped between the passes fails the run.
///
/// Memory is bounded by the index (roughly a few hundred bytes per path) plus libarchive's
/// fixed buffers; file data is never held.
///
/// `write(guess:toFileDescriptor:)` (see `OnePass`) reads each layer only once, and gives up
/// for these two passes where it cannot be sure to write the same tree.
public final class LayerFlattener {
    public let layers: [LayerInput]
    public let options: FlattenOptions

    public init(layers: [LayerInput], options: FlattenOptions) {
        self.layers = layers
        self.options = options
    }

    /// Runs pass 1: reads every layer's headers into the index and verifies every blob.
    /// Nothing is written; the result tells the root's metadata, which mksquashfs needs on
    /// its command line before the stream starts.
    public func prepare() throws(RootfsError) -> PreparedTree {
        let clock = ContinuousClock()
        let indexer = Indexer(options: options)
        var layerSummaries: [LayerSummary] = []
        var warnings: [String] = []

        for (index, layer) in layers.enumerated() {
            let start = clock.now
            let stream = try LayerStream(layer, imageName: options.imageName, checkDiffID: true)
            var whiteouts = 0
            while let entry = try stream.next() {
                if try indexer.apply(entry, ref: EntryRef(layer: index, ordinal: stream.ordinal), layerDigest: layer.digest) {
                    whiteouts += 1
                }
            }
            let totals = try stream.finish()
            warnings += stream.warnings.map { "layer \(layer.digest): \($0)" }
            layerSummaries.append(LayerSummary(
                digest: layer.digest, compression: stream.filterNames, compressedBytes: totals.compressed,
                uncompressedBytes: totals.uncompressed, entries: stream.ordinal + 1, whiteouts: whiteouts,
                emittedObjects: 0, indexSeconds: seconds(clock.now - start), emitSeconds: 0))
        }
        for (index, entry) in options.synthetic.enumerated() {
            try indexer.apply(synthetic: entry, ref: EntryRef(layer: layers.count, ordinal: index))
        }

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
        return PreparedTree(
            plan: Plan(tree: indexer.tree, layerCount: layers.count + 1), root: root, latestTime: indexer.latestTime,
            layerSummaries: layerSummaries, warnings: warnings, probe: probe)
    }

    /// Runs pass 2 for a prepared tree: writes the whole stream (ending with the tar trailer)
    /// to `fd`, which stays open and owned by the caller. On error, what was written is a
    /// prefix of nothing useful: the consumer must be told to fail (e.g. by closing the pipe
    /// and discarding its output). Every thrown error is a `RootfsError`.
    @discardableResult
    public func write(_ prepared: PreparedTree, toFileDescriptor fd: Int32) throws(RootfsError) -> FlattenSummary {
        let clock = ContinuousClock()
        let plan = prepared.plan
        var layerSummaries = prepared.layerSummaries
        let emitter = try Emitter(fileDescriptor: fd, options: options, root: prepared.root)
        emitter.probe = prepared.probe
        for directory in plan.directories {
            try emitter.writeDirectory(path: directory.path, metadata: directory.metadata)
        }
        for (index, layer) in layers.enumerated() {
            let items = plan.items[index]
            layerSummaries[index].emittedObjects = items.count
            guard !items.isEmpty else { continue }
            let start = clock.now
            // diff_id was proven in pass 1; the blob digest alone shows the bytes are the same.
            let stream = try LayerStream(layer, imageName: options.imageName, checkDiffID: false)
            var written = 0
            while let entry = try stream.next() {
                guard let item = items[stream.ordinal] else { continue }
                try emitter.write(item, source: entry, stream: stream)
                written += 1
            }
            _ = try stream.finish()
            guard written == items.count else {
                throw .layerChanged(image: options.imageName, layer: layer.digest, entry: nil,
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
        summary.warnings = prepared.warnings + summary.warnings
        summary.latestTime = prepared.latestTime
        return summary
    }

    /// Both passes: `prepare()` then `write(_:toFileDescriptor:)`.
    @discardableResult
    public func write(toFileDescriptor fd: Int32) throws(RootfsError) -> FlattenSummary {
        try write(try prepare(), toFileDescriptor: fd)
    }

    private func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

/// The result of pass 1: the final tree's plan and the root's metadata.
public final class PreparedTree: @unchecked Sendable {
    let plan: Plan
    public let root: RootMetadata
    /// The latest mtime in the output: what to give mksquashfs as SOURCE_DATE_EPOCH.
    public let latestTime: Int64
    let layerSummaries: [LayerSummary]
    let warnings: [String]
    let probe: [UInt8]?

    init(plan: Plan, root: RootMetadata, latestTime: Int64, layerSummaries: [LayerSummary], warnings: [String], probe: [UInt8]?) {
        self.plan = plan
        self.root = root
        self.latestTime = latestTime
        self.layerSummaries = layerSummaries
        self.warnings = warnings
        self.probe = probe
    }
}
