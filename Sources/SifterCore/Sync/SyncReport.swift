import Foundation

/// What a sync run did, as JSON (`--report`, `--json`) and as Markdown (`--summary`,
/// `$GITHUB_STEP_SUMMARY`).
public struct SyncReport: Sendable {
    public var wishlist: String
    public var shard: SyncShard
    public var results: [SyncItemResult]
    /// Files `--prune` removed (or would remove, with `--dry-run`).
    public var pruned: [String] = []
    /// Why `--prune` removed nothing although asked, when it could not run.
    public var pruneSkipped: String?
    public var seconds: Double = 0

    public init(wishlist: String, shard: SyncShard, results: [SyncItemResult]) {
        self.wishlist = wishlist
        self.shard = shard
        self.results = results
    }

    public func results(_ status: SyncStatus) -> [SyncItemResult] { results.filter { $0.status == status } }

    public var json: JSONValue {
        func item(_ result: SyncItemResult) -> JSONValue {
            var members: [(String, JSONValue)] = [
                ("entry", .string(result.place)), ("source", .string(result.source)), ("destination", .string(result.destination)),
            ]
            if !result.outputs.isEmpty {
                members.append(("outputs", .array(result.outputs.map { output in
                    .object([("platform", .string(output.platform.description)), ("sourceDigest", .string(output.sourceDigest.description)),
                             ("output", .string(output.output)), ("converted", .bool(output.converted))])
                })))
            }
            if let error = result.error { members.append(("error", .string("\(error)"))) }
            if !result.warnings.isEmpty { members.append(("warnings", .array(result.warnings.map { .string($0) }))) }
            members.append(("seconds", .seconds(result.seconds)))
            return .object(members)
        }
        var members: [(String, JSONValue)] = [
            ("wishlist", .string(wishlist)), ("shard", .string(shard.description)),
            ("converted", .array(results(.converted).map(item))),
            ("upToDate", .array(results(.upToDate).map(item))),
            ("failed", .array(results(.failed).map(item))),
            ("pruned", .array(pruned.map { .string($0) })),
        ]
        if let pruneSkipped { members.append(("pruneSkipped", .string(pruneSkipped))) }
        members.append(("seconds", .seconds(seconds)))
        return .object(members)
    }

    public var markdown: String {
        var lines = ["### sifter sync: \(wishlist)" + (shard.count > 1 ? " (shard \(shard))" : ""), ""]
        lines.append("\(results(.converted).count) converted, \(results(.upToDate).count) up to date, \(results(.failed).count) failed"
            + (pruned.isEmpty ? "" : ", \(pruned.count) pruned") + String(format: " in %.1f s", seconds))
        lines.append("")
        if !results.isEmpty {
            lines += ["| status | source | destination |", "|---|---|---|"]
            for result in results {
                let status = result.status == .failed ? "**failed**" : result.status.rawValue
                lines.append("| \(status) | `\(Self.cell(result.source))` | `\(Self.cell(result.destination))` |")
            }
            lines.append("")
        }
        for result in results(.failed) {
            lines.append("- `\(Self.cell(result.source))` (\(Self.cell(result.place))): \(Self.cell("\(result.error.map { "\($0)" } ?? "failed")"))")
        }
        if let pruneSkipped { lines.append("- prune skipped: \(Self.cell(pruneSkipped))") }
        for path in pruned { lines.append("- pruned `\(Self.cell(path))`") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Appends the Markdown summary to `$GITHUB_STEP_SUMMARY`, when it is set.
    public func writeGitHubSummary(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let path = environment["GITHUB_STEP_SUMMARY"], !path.isEmpty else { return }
        try PublishReport.write(Array(markdown.utf8), to: path, append: true)
    }

    /// Text for a Markdown table cell or code span: one line, no `|` or backtick to break it.
    static func cell(_ text: String) -> String {
        TerminalText.line(text).replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "`", with: "'")
    }
}
