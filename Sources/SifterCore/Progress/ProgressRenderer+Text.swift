import Distribution
import OCISpec

/// The blobs of one run's downloads, as their progress reports arrive.
struct DownloadTally {
    enum Phase { case pending, cached, active, finished }

    struct Blob {
        var total: Int64
        var completed: Int64 = 0
        var phase = Phase.pending
    }

    private(set) var blobs: [Digest: Blob] = [:]
    /// First seen first.
    private(set) var order: [Digest] = []
    /// The image's layers, once it is resolved.
    private(set) var expected: Set<Digest>?
    /// Downloads of an image's layers, which begin before the image is resolved: they are
    /// complete only once it is and all its layers have arrived.
    var endsWithImage = false
    /// Some blob is being downloaded (not only found in the cache).
    private(set) var started = false
    /// Bytes received in this run (a resumed download's earlier bytes and cached blobs excluded).
    private(set) var transferred: Int64 = 0

    mutating func expect(_ layers: [(digest: Digest, size: Int64)]) {
        expected = Set(layers.map(\.digest))
        for layer in layers where blobs[layer.digest] == nil {
            blobs[layer.digest] = Blob(total: layer.size)
            order.append(layer.digest)
        }
    }

    mutating func record(_ digest: Digest, _ event: BlobProgress.Event, completed: Int64, total: Int64) {
        if blobs[digest] == nil { order.append(digest) }
        var blob = blobs[digest] ?? Blob(total: total)
        blob.total = total
        switch event {
        case .cached:
            blob.phase = .cached
            blob.completed = total
        case .started:
            blob.phase = .active
            blob.completed = completed
            started = true
        case .progress:
            transferred += max(0, completed - blob.completed)
            blob.completed = completed
            blob.phase = .active
            started = true
        case .finished:
            transferred += max(0, total - blob.completed)
            blob.completed = total
            blob.phase = .finished
        }
        blobs[digest] = blob
    }

    var completed: Int64 { blobs.values.reduce(0) { $0 + $1.completed } }
    var total: Int64 { blobs.values.reduce(0) { $0 + $1.total } }
    /// The total, once every blob to come is known.
    var totalIfKnown: Int64? { !endsWithImage || expected != nil ? total : nil }
    var cachedCount: Int { blobs.values.filter { $0.phase == .cached }.count }
    var arrivedCount: Int { blobs.values.filter { $0.phase == .cached || $0.phase == .finished }.count }
    var active: [(digest: Digest, blob: Blob)] { order.compactMap { digest in blobs[digest].flatMap { $0.phase == .active ? (digest, $0) : nil } } }

    var complete: Bool {
        guard !blobs.isEmpty, blobs.values.allSatisfy({ $0.phase == .cached || $0.phase == .finished }) else { return false }
        return !endsWithImage || expected != nil
    }
}

extension ProgressRenderer {
    /// The log's line when a stage starts.
    func startText(_ running: Running, downloads: DownloadTally) -> String {
        let total = running.total.map(ByteCount.text)
        switch running.stage {
        case .download:
            guard let total else { return "started" }
            let cached = downloads.cachedCount
            let layers = downloads.endsWithImage ? " in \(downloads.blobs.count) layers" : ""
            return total + layers + (cached > 0 ? " (\(cached) in the cache)" : "")
        case .index: return "reading \(total ?? "the layers") into the index of the tree"
        case .stream: return "\(total ?? "the layers") of layers into mksquashfs"
        case .sif: return "writing the header, provenance and integrity record"
        case .hash: return "sha256 of \(running.detail ?? "the file")"
        case .upload: return running.detail ?? "started"
        }
    }

    /// The terminal's live line, after the stage's label.
    func liveText(_ running: Running, downloads: DownloadTally, time: Double) -> String {
        let elapsed = ProgressText.duration(time - running.started)
        guard running.countsBytes else { return [running.detail, elapsed].compactMap { $0 }.joined(separator: "  ") }
        var parts: [String]
        let rate = running.window.bytesPerSecond
        if let total = running.total {
            parts = ["\(ByteCount.text(running.completed)) / \(ByteCount.text(total))",
                     "\(ProgressText.percent(running.completed, of: total))%"]
            if let rate {
                parts.append(ProgressText.rate(rate))
                if rate > 0, running.completed < total {
                    parts.append("ETA " + ProgressText.duration(Double(total - running.completed) / rate))
                }
            }
        } else {
            parts = [ByteCount.text(running.completed)] + (rate.map { [ProgressText.rate($0)] } ?? [])
        }
        if running.stage == .download {
            parts.append("layers \(downloads.arrivedCount)/\(downloads.blobs.count)")
            parts += downloads.active.prefix(3).map { "\($0.digest.hex.prefix(12)) \(ProgressText.percent($0.blob.completed, of: $0.blob.total))%" }
        } else {
            parts.append(elapsed)
        }
        return parts.joined(separator: "  ")
    }

    /// The log's periodic line: `stream: 41% of 323.0 MiB, 24 s`.
    func logText(_ running: Running, time: Double) -> String {
        let elapsed = ProgressText.duration(time - running.started)
        guard running.countsBytes else { return "\(running.detail ?? "running"), \(elapsed)" }
        guard let total = running.total else { return "\(ByteCount.text(running.completed)), \(elapsed)" }
        return "\(ProgressText.percent(running.completed, of: total))% of \(ByteCount.text(total)), \(elapsed)"
    }

    /// The line a stage leaves when it ends.
    func endText(_ running: Running, downloads: DownloadTally, time: Double) -> String {
        let seconds = time - running.started
        let bytes: Int64? = running.countsBytes ? running.moved : (running.stage == .upload ? running.total : nil)
        guard let bytes else { return "done in \(ProgressText.duration(seconds))" }
        var text = "done, \(ByteCount.text(bytes)) in \(ProgressText.duration(seconds))"
        if seconds > 0 { text += " (\(ProgressText.rate(Double(bytes) / seconds)))" }
        if running.stage == .download, downloads.cachedCount > 0 {
            text += "; \(downloads.cachedCount) of \(downloads.blobs.count) layers were in the cache"
        }
        return text
    }
}
