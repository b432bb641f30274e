import Foundation
import OCISpec

/// One blob of a `BlobDownloads` batch, readable while it downloads (or, for a blob found in
/// the cache, while its digest is checked).
///
/// The downloader publishes how far the partial file is written (or hashed); a reader reads
/// only that far. A resumed download can still truncate what it wrote (a body that turned out
/// to be an error page, a server that ignored Range, resumed bytes that did not verify), and a
/// cached blob that fails its check is replaced by a download. Readers are never told to stop
/// then: the arrival remembers whether anything a reader may have read was cut away or came
/// from a replaced file, and `confirm()` says so, for the caller to read the verified blob again.
///
/// The file being written is reached through the arrival's own duplicate of its descriptor,
/// made and closed under the lock: a reader's duplicate can never hit a descriptor number the
/// writer already closed (and the process reused).
public final class BlobArrival: @unchecked Sendable {
    // @unchecked: every mutable field is read and written under `condition`.
    public let digest: Digest
    public let size: Int64
    /// Where the verified blob lives once complete.
    public let path: String

    private enum State {
        case queued
        /// `fd` is the arrival's own duplicate, closed when the state moves on.
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
    /// This run checked the blob's digest (downloading it, or re-hashing the cached copy).
    private var downloadedHere = false
    private var openedWhileWriting = false
    /// A reader holds a descriptor of the file being written now (a later `begin` replaces it).
    private var readerHoldsCurrentFile = false

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

    deinit {
        if case let .writing(fd) = state { close(fd) }
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
            readerHoldsCurrentFile = true
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

    /// Writing (or checking) starts on `fd`, of which `offset` bytes are already there. A
    /// second `begin` means another file: whatever a reader got from the first is void.
    func begin(fd: Int32, offset: Int64) throws(DistributionError) {
        let own = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard own >= 0 else { throw .io(operation: "dup", path: path, errno: errno) }
        update {
            closeOwnDescriptor()
            state = .writing(fd: own)
            downloadedHere = true
            if handedOut > 0 || readerHoldsCurrentFile { overwritten = true }
            readerHoldsCurrentFile = false
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
            closeOwnDescriptor()
            state = .verified
            published = size
        }
    }

    func failed(_ error: DistributionError) {
        update {
            if case .verified = state { return }
            closeOwnDescriptor()
            state = .failed(error)
        }
    }

    /// Under the lock.
    private func closeOwnDescriptor() {
        if case let .writing(fd) = state {
            close(fd)
            state = .queued
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
