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
/// writer already closed (and the process reused). A reader is a `Reader`, which owns its own
/// duplicate in turn.
public final class BlobArrival: Sendable {
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

    private struct Progress {
        var state = State.queued
        var published: Int64 = 0
        /// The furthest any reader was allowed to read.
        var handedOut: Int64 = 0
        var overwritten = false
        /// This run checked the blob's digest (downloading it, or re-hashing the cached copy).
        var downloadedHere = false
        var openedWhileWriting = false
        /// A reader holds a descriptor of the file being written now (a later `begin` replaces it).
        var readerHoldsCurrentFile = false
    }

    private let progress = WaitableState(Progress())

    /// A reader opened the blob before its download ended.
    var wasReadWhileWriting: Bool { progress.withLock { $0.openedWhileWriting } }

    init(digest: Digest, size: Int64, path: String) {
        self.digest = digest
        self.size = size
        self.path = path
    }

    deinit {
        progress.withLock { progress in
            if case let .writing(fd) = progress.state { close(fd) }
        }
    }

    // MARK: Reading

    /// The blob's bytes for one reader: its own descriptor (closed when the reader is
    /// released), read at the reader's offsets, each read waiting until the bytes are written.
    public final class Reader: Sendable {
        public let arrival: BlobArrival
        private let descriptor: Int32
        /// This run's download (or check of the cached copy) vouches for exactly these bytes;
        /// false for a blob found complete in the cache, which its reader must hash.
        public let verifiedByDownload: Bool

        fileprivate init(arrival: BlobArrival, descriptor: Int32, verifiedByDownload: Bool) {
            self.arrival = arrival
            self.descriptor = descriptor
            self.verifiedByDownload = verifiedByDownload
        }

        deinit { close(descriptor) }

        /// Fills `buffer` with the bytes at `offset`, waiting until they are written; fewer only
        /// where the blob ends. Whole buffers, as a regular file gives them: a decompressor
        /// expects a header in one piece, and fewer wake-ups cost less.
        public func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(DistributionError) -> Int {
            guard let base = buffer.baseAddress, offset < arrival.size else { return 0 }
            let wanted = offset + min(Int64(buffer.count), arrival.size - offset)
            var available = offset
            while available < wanted {
                let now = try arrival.readable(beyond: available)
                if now <= available { break }
                available = now
            }
            let length = Int(min(available, wanted) - offset)
            var done = 0
            while done < length {
                // The descriptor is shared with the writer (a duplicate): read at our own offset.
                let n = pread(descriptor, base + done, length - done, off_t(offset + Int64(done)))
                if n > 0 {
                    done += n
                } else if n == 0 {
                    break
                } else if errno != EINTR {
                    throw .io(operation: "read", path: arrival.path, errno: errno)
                }
            }
            return done
        }
    }

    /// A reader of the blob from its first byte, once its download has begun.
    public func openReader() throws(DistributionError) -> Reader {
        let (fd, verified) = try progress.wait { (progress) throws(DistributionError) -> (Int32, Bool)? in
            switch progress.state {
            case .queued:
                return nil
            case let .writing(fd):
                // The writer's own open file (the partial is renamed into place while we read),
                // shared: readers must use pread, as the writer uses pwrite.
                let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
                guard copy >= 0 else { throw .io(operation: "dup", path: path, errno: errno) }
                progress.openedWhileWriting = true
                progress.readerHoldsCurrentFile = true
                return (copy, true)
            case .verified:
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
                return (fd, progress.downloadedHere)
            case let .failed(error):
                throw error
            }
        }
        return Reader(arrival: self, descriptor: fd, verifiedByDownload: verified)
    }

    /// Blocks until more than `offset` bytes are written or the blob is complete; returns
    /// how many bytes may be read.
    public func readable(beyond offset: Int64) throws(DistributionError) -> Int64 {
        try progress.wait { (progress) throws(DistributionError) -> Int64? in
            switch progress.state {
            case let .failed(error):
                throw error
            case .verified:
                progress.handedOut = max(progress.handedOut, size)
                return size
            case .queued, .writing:
                guard progress.published > offset else { return nil }
                progress.handedOut = max(progress.handedOut, progress.published)
                return progress.published
            }
        }
    }

    /// Waits for the download to end. True when it verified and nothing handed to a reader
    /// was overwritten; throws the download's error.
    public func confirm() throws(DistributionError) -> Bool {
        try progress.wait { (progress) throws(DistributionError) -> Bool? in
            switch progress.state {
            case let .failed(error): throw error
            case .verified: return !progress.overwritten
            case .queued, .writing: return nil
            }
        }
    }

    /// True once done (verified or failed).
    var isDone: Bool {
        progress.withLock { progress in
            switch progress.state {
            case .verified, .failed: true
            case .queued, .writing: false
            }
        }
    }

    // MARK: Writing (the download thread)

    /// Writing (or checking) starts on `fd`, of which `offset` bytes are already there. A
    /// second `begin` means another file: whatever a reader got from the first is void.
    func begin(fd: Int32, offset: Int64) throws(DistributionError) {
        let own = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard own >= 0 else { throw .io(operation: "dup", path: path, errno: errno) }
        progress.update { progress in
            Self.closeOwnDescriptor(&progress)
            progress.state = .writing(fd: own)
            progress.downloadedHere = true
            if progress.handedOut > 0 || progress.readerHoldsCurrentFile { progress.overwritten = true }
            progress.readerHoldsCurrentFile = false
            progress.published = offset
        }
    }

    func publish(_ offset: Int64) {
        progress.update { $0.published = offset }
    }

    func truncated(to offset: Int64) {
        progress.update { progress in
            if offset < progress.handedOut { progress.overwritten = true }
            progress.published = min(progress.published, offset)
        }
    }

    /// The blob is complete, verified and in place.
    func verified() {
        progress.update { progress in
            Self.closeOwnDescriptor(&progress)
            progress.state = .verified
            progress.published = size
        }
    }

    func failed(_ error: DistributionError) {
        progress.update { progress in
            if case .verified = progress.state { return }
            Self.closeOwnDescriptor(&progress)
            progress.state = .failed(error)
        }
    }

    /// Under the lock.
    private static func closeOwnDescriptor(_ progress: inout Progress) {
        if case let .writing(fd) = progress.state {
            close(fd)
            progress.state = .queued
        }
    }
}
