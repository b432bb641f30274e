import Dispatch
import Synchronization

/// A value under a `Mutex` that threads can wait on until it reaches some state: what a
/// condition variable gives, with the compiler checking who touches the value. `update`
/// wakes every waiter, which looks again.
final class WaitableState<Value>: Sendable {
    private struct Guarded {
        var value: Value
        var waiters: [DispatchSemaphore] = []
    }

    private let guarded: Mutex<Guarded>

    init(_ value: sending Value) { guarded = Mutex(Guarded(value: value)) }

    /// Reads or changes the value without waking anyone.
    func withLock<T, E: Error>(_ body: (inout sending Value) throws(E) -> sending T) throws(E) -> T {
        try guarded.withLock { (guarded: inout sending Guarded) throws(E) -> sending T in try body(&guarded.value) }
    }

    /// Changes the value and wakes every waiter.
    func update<T>(_ body: (inout sending Value) -> sending T) -> T {
        let (result, waiters) = guarded.withLock { (guarded: inout sending Guarded) -> sending (T, [DispatchSemaphore]) in
            let result = body(&guarded.value)
            let waiters = guarded.waiters
            guarded.waiters = []
            return (result, waiters)
        }
        for waiter in waiters { waiter.signal() }
        return result
    }

    /// Calls `body` under the lock until it returns a result, waiting for an `update` between
    /// calls. A semaphore registered under the lock cannot miss the update that follows.
    func wait<T, E: Error>(until body: (inout sending Value) throws(E) -> sending T?) throws(E) -> T {
        while true {
            let semaphore = DispatchSemaphore(value: 0)
            let found = try guarded.withLock { (guarded: inout sending Guarded) throws(E) -> sending T? in
                if let result = try body(&guarded.value) { return result }
                guarded.waiters.append(semaphore)
                return nil
            }
            if let found { return found }
            semaphore.wait()
        }
    }
}
