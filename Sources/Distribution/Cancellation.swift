import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A flag that stops a batch of transfers, and wakes every thread waiting out a retry delay
/// at once (a cancelled batch must not sleep out its backoff).
///
/// The wake-up is a pipe: `cancel()` writes one byte that nobody reads, so the read end
/// stays readable and every `wait` — current or later — returns at once.
final class Cancellation: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let readEnd: Int32
    private let writeEnd: Int32

    init() {
        var ends: [Int32] = [-1, -1]
        if !openPipe(&ends, nonBlocking: true) { ends = [-1, -1] }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        if readEnd >= 0 { close(readEnd) }
        if writeEnd >= 0 { close(writeEnd) }
    }

    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    func cancel() {
        guard !cancelled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        if writeEnd >= 0 { _ = write(writeEnd, &byte, 1) }
    }

    /// Sleeps `seconds` unless cancelled first; true when cancelled.
    func wait(_ seconds: Double) -> Bool {
        let end = Monotonic.now + max(0, seconds)
        while !isCancelled {
            let left = end - Monotonic.now
            if left <= 0 { return false }
            if readEnd < 0 {
                // No pipe (descriptors exhausted): wake up often enough to notice.
                usleep(UInt32(min(left, 0.05) * 1e6))
                continue
            }
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, Int32(min(left * 1000, 60_000).rounded(.up)))
        }
        return true
    }

    /// A plain sleep when there is nothing to cancel it; true when cancelled.
    static func sleep(_ seconds: Double, unless cancellation: Cancellation?) -> Bool {
        if let cancellation { return cancellation.wait(seconds) }
        let end = Monotonic.now + max(0, seconds)
        while true {
            let left = end - Monotonic.now
            if left <= 0 { return false }
            usleep(UInt32(min(left, 1) * 1e6))
        }
    }
}

/// Seconds on a clock that never jumps (deadlines and backoff, not dates).
enum Monotonic {
    static var now: Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// pipe(2) with both ends close-on-exec (Glibc's Swift module has no pipe2).
func openPipe(_ ends: inout [Int32], nonBlocking: Bool = false) -> Bool {
    guard pipe(&ends) == 0 else { return false }
    for fd in ends {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        if nonBlocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }
    return true
}
