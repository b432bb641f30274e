import Foundation
import OCISpec

/// Blobs downloading in the background (`RegistryClient.startBlobs`), each readable while it
/// arrives. The first failure stops the others; `wait()` throws it.
public final class BlobDownloads: Sendable {
    let group = DispatchGroup()
    private let arrivals: [Digest: BlobArrival]
    private let failure = Locked<DistributionError?>(nil)
    /// Fired by `cancel()` and by the first failure: stops transfers and ends retry waits.
    let cancellation = Cancellation()
    private let started = DispatchTime.now()
    private let finished = Locked<DispatchTime?>(nil)

    init(arrivals: [BlobArrival]) {
        var byDigest: [Digest: BlobArrival] = [:]
        for arrival in arrivals { byDigest[arrival.digest] = arrival }
        self.arrivals = byDigest
    }

    /// The blob `digest`, as it arrives.
    public func arrival(for digest: Digest) -> BlobArrival? { arrivals[digest] }

    /// How many blobs a reader opened while they were still being written.
    public var readWhileDownloading: Int { arrivals.values.filter(\.wasReadWhileWriting).count }

    /// True once a download failed or `cancel()` was called: no new blob is started.
    var isStopped: Bool { cancellation.isCancelled }

    /// Stops starting new blobs and interrupts the ones under way, waits for a retry
    /// included (their partial files stay for a later run to resume).
    public func cancel() {
        cancellation.cancel()
    }

    /// Waits for every download; throws the first failure (not the cancellations it caused).
    public func wait() throws(DistributionError) {
        group.wait()
        settle()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Called once every worker has been started: when they are all done, a blob never
    /// started (the batch stopped first) must not leave a reader waiting.
    func sealWhenDone() {
        group.notify(queue: .global()) { [self] in settle() }
    }

    /// Wall time from the start of the batch until its last download ended (so far).
    public var seconds: Double {
        let end = finished.withLock { $0 } ?? DispatchTime.now()
        return Double(end.uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
    }

    private func settle() {
        finished.withLock { if $0 == nil { $0 = DispatchTime.now() } }
        let error = failure.withLock { $0 }
        for arrival in arrivals.values where !arrival.isDone {
            arrival.failed(error ?? .cancelled)
        }
    }

    func record(_ error: DistributionError) {
        failure.withLock { current in
            if current == nil || { if case .cancelled = current! { return true } else { return false } }() {
                current = error
            }
        }
        cancellation.cancel()
    }
}
