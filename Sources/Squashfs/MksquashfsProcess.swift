import Foundation
import Synchronization

/// A running `mksquashfs - OUT -tar …`: the caller writes an uncompressed tar stream to
/// `input` and calls `finish()`. stderr is drained on its own thread so that a chatty
/// mksquashfs can never block the pipeline; its tail becomes the error message.
public final class MksquashfsProcess {
    /// What runs: the executable and its arguments (a user-namespace wrapper included).
    public let executable: String
    public let arguments: [String]
    /// mksquashfs's own arguments and the environment variables that change its output.
    public let mksquashfsArguments: [String]
    public let outputEnvironment: [String: String]
    /// The file being written, for messages.
    public let output: String
    private let process = Process()
    private let stdinPipe = Pipe()
    private let stderrPipe = Pipe()
    private let stderrTail = StderrTail()
    private let exited = ExitSignal()
    private var inputClosed = false

    /// Starts mksquashfs writing `output` with the partition at `offset` and `root` as the
    /// root directory. How the root gets its owner depends on `version` (see
    /// `MksquashfsVersion.setsRootOwnerAndTimeInTarMode`): before 4.6 mksquashfs runs in a
    /// user namespace whose only user is the image's root owner, or fails clearly if it cannot.
    public init(output: String, offset: Int64, options: MksquashfsOptions, root: SquashfsRoot,
                version: MksquashfsVersion) throws(SquashfsError) {
        let mksquashfs = try Self.resolve(options.executable)
        let squashArguments = try options.arguments(output: output, offset: offset, root: root)
        self.output = output
        mksquashfsArguments = squashArguments
        outputEnvironment = ["SOURCE_DATE_EPOCH": String(root.time)]
        if !version.setsRootOwnerAndTimeInTarMode, (root.uid, root.gid) != (getuid(), getgid()) {
            guard let unshare = Self.userNamespaceRunner else {
                throw .rootOwnerUnavailable(version: version.text, uid: root.uid, gid: root.gid,
                                            reason: "user namespaces are not available to this process (unshare --user failed)")
            }
            executable = unshare
            arguments = ["--user", "--map-user=\(root.uid)", "--map-group=\(root.gid)", "--", mksquashfs] + squashArguments
        } else {
            executable = mksquashfs
            arguments = squashArguments
        }
        // mksquashfs must die with sifter, SIGKILL included (it would otherwise finish writing
        // a temporary file nobody will rename): setpriv sets PR_SET_PDEATHSIG before it execs,
        // which Foundation's Process cannot do.
        if let setpriv = Self.deathSignalRunner {
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment.merge(outputEnvironment) { _, ours in ours }
        process.environment = environment
        process.standardInput = stdinPipe
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderrPipe
        process.terminationHandler = { [exited] _ in exited.signal() }
        do {
            try LauncherThread.shared.run { [process] in try process.run() }
        } catch {
            throw .launchFailed(executable: executable, reason: String(describing: error))
        }
        // The parent must not keep the read end open, or mksquashfs never sees end of input
        // if the writer dies.
        try? stdinPipe.fileHandleForReading.close()
        // A 1 MiB pipe instead of 64 KiB: fewer wake-ups of either side (best effort).
        // F_SETPIPE_SZ (Linux's 1024 + 7) is not exported to Swift.
        let setPipeSize: Int32 = 1031
        _ = fcntl(stdinPipe.fileHandleForWriting.fileDescriptor, setPipeSize, 1 << 20)
        stderrTail.drain(stderrPipe.fileHandleForReading)
    }

    /// The write end of mksquashfs's stdin.
    public var input: Int32 { stdinPipe.fileHandleForWriting.fileDescriptor }

    /// Closes stdin (end of the tar stream), waits, and reports a failure with mksquashfs's message.
    public func finish() throws(SquashfsError) {
        closeInput()
        exited.wait()
        stderrTail.wait()
        if let failure = exitFailure() { throw failure }
    }

    /// Called after writing the stream failed. When mksquashfs stopped reading (it failed: a
    /// full disk, a stream it refused), it has exited or is exiting: its own failure is the
    /// cause, returned here. Otherwise (the failure was upstream) it is stopped and nil is
    /// returned. Its partial output is the caller's to remove.
    public func stop(consumerSuspected: Bool) -> SquashfsError? {
        closeInput()
        if consumerSuspected {
            // Bounded: a consumer that keeps running after its input broke is stopped below.
            for _ in 0..<100 where process.isRunning { usleep(50_000) }
        }
        if process.isRunning { process.terminate() }
        exited.wait()
        stderrTail.wait()
        return consumerSuspected ? exitFailure() : nil
    }

    private func exitFailure() -> SquashfsError? {
        let message = stderrText
        switch process.terminationReason {
        case .exit where process.terminationStatus == 0:
            return nil
        case .exit:
            return .failed(executable: executable, status: process.terminationStatus, output: output, message: message)
        default:
            return .killed(executable: executable, signal: process.terminationStatus, message: message)
        }
    }

    public var stderrText: String {
        let text = String(decoding: stderrTail.bytes, as: UTF8.self)
        // mksquashfs reports a tar stream's leading `./` as an empty name; it is harmless.
        return text.split(separator: "\n").filter { !$0.contains("Empty tar filename") }.joined(separator: "\n")
    }

    private func closeInput() {
        guard !inputClosed else { return }
        inputClosed = true
        try? stdinPipe.fileHandleForWriting.close()
    }

    /// `unshare`, when this process may create a user namespace (Debian allows it by default;
    /// Ubuntu 24.04's AppArmor policy and some container runtimes forbid it).
    static let userNamespaceRunner: String? = {
        guard let unshare = try? resolve("unshare") else { return nil }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: unshare)
        probe.arguments = ["--user", "--map-root-user", "--", "/bin/true"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return nil }
        probe.waitUntilExit()
        return probe.terminationStatus == 0 ? unshare : nil
    }()

    /// `setpriv` (util-linux), when it can set the parent-death signal (`--pdeathsig`).
    static let deathSignalRunner: String? = {
        guard let setpriv = try? resolve("setpriv") else { return nil }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: setpriv)
        probe.arguments = ["--pdeathsig", "KILL", "--", "/bin/true"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return nil }
        probe.waitUntilExit()
        return probe.terminationStatus == 0 ? setpriv : nil
    }()

    /// Finds `name` on PATH unless it is a path already.
    static func resolve(_ name: String) throws(SquashfsError) -> String {
        if name.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: name) else { throw .notFound(executable: name) }
            return name
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let directories: [String] = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        for directory in directories {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw .notFound(executable: name)
    }

    /// `mksquashfs -version`'s version, probed once per build: what the build may rely on in
    /// tar mode depends on it, and provenance records it.
    public static func version(executable name: String = "mksquashfs") throws(SquashfsError) -> MksquashfsVersion {
        let executable = try resolve(name)
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-version"]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw .launchFailed(executable: executable, reason: String(describing: error))
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let firstLine = String(decoding: data, as: UTF8.self).split(separator: "\n").first ?? ""
        let words = firstLine.split(separator: " ")
        guard let index = words.firstIndex(of: "version"), index + 1 < words.count,
              let version = MksquashfsVersion(String(words[index + 1])) else {
            throw .failed(executable: executable, status: process.terminationStatus, output: nil,
                          message: "unrecognised version output \"\(firstLine)\"")
        }
        return version
    }
}

/// The last 16 KiB mksquashfs wrote on stderr, drained on a thread of its own so that a chatty
/// mksquashfs never blocks.
final class StderrTail: Sendable {
    private let tail = Mutex<[UInt8]>([])
    private let done = DispatchSemaphore(value: 0)

    var bytes: [UInt8] { tail.withLock { $0 } }

    func drain(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                tail.withLock { tail in
                    tail += chunk
                    if tail.count > 16_384 { tail.removeFirst(tail.count - 16_384) }
                }
            }
            done.signal()
        }
    }

    /// Waits until stderr is closed (mksquashfs has exited); may be called more than once.
    func wait() {
        done.wait()
        done.signal()
    }
}

/// Set by the process's termination handler. Waiting on it blocks: Foundation's
/// `waitUntilExit` polls a run loop, and on a thread whose run loop has no source (a worker
/// thread of `sifter sync`) that poll never sleeps, a core spent for the whole compression.
final class ExitSignal: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)

    func signal() { semaphore.signal() }

    /// Returns once the process has exited; may be called more than once.
    func wait() {
        semaphore.wait()
        semaphore.signal()
    }
}

/// Starts processes from one thread that lives as long as sifter. The parent-death signal is
/// sent when the *thread* that forked the child ends, not the process: a child started from a
/// worker thread that later exits would be killed in the middle of its work.
final class LauncherThread: Sendable {
    static let shared = LauncherThread()

    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let wake = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in
            while true {
                wake.wait()
                let job = jobs.withLock { $0.removeFirst() }
                job()
            }
        }
        thread.name = "sifter-launcher"
        thread.start()
    }

    /// Runs `body` on the launcher thread and waits for it.
    func run(_ body: @escaping @Sendable () throws -> Void) throws {
        let outcome = Outcome()
        jobs.withLock {
            $0.append {
                do { try body() } catch { outcome.error.withLock { $0 = error } }
                outcome.done.signal()
            }
        }
        wake.signal()
        outcome.done.wait()
        if let error = outcome.error.withLock({ $0 }) { throw error }
    }

    private final class Outcome: Sendable {
        let done = DispatchSemaphore(value: 0)
        let error = Mutex<(any Error)?>(nil)
    }
}
