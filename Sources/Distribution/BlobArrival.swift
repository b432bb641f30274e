import Foundation
import OCISpec

/// One blob of a `BlobDownloads` batch, readable while it downloads.
///
/// The downloader publishes how far the partial file is written; a reader reads only that
/// far. A resumed download can still truncate what it wrote (a body that turned out to be an
/// error page, a server that ignored Range, resumed bytes that did not verify). Readers are
/// never told to stop then: the arrival remembers whether anything a reader may have read was
/// cut away, and `confirm()` says so, for the caller to read the verified blob again.
public final class BlobArrival: @unchecked Sendable {
    public let digest: Digest
    public let size: Int64
    /// Where the verified blob lives once complete.
    public let path: String

    private enum State {
        case queued
        case writing(fd: Int32)
        case verified
        case failed(DistributionError)
    }

    private let condition = NSCondition()
    private var state = State.queued
    private var published: Int64 = 0
    /// The furthest any reader was allowed to read.
    private var handedOut: Int64 = 0
    private var overwritten = false
    /// This run wrote the blob (rather than finding it in the cache).
    private var downloadedHere = false
    private var openedWhileWriting = false

    /// A reader opened the blob before its download ended.
    var wasReadWhileWriting: Bool {
        condition.lock()
        defer { condition.unlock() }
        return openedWhileWriting
    }

    init(digest: Digest, size: Int64, path: String) {
        self.digest = digest
        self.size = size
        self.path = path
    }

    // MARK: Reading

    /// A descriptor for reading the blob from its first byte, once its download has begun,
    /// and whether this run's download verifies (verified) exactly these bytes. A blob that
    /// was already in the cache is not: its reader must check it.
    public func openForReading() throws(DistributionError) -> (fd: Int32, verifiedByDownload: Bool) {
        condition.lock()
        defer { condition.unlock() }
        while case .queued = state { condition.wait() }
        switch state {
        case let .writing(fd):
            // The writer's own open file (the partial is renamed into place while we read),
            // shared: readers must use pread, as the writer uses pwrite.
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
            guard copy >= 0 else { throw .io(operation: "dup", path: path, errno: errno) }
            openedWhileWriting = true
            return (copy, true)
        case .verified:
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
            return (fd, downloadedHere)
        case let .failed(error):
            throw error
        case .queued:
            preconditionFailure("waited for the download to begin")
        }
    }

    /// Blocks until more than `offset` bytes are written or the blob is complete; returns
    /// how many bytes may be read.
    public func readable(beyond offset: Int64) throws(DistributionError) -> Int64 {
        condition.lock()
        defer { condition.unlock() }
        while true {
            switch state {
            case let .failed(error):
                throw error
            case .verified:
                handedOut = max(handedOut, size)
                return size
            case .queued, .writing:
                if published > offset {
                    handedOut = max(handedOut, published)
                    return published
                }
                condition.wait()
            }
        }
    }

    /// Waits for the download to end. True when it verified and nothing handed to a reader
    /// was overwritten; throws the download's error.
    public func confirm() throws(DistributionError) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while true {
            switch state {
            case let .failed(error): throw error
            case .verified: return !overwritten
            case .queued, .writing: condition.wait()
            }
        }
    }

    /// True once done (verified or failed).
    var isDone: Bool {
        condition.lock()
        defer { condition.unlock() }
        switch state {
        case .verified, .failed: return true
        case .queued, .writing: return false
        }
    }

    // MARK: Writing (the download thread)

    func begin(fd: Int32, offset: Int64) {
        update {
            state = .writing(fd: fd)
            downloadedHere = true
            truncate(to: offset)
            published = offset
        }
    }

    func publish(_ offset: Int64) {
        update { published = offset }
    }

    func truncated(to offset: Int64) {
        update { truncate(to: offset) }
    }

    /// The blob is complete, verified and in place.
    func verified() {
        update {
            state = .verified
            published = size
        }
    }

    func failed(_ error: DistributionError) {
        update {
            if case .verified = state { return }
            state = .failed(error)
        }
    }

    private func truncate(to offset: Int64) {
        if offset < handedOut { overwritten = true }
        published = min(published, offset)
    }

    private func update(_ body: () -> Void) {
        condition.lock()
        body()
        condition.broadcast()
        condition.unlock()
    }
}
