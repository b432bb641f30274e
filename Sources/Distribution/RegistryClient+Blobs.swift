import CurlHTTP
import Foundation
import OCISpec

/// Progress of one blob in `fetchBlobs`. Delivered on download threads.
public struct BlobProgress: Sendable, Hashable {
    public enum Event: Sendable, Hashable {
        /// Already in the cache; nothing downloaded.
        case cached
        /// Download (re)started at `completedBytes` (non-zero when resuming).
        case started
        /// More bytes arrived (reported about every MiB).
        case progress
        /// Verified and in the cache.
        case finished
    }

    public var digest: Digest
    public var event: Event
    public var completedBytes: Int64
    public var totalBytes: Int64
}

extension RegistryClient {
    /// Downloads blobs into `cache`, `options.parallelDownloads` at a time, each streamed to
    /// disk with its size and digest checked while it arrives. Blobs already cached are skipped
    /// (and marked used). A dropped connection resumes with `Range` from the bytes on disk,
    /// re-requesting the registry URL so that an expired redirect is replaced; a partial left
    /// by an earlier run is resumed too. The first failure stops the other downloads and is
    /// thrown; blobs finished by then stay in the cache.
    public func fetchBlobs(
        _ ref: ImageReference, _ descriptors: [Descriptor], into cache: BlobCache,
        progress: (@Sendable (BlobProgress) -> Void)? = nil
    ) throws(DistributionError) {
        try startBlobs(ref, descriptors, into: cache, progress: progress).wait()
    }

    /// Starts `fetchBlobs`'s work in the background, in the order given, and returns at once;
    /// each blob can be read while it arrives (`BlobDownloads.arrival(for:)`).
    public func startBlobs(
        _ ref: ImageReference, _ descriptors: [Descriptor], into cache: BlobCache,
        progress: (@Sendable (BlobProgress) -> Void)? = nil
    ) -> BlobDownloads {
        var seen = Set<Digest>()
        let work = descriptors.filter { seen.insert($0.digest).inserted }
        let arrivals = work.map { BlobArrival(digest: $0.digest, size: $0.size, path: cache.blobPath(for: $0.digest)) }
        let downloads = BlobDownloads(arrivals: arrivals)
        let queue = Locked(Array(zip(work, arrivals))[...])
        let workers = min(options.parallelDownloads, work.count)
        for _ in 0..<workers {
            downloads.group.enter()
            let thread = Thread { [self] in
                defer { downloads.group.leave() }
                do throws(DistributionError) {
                    let session = try makeSession()
                    while !downloads.isStopped, let (next, arrival) = queue.withLock({ $0.popFirst() }) {
                        do throws(DistributionError) {
                            try fetchBlob(ref, next, into: cache, session: session, arrival: arrival, progress: progress) {
                                downloads.isStopped
                            }
                        } catch {
                            arrival.failed(error)
                            throw error
                        }
                    }
                } catch {
                    downloads.record(error)
                }
            }
            // Big enough for curl and TLS; the default secondary-thread stack is 512 KiB on some systems.
            thread.stackSize = 4 << 20
            thread.start()
        }
        downloads.sealWhenDone()
        return downloads
    }

    /// One blob into the cache on this thread's session.
    func fetchBlob(
        _ ref: ImageReference, _ descriptor: Descriptor, into cache: BlobCache, session: Session,
        arrival: BlobArrival? = nil, progress: (@Sendable (BlobProgress) -> Void)?, isCancelled: @escaping () -> Bool
    ) throws(DistributionError) {
        let digest = descriptor.digest
        let total = descriptor.size
        if cache.path(for: digest) != nil {
            arrival?.verified()
            cache.markUsed(digest)
            progress?(BlobProgress(digest: digest, event: .cached, completedBytes: total, totalBytes: total))
            return
        }
        var downloaded = false
        do {
            _ = try ingest(ref, descriptor, into: cache, session: session, arrival: arrival, progress: progress,
                           isCancelled: isCancelled) { downloaded = true }
        } catch let .sizeMismatch(registry, _, _, expected, actual) where registry.isEmpty {
            throw .sizeMismatch(registry: ref.registry, repository: ref.repository, digest: digest, expected: expected, actual: actual)
        } catch let .digestMismatch(registry, _, what, expected, actual) where registry.isEmpty {
            throw .digestMismatch(registry: ref.registry, repository: ref.repository, what: what, expected: expected, actual: actual)
        }
        if !downloaded { cache.markUsed(digest) }
        progress?(BlobProgress(digest: digest, event: downloaded ? .finished : .cached, completedBytes: total, totalBytes: total))
    }

    private func ingest(
        _ ref: ImageReference, _ descriptor: Descriptor, into cache: BlobCache, session: Session,
        arrival: BlobArrival?, progress: (@Sendable (BlobProgress) -> Void)?, isCancelled: @escaping () -> Bool,
        onDownload: () -> Void
    ) throws(DistributionError) -> String {
        let digest = descriptor.digest
        let total = descriptor.size
        return try cache.ingest(digest, expectedSize: total, arrival: arrival) { writer throws(DistributionError) in
            onDownload()
            writer.isCancelled = isCancelled
            var reported: Int64 = 0
            writer.onWrite = { offset in
                if offset - reported >= 1 << 20 || offset == total {
                    reported = offset
                    progress?(BlobProgress(digest: digest, event: .progress, completedBytes: offset, totalBytes: total))
                }
            }
            // One restart from zero is allowed when resumed bytes turn out not to hash right
            // (a partial from a broken run, or an error page we could not tell from the body).
            var restartedClean = writer.offset == 0
            while true {
                try download(ref, descriptor, writer: writer, session: session, progress: progress)
                if writer.digest.hex == digest.hex { break }
                guard !restartedClean else {
                    let actual = (try? Digest(sha256Hex: writer.digest.hex)) ?? digest
                    try writer.reset()
                    throw .digestMismatch(registry: ref.registry, repository: ref.repository, what: "blob", expected: digest, actual: actual)
                }
                session.log("blob \(digest.short): resumed bytes do not verify; downloading again from the start")
                try writer.reset()
                restartedClean = true
            }
        }
    }

    /// Fills `writer` up to the descriptor's size, resuming after dropped connections.
    private func download(
        _ ref: ImageReference, _ descriptor: Descriptor, writer: BlobWriter, session: Session,
        progress: (@Sendable (BlobProgress) -> Void)?
    ) throws(DistributionError) {
        let total = descriptor.size
        var failures = 0
        var rangeUsable = true
        while writer.offset < total || (total == 0 && writer.offset == 0 && failures == 0) {
            var req = request(.get, ref, path: "/blobs/" + descriptor.digest.description, operation: "GET blob \(descriptor.digest.short)")
            let start = writer.offset
            if start > 0 {
                guard rangeUsable else { try writer.reset(); continue }
                req.rangeStart = start
            }
            progress?(BlobProgress(digest: descriptor.digest, event: .started, completedBytes: start, totalBytes: total))
            let response: Response
            do {
                response = try session.send(req, into: writer, resumable: true)
            } catch let .transport(registry, _, underlying) where Session.isRetryable(underlying) {
                failures += 1
                guard failures < options.maxAttempts else {
                    throw .transport(registry: registry, attempts: failures, underlying: underlying)
                }
                let delay = min(options.initialRetryDelay * pow(2, Double(failures - 1)), options.maxRetryDelay)
                session.log("blob \(descriptor.digest.short): \(underlying) at byte \(writer.offset) of \(total); resuming in \(Session.seconds(delay))")
                Thread.sleep(forTimeInterval: delay)
                continue
            }
            switch response.status {
            case 200 where start == 0:
                break
            case 200:
                // The server ignored Range and sent the whole blob from byte 0: start over.
                session.log("blob \(descriptor.digest.short): server ignored Range; downloading from the start")
                try writer.rollback()
                try writer.reset()
                rangeUsable = false
                continue
            case 206 where start > 0:
                guard let range = response.header("Content-Range"), Self.contentRangeStart(range) == start else {
                    try writer.rollback()
                    try writer.reset()
                    rangeUsable = false
                    continue
                }
            case 416 where start > 0:
                // Our offset is beyond what the server has: the partial is bad, start over.
                try writer.reset()
                rangeUsable = false
                continue
            default:
                try writer.rollback()
                try expect(response, [200, 206], req, notFound: "blob \(descriptor.digest)")
            }
            if writer.offset < total {
                // A clean end before the declared size (connection closed without error).
                failures += 1
                guard failures < options.maxAttempts else {
                    throw .sizeMismatch(registry: ref.registry, repository: ref.repository, digest: descriptor.digest,
                                        expected: total, actual: writer.offset)
                }
                continue
            }
            return
        }
    }

    /// `bytes 100-199/1000` → 100.
    static func contentRangeStart(_ value: String) -> Int64? {
        var text = Substring(value.trimmingCharacters(in: .whitespaces))
        if text.lowercased().hasPrefix("bytes") { text = text.dropFirst(5) }
        text = text.drop { $0 == " " || $0 == "=" }
        return Int64(text.prefix { $0.isNumber })
    }
}
