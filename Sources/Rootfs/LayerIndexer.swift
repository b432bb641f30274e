import ArchiveIO
import Dispatch
import Synchronization

/// Pass 1 of the flattener: every layer's member headers, read on worker threads (each layer
/// once, its digests checked), then applied bottom-up to one index.
struct LayerIndexer: Sendable {
    let layers: [LayerInput]
    let options: FlattenOptions
    /// Worker threads; layers are taken largest first.
    let workers: Int

    /// One layer, read: its headers in order, and the open source pass 2 reads again.
    struct ReadLayer: Sendable {
        var headers: [MemberHeader]
        var whiteouts: Int
        var summary: LayerSummary
        var warnings: [String]
        var source: any ByteSource
    }

    /// Reads every layer, then applies them in order. Throws the error of the lowest layer
    /// that failed (a `RootfsError`, or the error a blob's opener or writer threw).
    func run(into indexer: Indexer) throws -> [ReadLayer] {
        let order = layers.indices.sorted { layers[$0].size > layers[$1].size }
        let next = Atomic<Int>(0)
        let failed = Atomic<Bool>(false)
        let results = Mutex<[Result<ReadLayer, any Error>?]>(Array(repeating: nil, count: layers.count))
        let meter = PassMeter(.index, totalBytes: layers.reduce(0) { $0 + $1.size }, report: options.progress)
        DispatchQueue.concurrentPerform(iterations: max(1, min(workers, layers.count))) { _ in
            while !failed.load(ordering: .relaxed) {
                let taken = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard taken < order.count else { return }
                let index = order[taken]
                let result = Result { try read(layer: index, stop: failed, meter: meter) }
                if case .failure = result { failed.store(true, ordering: .relaxed) }
                results.withLock { $0[index] = result }
            }
        }
        let outcomes = results.withLock { $0 }
        var complete: [ReadLayer] = []
        for outcome in outcomes {
            // A layer left unread because another failed is not the error to report.
            guard let outcome else { continue }
            if case let .failure(error) = outcome, !(error is Stopped) { throw error }
            if case let .success(layer) = outcome { complete.append(layer) }
        }
        guard complete.count == layers.count else { throw Stopped() }
        for (index, layer) in complete.enumerated() {
            for (ordinal, header) in layer.headers.enumerated() {
                _ = try indexer.apply(header, ref: EntryRef(layer: index, ordinal: ordinal), layerDigest: layers[index].digest.description)
            }
        }
        return complete
    }

    /// Another worker failed: this one gave up its layer.
    struct Stopped: Error {}

    /// Reads one layer. A layer still downloading is read as it arrives and its writer
    /// vouches for it; if the writer then reports that bytes this read was given were replaced
    /// (a resumed download), the layer is read once more, from the complete blob, hashing it.
    /// Any other outcome of the first read stands, and the writer's failure explains it first.
    private func read(layer index: Int, stop: borrowing Atomic<Bool>, meter: PassMeter?) throws -> ReadLayer {
        let layer = layers[index]
        let opened: LayerBlob.Opened
        do {
            opened = try layer.blob.open()
        } catch let error as ArchiveError {
            throw RootfsError.unreadableLayer(image: options.imageName, layer: layer.digest.description, entry: nil,
                                              message: error.description)
        }
        let source = opened.source
        switch opened.verification {
        case .byReader:
            return try read(layer, index: index, from: source, hashBlob: true, stop: stop, meter: meter)
        case let .byWriter(confirm):
            let first = Result { try read(layer, index: index, from: source, hashBlob: false, stop: stop, meter: meter) }
            if case .failure(let error) = first, error is Stopped { throw error }
            guard try confirm() else {
                // Bytes already counted once: the second read is not progress.
                return try read(layer, index: index, from: source, hashBlob: true, stop: stop, meter: nil)
            }
            return try first.get()
        }
    }

    private func read(_ layer: LayerInput, index: Int, from source: any ByteSource, hashBlob: Bool,
                      stop: borrowing Atomic<Bool>, meter: PassMeter?) throws -> ReadLayer {
        let clock = ContinuousClock()
        let start = clock.now
        let stream = try LayerStream(layer, source: source, imageName: options.imageName, hashBlob: hashBlob, hashTar: true,
                                     onBytesRead: meter.map { meter in { meter.add($0) } })
        var headers: [MemberHeader] = []
        var whiteouts = 0
        while let entry = try stream.next() {
            if stop.load(ordering: .relaxed) { throw Stopped() }
            let header = MemberHeader(entry)
            if let name = Paths.clean(header.path).last, Paths.isWhiteout(name) { whiteouts += 1 }
            headers.append(header)
        }
        let totals = try stream.finish()
        let summary = LayerSummary(
            digest: layer.digest, compression: stream.filterNames, compressedBytes: totals.compressed,
            uncompressedBytes: totals.uncompressed, entries: headers.count, whiteouts: whiteouts,
            emittedObjects: 0, indexSeconds: seconds(clock.now - start), emitSeconds: 0)
        return ReadLayer(headers: headers, whiteouts: whiteouts, summary: summary,
                         warnings: stream.warnings.map { "layer \(layer.digest): \($0)" }, source: source)
    }
}

/// Counts the blob bytes one pass has read for `FlattenOptions.progress`, from any thread.
final class PassMeter: Sendable {
    private let pass: FlattenProgress.Pass
    private let totalBytes: Int64
    private let report: @Sendable (FlattenProgress) -> Void
    private let completed = Atomic<Int64>(0)

    /// Nil when nobody listens; otherwise reports the pass's start (nothing read yet).
    init?(_ pass: FlattenProgress.Pass, totalBytes: Int64, report: (@Sendable (FlattenProgress) -> Void)?) {
        guard let report else { return nil }
        self.pass = pass
        self.totalBytes = totalBytes
        self.report = report
        report(FlattenProgress(pass: pass, completedBytes: 0, totalBytes: totalBytes))
    }

    func add(_ count: Int) {
        let now = completed.wrappingAdd(Int64(count), ordering: .relaxed).newValue
        report(FlattenProgress(pass: pass, completedBytes: min(now, totalBytes), totalBytes: totalBytes))
    }
}

func seconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
}
