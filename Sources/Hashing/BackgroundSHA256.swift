import Dispatch
import Foundation
import Synchronization

/// SHA-256 computed on a thread of its own: `update` copies the bytes into one of a few
/// reusable buffers and returns, so the hashing overlaps the caller's own work (the flattener
/// decompressing the next block) on another core. `finalize` waits for the thread.
public final class BackgroundSHA256: Sendable {
    private struct Queues {
        var free: [[UInt8]]
        var full: [[UInt8]] = []
        var finished = false
        var result: Result<SHA256Digest, HashingError>?
    }

    private let queues: Mutex<Queues>
    private let freeBuffers: DispatchSemaphore
    private let fullBuffers = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let bufferSize: Int

    public init(buffers: Int = 8, bufferSize: Int = 256 << 10) {
        self.bufferSize = bufferSize
        let free = (0..<buffers).map { _ in [UInt8](unsafeUninitializedCapacity: bufferSize) { _, count in count = 0 } }
        queues = Mutex(Queues(free: free))
        freeBuffers = DispatchSemaphore(value: buffers)
        let thread = Thread { [self] in run() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Hands `bytes` to the hashing thread (copied; waits only when every buffer is full).
    public func update(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            freeBuffers.wait()
            var buffer = queues.withLock { $0.free.removeLast() }
            let count = min(bufferSize, bytes.count - offset)
            buffer.removeAll(keepingCapacity: true)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
            queues.withLock { $0.full.append(buffer) }
            fullBuffers.signal()
            offset += count
        }
    }

    /// Waits for everything handed over to be hashed; returns the digest. Call once.
    public func finalize() throws(HashingError) -> SHA256Digest {
        queues.withLock { $0.finished = true }
        fullBuffers.signal()
        done.wait()
        guard let result = queues.withLock({ $0.result }) else { throw .fromOpenSSL("background hash") }
        return try result.get()
    }

    /// Lets the thread end without waiting for it (a read given up half way); idempotent, and
    /// harmless after `finalize`.
    public func abandon() {
        queues.withLock { $0.finished = true }
        fullBuffers.signal()
    }

    private func run() {
        defer { done.signal() }
        var hasher: SHA256Hasher
        do {
            hasher = try SHA256Hasher()
        } catch {
            // Keep draining, so that `update` never waits for a thread that stopped.
            drain()
            queues.withLock { $0.result = .failure(error as? HashingError ?? .fromOpenSSL("EVP_DigestInit")) }
            return
        }
        while true {
            fullBuffers.wait()
            guard let buffer = queues.withLock({ $0.full.isEmpty ? nil : $0.full.removeFirst() }) else { break }
            buffer.withUnsafeBytes { hasher.update($0) }
            queues.withLock { $0.free.append(buffer) }
            freeBuffers.signal()
        }
        let digest = hasher.finalize()
        queues.withLock { $0.result = .success(digest) }
    }

    private func drain() {
        while true {
            fullBuffers.wait()
            guard let buffer = queues.withLock({ $0.full.isEmpty ? nil : $0.full.removeFirst() }) else { return }
            queues.withLock { $0.free.append(buffer) }
            freeBuffers.signal()
        }
    }
}
