import CurlHTTP
import Foundation
import Hashing
import OCISpec
#if canImport(Glibc)
import Glibc
#endif

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
                    let session = try makeSession(cancellation: downloads.cancellation)
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

    /// One blob into the cache on this thread's session. A blob already in the cache is
    /// checked first (size, then digest, readers following the hash as they follow a
    /// download): a cache restored by CI, a disk error or a stray edit must not make every
    /// later build fail. One that fails is removed with a warning and downloaded again.
    func fetchBlob(
        _ ref: ImageReference, _ descriptor: Descriptor, into cache: BlobCache, session: Session,
        arrival: BlobArrival? = nil, progress: (@Sendable (BlobProgress) -> Void)?, isCancelled: @escaping () -> Bool
    ) throws(DistributionError) {
        let digest = descriptor.digest
        let total = descriptor.size
        var damage: (path: String, problem: String)?
        // Twice at most: another run may store the blob while we wait for its lock, and that
        // copy is checked like any cached one.
        for _ in 0..<2 {
            switch try checkCached(descriptor, in: cache, arrival: arrival, isCancelled: isCancelled) {
            case .intact:
                arrival?.verified()
                cache.markUsed(digest)
                progress?(BlobProgress(digest: digest, event: .cached, completedBytes: total, totalBytes: total))
                return
            case let .damaged(problem, device, inode):
                let path = cache.blobPath(for: digest)
                warn("blob cache \(path): the cached blob \(problem); removed it, fetching it again")
                try cache.discard(digest, device: device, inode: inode)
                damage = (path, problem)
            case .absent:
                break
            }
            do {
                let wrote = try ingest(ref, descriptor, into: cache, session: session, arrival: arrival, progress: progress,
                                       isCancelled: isCancelled)
                if wrote {
                    progress?(BlobProgress(digest: digest, event: .finished, completedBytes: total, totalBytes: total))
                    return
                }
            } catch let .sizeMismatch(registry, _, _, expected, actual) where registry.isEmpty {
                throw refetchFailed(damage, .sizeMismatch(registry: ref.registry, repository: ref.repository, digest: digest,
                                                          expected: expected, actual: actual))
            } catch let .digestMismatch(registry, _, what, expected, actual) where registry.isEmpty {
                throw refetchFailed(damage, .digestMismatch(registry: ref.registry, repository: ref.repository, what: what,
                                                            expected: expected, actual: actual))
            } catch {
                throw refetchFailed(damage, error)
            }
        }
        throw .cache(path: cache.blobPath(for: digest), reason: "the blob keeps being replaced while it is checked")
    }

    private func refetchFailed(_ damage: (path: String, problem: String)?, _ error: DistributionError) -> DistributionError {
        guard let damage, !{ if case .cancelled = error { true } else { false } }() else { return error }
        return .damagedCacheBlob(path: damage.path, problem: damage.problem, refetch: error)
    }

    enum CachedBlob {
        case absent
        case intact
        case damaged(problem: String, device: UInt64, inode: UInt64)
    }

    /// Size from fstat, then a sha256 pass publishing each checked MiB to `arrival`, so the
    /// layer's reader runs behind the check and need not hash the blob itself. Measured here:
    /// the same single pass the reader used to make, moved onto the download thread.
    func checkCached(_ descriptor: Descriptor, in cache: BlobCache, arrival: BlobArrival?, isCancelled: () -> Bool)
        throws(DistributionError) -> CachedBlob
    {
        let path = cache.blobPath(for: descriptor.digest)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return .absent }
            throw .io(operation: "open", path: path, errno: errno)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(operation: "fstat", path: path, errno: errno) }
        let (device, inode) = (UInt64(info.st_dev), UInt64(info.st_ino))
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .damaged(problem: "is not a regular file", device: device, inode: inode) }
        guard Int64(info.st_size) == descriptor.size else {
            return .damaged(problem: "is \(info.st_size) bytes, expected \(descriptor.size)", device: device, inode: inode)
        }
        try arrival?.begin(fd: fd, offset: 0)
        var hasher: SHA256Hasher
        do { hasher = try SHA256Hasher() } catch { throw .cache(path: path, reason: "\(error)") }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var done: Int64 = 0
        while done < descriptor.size {
            if isCancelled() { throw .cancelled }
            let n = pread(fd, buffer.baseAddress, Int(min(Int64(buffer.count), descriptor.size - done)), off_t(done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let reason = n == 0 ? "ends early" : String(cString: strerror(errno))
                return .damaged(problem: "cannot be read (\(reason))", device: device, inode: inode)
            }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            done += Int64(n)
            arrival?.publish(done)
        }
        let actual = hasher.finalize()
        guard actual.hex == descriptor.digest.hex else {
            return .damaged(problem: "has digest sha256:\(actual.hex), not \(descriptor.digest)", device: device, inode: inode)
        }
        return .intact
    }

    /// Downloads into the cache; false when another run stored the blob meanwhile.
    private func ingest(
        _ ref: ImageReference, _ descriptor: Descriptor, into cache: BlobCache, session: Session,
        arrival: BlobArrival?, progress: (@Sendable (BlobProgress) -> Void)?, isCancelled: @escaping () -> Bool
    ) throws(DistributionError) -> Bool {
        let digest = descriptor.digest
        let total = descriptor.size
        return try cache.ingest(digest, expectedSize: total, arrival: arrival) { writer throws(DistributionError) in
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
        }.wrote
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
                try session.pause(delay)
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
