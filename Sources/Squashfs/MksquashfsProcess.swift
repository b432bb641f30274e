import Foundation
import Synchronization

/// A running `mksquashfs - OUT -tar …`: the caller writes an uncompressed tar stream to
/// `input` and calls `finish()`. stderr is drained on its own thread so that a chatty
/// mksquashfs can never block the pipeline; its tail becomes the error message.
public final class MksquashfsProcess: @unchecked Sendable {
    public let arguments: [String]
    public let executable: String
    private let process = Process()
    private let stdinPipe = Pipe()
    private let stderrPipe = Pipe()
    private let stderrDone = DispatchSemaphore(value: 0)
    private let stderrLock = NSLock()
    private var stderrTail: [UInt8] = []
    private var inputClosed = false

    /// Whether mksquashfs runs as root in a user namespace (see `MksquashfsOptions.rootUID`).
    public let inUserNamespace: Bool

    /// Starts mksquashfs writing `output` with the partition at `offset`.
    public init(output: String, offset: Int64, options: MksquashfsOptions) throws(SquashfsError) {
        let mksquashfs = try Self.resolve(options.executable)
        let squashArguments = try options.arguments(output: output, offset: offset)
        if geteuid() != 0, options.rootUID == 0, options.rootGID == 0, let unshare = Self.userNamespaceRunner {
            inUserNamespace = true
            executable = unshare
            arguments = ["--user", "--map-root-user", "--", mksquashfs] + squashArguments
        } else {
            inUserNamespace = false
            executable = mksquashfs
            arguments = squashArguments
        }
        // A write into the pipe after mksquashfs has died must fail with EPIPE, which the
        // writer reports, rather than kill sifter with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
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
        environment.removeValue(forKey: "SOURCE_DATE_EPOCH")
        if let epoch = options.sourceDateEpoch { environment["SOURCE_DATE_EPOCH"] = String(max(0, epoch)) }
        process.environment = environment
        process.standardInput = stdinPipe
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderrPipe
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
        let handle = stderrPipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                stderrLock.lock()
                stderrTail += chunk
                if stderrTail.count > 16_384 { stderrTail.removeFirst(stderrTail.count - 16_384) }
                stderrLock.unlock()
            }
            stderrDone.signal()
        }
    }

    /// The write end of mksquashfs's stdin.
    public var input: Int32 { stdinPipe.fileHandleForWriting.fileDescriptor }

    /// Closes stdin (end of the tar stream), waits, and reports a failure with mksquashfs's message.
    public func finish() throws(SquashfsError) {
        closeInput()
        process.waitUntilExit()
        stderrDone.wait()
        let message = stderrText
        switch process.terminationReason {
        case .exit where process.terminationStatus == 0:
            return
        case .exit:
            throw .failed(executable: executable, status: process.terminationStatus, message: message)
        default:
            throw .killed(executable: executable, signal: process.terminationStatus, message: message)
        }
    }

    /// Stops mksquashfs after a failure upstream; its partial output is the caller's to remove.
    public func abort() {
        closeInput()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        stderrDone.wait()
    }

    public var stderrText: String {
        stderrLock.lock()
        defer { stderrLock.unlock() }
        let text = String(decoding: stderrTail, as: UTF8.self)
        // mksquashfs reports a tar stream's leading `./` as an empty name; it is harmless.
        return text.split(separator: "\n").filter { !$0.contains("Empty tar filename") }.joined(separator: "\n")
    }

    private func closeInput() {
        guard !inputClosed else { return }
        inputClosed = true
        try? stdinPipe.fileHandleForWriting.close()
    }

    /// `unshare`, when this process may create a user namespace with itself mapped to root
    /// (Debian allows it by default; some container runtimes forbid it).
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

    /// `mksquashfs -version`'s version number, e.g. "4.5.1", recorded in provenance.
    public static func version(executable name: String = "mksquashfs") throws(SquashfsError) -> String {
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
        guard let index = words.firstIndex(of: "version"), index + 1 < words.count else {
            throw .failed(executable: executable, status: process.terminationStatus, message: "unrecognised version output \"\(firstLine)\"")
        }
        return String(words[index + 1])
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
