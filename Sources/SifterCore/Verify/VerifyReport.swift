/// The result of `sifter verify`: one entry per check, a verdict and an exit status.
public struct VerifyReport: Sendable {
    public enum Verdict: String, Sendable {
        case verified
        case mismatch
        case cannotCheck = "cannot-check"

        /// Exit statuses documented in the README: 0 verified, 1 mismatch, 2 cannot check.
        public var exitCode: Int32 {
            switch self {
            case .verified: 0
            case .mismatch: 1
            case .cannotCheck: 2
            }
        }
    }

    /// One check (`integrity`, `source`, `rebuild`) with its machine-readable details.
    public struct Check: Sendable {
        public var name: String
        public var status: CheckStatus
        public var summary: String
        public var findings: [Finding]
        public var details: [(String, JSONValue)]

        public init(name: String, status: CheckStatus, summary: String, findings: [Finding] = [], details: [(String, JSONValue)] = []) {
            self.name = name
            self.status = status
            self.summary = summary
            self.findings = findings
            self.details = details
        }
    }

    public var path: String
    public var checks: [Check]

    /// A mismatch anywhere wins over an unanswered check: a SIF known to be wrong is wrong.
    public var verdict: Verdict {
        if checks.contains(where: { $0.status == .failed }) { return .mismatch }
        if checks.contains(where: { $0.status == .cannotCheck }) { return .cannotCheck }
        return .verified
    }

    /// The one-line verdict for people.
    public var line: String {
        switch verdict {
        case .verified:
            let passed = checks.filter { $0.status == .passed }.map { "\($0.name): \($0.summary)" }
            return "verified: \(path): " + passed.joined(separator: "; ")
        case .mismatch:
            let first = checks.first { $0.status == .failed }
            return "MISMATCH: \(path): \(first?.name ?? ""): \(first?.summary ?? "")"
        case .cannotCheck:
            let first = checks.first { $0.status == .cannotCheck }
            return "CANNOT CHECK: \(path): \(first?.name ?? ""): \(first?.summary ?? "")"
        }
    }

    /// The verdict line, then for a SIF that did not verify every finding, one a line.
    public var text: String {
        var lines = [line]
        if verdict == .verified {
            // What was not checked but is worth knowing (signatures nobody asked to check).
            for check in checks where check.status == .skipped && !check.findings.isEmpty {
                lines.append("  \(check.name): \(check.status.rawValue)")
                lines += check.findings.map { "    \($0)" }
            }
        } else {
            // The findings, when there are any, already say what the summary says.
            for check in checks where check.status != .passed {
                if check.findings.isEmpty {
                    lines.append("  \(check.name): \(check.status.rawValue): \(check.summary)")
                } else {
                    lines.append("  \(check.name): \(check.status.rawValue)")
                    lines += check.findings.map { "    \($0)" }
                }
            }
        }
        // Names and findings come from the file: one line each, control characters escaped.
        return lines.map(TerminalText.line).joined(separator: "\n") + "\n"
    }

    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("file", .string(path)),
            ("verdict", .string(verdict.rawValue)),
            ("exitCode", .int(Int64(verdict.exitCode))),
        ]
        for check in checks {
            let findings: [JSONValue] = check.findings.map { finding in
                .object([
                    ("id", finding.id.map { .int(Int64($0)) } ?? .null),
                    ("name", .string(finding.name)),
                    ("type", .string(finding.type)),
                    ("subject", .string(finding.subject)),
                    ("problem", .string(finding.problem)),
                ])
            }
            members.append((check.name, .object(
                [("status", .string(check.status.rawValue)), ("summary", .string(check.summary)), ("findings", .array(findings))]
                    + check.details)))
        }
        return .object(members)
    }
}
