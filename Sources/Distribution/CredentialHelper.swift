import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a docker credential helper (`docker-credential-NAME get`): the server URL goes to its
/// stdin, `{"ServerURL","Username","Secret"}` comes back on stdout. Only `get` is needed:
/// sifter never stores credentials.
///
/// A helper may hang (a keyring waiting for a desktop prompt no one will see, a broken
/// network store): it runs in its own process group, and after `timeout` seconds without a
/// complete answer the whole group is killed and the run fails with the helper's name.
struct CredentialHelper {
    let name: String
    let environment: [String: String]
    var timeout: Double = 30

    /// The helper's program name; `name` comes from a config file, so it may not smuggle a path.
    var program: String { "docker-credential-" + name }

    /// The most read from a helper: a runaway one must not eat memory.
    static let answerLimit = 1 << 20

    func get(serverURL: String) throws(DistributionError) -> Credential? {
        guard !name.isEmpty, !name.contains("/") else {
            throw .credentials(source: program, reason: "invalid helper name")
        }
        guard let executable = Self.find(program, path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") else {
            throw .credentials(source: program, reason: "helper not found on PATH")
        }
        let (status, data) = try run(executable, input: Array(serverURL.utf8))
        let text = String(decoding: data, as: UTF8.self)
        guard status == 0 else {
            // The protocol's "not found" answer: fall through to the next source.
            if text.contains("credentials not found") { return nil }
            throw .credentials(source: program, reason: "exited with status \(status)")
        }
        struct Answer: Decodable {
            var Username: String?
            var Secret: String?
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(data)) else {
            throw .credentials(source: program, reason: "answer is not the expected JSON object")
        }
        let username = answer.Username ?? ""
        let secret = answer.Secret ?? ""
        guard !secret.isEmpty else { return nil }
        if username == "<token>" {
            return Credential(username: "", password: "", identityToken: secret)
        }
        return Credential(username: username, password: secret)
    }

    /// Starts the helper in a new process group, feeds `input`, reads stdout to its end and
    /// waits for the exit, all within `timeout`. Returns the exit status (128+signal when
    /// killed by a signal) and what it printed. Stderr is the user's (diagnostics).
    private func run(_ executable: String, input: [UInt8]) throws(DistributionError) -> (Int32, [UInt8]) {
        let deadline = Monotonic.now + timeout
        var toChild: [Int32] = [-1, -1]
        var fromChild: [Int32] = [-1, -1]
        guard openPipe(&toChild) else { throw .io(operation: "pipe", path: program, errno: errno) }
        guard openPipe(&fromChild) else {
            let code = errno
            close(toChild[0]); close(toChild[1])
            throw .io(operation: "pipe", path: program, errno: code)
        }
        let pid: pid_t
        do {
            pid = try spawn(executable, stdin: toChild[0], stdout: fromChild[1])
        } catch {
            [toChild[0], toChild[1], fromChild[0], fromChild[1]].forEach { close($0) }
            throw error
        }
        close(toChild[0])
        close(fromChild[1])
        var reaped = false
        defer {
            close(fromChild[0])
            if !reaped {
                // The helper's whole group: a shell script's children die with it.
                kill(-pid, SIGKILL)
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            }
        }
        writeIgnoringBrokenPipe(toChild[1], input)
        close(toChild[1])

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let left = deadline - Monotonic.now
            guard left > 0 else { throw timedOut() }
            var poller = pollfd(fd: fromChild[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left * 1000, 60_000).rounded(.up)))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { read(fromChild[0], $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR || errno == EAGAIN { continue }
            if n <= 0 { break }
            output += buffer[0..<min(n, Self.answerLimit - output.count)]
            if output.count >= Self.answerLimit { break }
        }
        // Its stdout is closed; the exit must follow within the same deadline.
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result < 0, errno != EINTR { throw .io(operation: "waitpid", path: program, errno: errno) }
            guard Monotonic.now < deadline else { throw timedOut() }
            usleep(10_000)
        }
        reaped = true
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output)
    }

    private func timedOut() -> DistributionError {
        .credentials(source: program, reason: "did not answer within \(DistributionError.duration(timeout)); stopped it "
            + "(SIFTER_CREDENTIAL_HELPER_TIMEOUT sets the limit)")
    }

    /// posix_spawn with the pipes as stdin/stdout, a process group of its own, and a clean
    /// signal mask (the calling thread may block signals the helper needs).
    private func spawn(_ executable: String, stdin: Int32, stdout: Int32) throws(DistributionError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let arguments = [executable, "get"]
        let variables = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let code = withCStrings(arguments) { argv in
            withCStrings(variables) { envp in posix_spawn(&pid, executable, &actions, &attributes, argv, envp) }
        }
        guard code == 0 else { throw .credentials(source: program, reason: "cannot start: \(String(cString: strerror(code)))") }
        return pid
    }

    /// A helper that exits without reading its stdin must not kill sifter with SIGPIPE: the
    /// signal is blocked on this thread for the write, and a pending one consumed.
    private func writeIgnoringBrokenPipe(_ fd: Int32, _ bytes: [UInt8]) {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
        var done = 0
        var broken = false
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { broken = errno == EPIPE; break }
            done += n
        }
        if broken {
            var timeout = timespec()
            while sigtimedwait(&pipeSignal, nil, &timeout) == SIGPIPE {}
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    static func find(_ program: String, path: String) -> String? {
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = directory + "/" + program
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// A NULL-terminated array of C strings alive for the duration of `body`.
private func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}
