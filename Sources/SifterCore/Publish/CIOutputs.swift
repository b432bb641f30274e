import Foundation

/// Machine outputs of push and convert: `--json`, `--digest-file`, and GitHub Actions'
/// `$GITHUB_OUTPUT` / `$GITHUB_STEP_SUMMARY` files.
public enum PublishReport {
    public static func json(_ result: PushResult) -> JSONValue {
        .object([
            ("digest", .string(result.manifestDigest.description)),
            ("ref", .string(result.pinnedReference)),
            ("repository", .string(result.repository.name)),
            ("tags", .array(result.tags.map { .string($0) })),
            ("references", .array(result.taggedReferences.map { .string($0) })),
            ("layerDigest", .string(result.layerDigest.description)),
            ("size", .int(result.layerSize)),
            ("layer", .string(result.layer.rawValue)),
            ("config", .string(result.config.rawValue)),
            ("skipped", .bool(result.skipped)),
            ("seconds", .seconds(result.seconds)),
        ])
    }

    /// The manifest digest and a newline, for `--digest-file` (release notes, later steps).
    public static func writeDigest(_ result: PushResult, to path: String) throws {
        try write(Array("\(result.manifestDigest)\n".utf8), to: path, append: false)
    }

    /// Appends the outputs `digest`, `ref` and `tags` (one tagged reference a line) to
    /// `$GITHUB_OUTPUT` and a Markdown summary with the pull commands to
    /// `$GITHUB_STEP_SUMMARY`, each only when the variable is set.
    public static func writeGitHub(_ result: PushResult, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let path = environment["GITHUB_OUTPUT"], !path.isEmpty {
            try write(Array(outputs(result).utf8), to: path, append: true)
        }
        if let path = environment["GITHUB_STEP_SUMMARY"], !path.isEmpty {
            try write(Array(summary(result).utf8), to: path, append: true)
        }
    }

    /// `name=value` lines; `tags` in the multi-line `name<<DELIMITER` form, with a random
    /// delimiter as the Actions toolkit uses, so no value can end the block early.
    static func outputs(_ result: PushResult, delimiter: String = "ghadelimiter_" + UUID().uuidString) -> String {
        var text = "digest=\(result.manifestDigest)\n"
        text += "ref=\(result.pinnedReference)\n"
        text += "tags<<\(delimiter)\n"
        text += result.taggedReferences.map { $0 + "\n" }.joined()
        text += "\(delimiter)\n"
        return text
    }

    static func summary(_ result: PushResult) -> String {
        var lines = ["### SIF \(result.skipped ? "up to date" : "pushed"): `\(result.repository.name)`", ""]
        lines.append("- digest: `\(result.manifestDigest)`")
        lines.append("- tags: " + result.tags.map { "`\($0)`" }.joined(separator: ", "))
        lines.append("- SIF: `\(result.layerDigest)`, \(result.layerSize) bytes" + (result.skipped ? " (already in the registry; nothing built or uploaded)" : ""))
        lines += ["", "Pull by digest (never changes):", "", "```sh", "apptainer pull oras://\(result.pinnedReference)", "```", ""]
        lines += ["Pull by tag:", "", "```sh"] + result.taggedReferences.map { "apptainer pull oras://\($0)" } + ["```", ""]
        return lines.joined(separator: "\n") + "\n"
    }

    static func write(_ bytes: [UInt8], to path: String, append: Bool) throws {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw PublishError.output(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw PublishError.output(path: path, reason: String(cString: strerror(errno))) }
            offset += n
        }
    }
}
