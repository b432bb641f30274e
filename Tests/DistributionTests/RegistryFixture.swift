import Foundation
import Testing

/// A real registry (Debian's docker-registry) on 127.0.0.1, started by
/// integration/registry/start.sh in a temporary directory and stopped by stop.sh.
/// Tests that use it are skipped when the tools are missing (CI installs them).
final class RegistryFixture: @unchecked Sendable {
    // @unchecked: `env` is only written by the owning test's thread (startFront).
    let work: String
    private(set) var env: [String: String]

    static let scripts: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/integration/registry"
    }()

    /// docker-registry, skopeo, htpasswd, openssl and python3 are all needed.
    static let isAvailable: Bool = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return ["docker-registry", "skopeo", "htpasswd", "openssl", "python3", "curl"].allSatisfy { tool in
            path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
        }
    }()

    init(mode: String, tls: Bool = false) throws {
        work = try Self.temporaryDirectory("registry-\(mode)")
        env = [:]
        var environment = ProcessInfo.processInfo.environment
        environment["REGISTRY_TLS"] = tls ? "1" : nil
        try Self.run(Self.scripts + "/start.sh", [mode, work], environment: environment)
        env = try Self.readEnv(work + "/env")
    }

    /// Stops the servers and removes the directory (storage included) unless
    /// SIFTER_KEEP_REGISTRY is set, for looking at logs after a failure.
    deinit {
        stop()
        if ProcessInfo.processInfo.environment["SIFTER_KEEP_REGISTRY"] == nil {
            try? FileManager.default.removeItem(atPath: work)
        }
    }

    func stop() {
        _ = try? Self.run(Self.scripts + "/stop.sh", [work])
    }

    var registry: String { env["REGISTRY"] ?? "" }
    var user: String { env["REGISTRY_USER"] ?? "" }
    var password: String { env["REGISTRY_PASSWORD"].map(Self.unquote) ?? "" }

    /// Pushes the test image with skopeo; returns make-image.py's summary.
    @discardableResult
    func seed(repository: String, bigMiB: Int = 3) throws -> ImageSummary {
        try Self.run(Self.scripts + "/seed.sh", [work, repository, String(bigMiB)])
        return try JSONDecoder().decode(ImageSummary.self, from: Data(contentsOf: URL(fileURLWithPath: work + "/image.json")))
    }

    /// Starts front.py; returns its host:port.
    func startFront(_ name: String, _ flags: [String]) throws -> String {
        let output = try Self.run(Self.scripts + "/start-front.sh", [work, name] + flags)
        env = try Self.readEnv(work + "/env")
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The JSON-lines event log of a front (or the token server's request log).
    func events(_ file: String) -> [[String: AnyHashableJSON]] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            try? JSONDecoder().decode([String: AnyHashableJSON].self, from: Data(line.utf8))
        }
    }

    static func temporaryDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "sifter-test-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError(message: "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): "
                + String(decoding: err, as: UTF8.self))
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func readEnv(_ path: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            result[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return result
    }

    /// Undoes bash's printf %q for the simple cases the scripts produce (backslash escapes).
    static func unquote(_ text: String) -> String {
        var out = ""
        var escaped = false
        for c in text {
            if escaped { out.append(c); escaped = false } else if c == "\\" { escaped = true } else { out.append(c) }
        }
        return out
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// make-image.py's summary.
struct ImageSummary: Decodable {
    struct Desc: Decodable {
        var mediaType: String
        var digest: String
        var size: Int64
    }

    var index: String
    var amd64: Desc
    var arm64: Desc
    var attestation: String
    var amd64Layers: [Desc]
    var arm64Layers: [Desc]
    var amd64Config: Desc
}

/// Enough JSON to read the fixtures' event logs.
enum AnyHashableJSON: Decodable, Hashable {
    case string(String), number(Double), bool(Bool), array([AnyHashableJSON]), object([String: AnyHashableJSON]), null

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let v = try? c.decode(Bool.self) { self = .bool(v) } else if let v = try? c.decode(Double.self) {
            self = .number(v)
        } else if let v = try? c.decode(String.self) { self = .string(v) } else if let v = try? c.decode([AnyHashableJSON].self) {
            self = .array(v)
        } else { self = .object(try c.decode([String: AnyHashableJSON].self)) }
    }

    var string: String? { if case let .string(s) = self { return s } else { return nil } }
    var bool: Bool? { if case let .bool(b) = self { return b } else { return nil } }
    var array: [AnyHashableJSON]? { if case let .array(a) = self { return a } else { return nil } }
}
