import Foundation

/// Runs a docker credential helper (`docker-credential-NAME get`): the server URL goes to its
/// stdin, `{"ServerURL","Username","Secret"}` comes back on stdout. Only `get` is needed:
/// sifter never stores credentials.
struct CredentialHelper {
    let name: String
    let environment: [String: String]

    /// The helper's program name; `name` comes from a config file, so it may not smuggle a path.
    var program: String { "docker-credential-" + name }

    func get(serverURL: String) throws(DistributionError) -> Credential? {
        guard !name.isEmpty, !name.contains("/") else {
            throw .credentials(source: program, reason: "invalid helper name")
        }
        guard let executable = Self.find(program, path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") else {
            throw .credentials(source: program, reason: "helper not found on PATH")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["get"]
        process.environment = environment
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        // Helpers print diagnostics on stderr; they are the user's to see, and never parsed.
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw .credentials(source: program, reason: "cannot start: \(error.localizedDescription)")
        }
        input.fileHandleForWriting.write(Data(serverURL.utf8))
        try? input.fileHandleForWriting.close()
        // Cap what we read: a helper is a local program, but a runaway one must not eat memory.
        let data = output.fileHandleForReading.readDataToEndOfFile().prefix(1 << 20)
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            // The protocol's "not found" answer: fall through to the next source.
            if text.contains("credentials not found") { return nil }
            throw .credentials(source: program, reason: "exited with status \(process.terminationStatus)")
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

    static func find(_ program: String, path: String) -> String? {
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = directory + "/" + program
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
