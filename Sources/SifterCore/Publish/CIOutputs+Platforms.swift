import Foundation
import OCISpec

/// The machine outputs of `convert --platform A,B`: the same names as for one SIF (`digest`,
/// `ref`, `tags`), the digest being the index's, plus each platform's entry.
extension PublishReport {
    public static func json(_ result: PlatformsPushResult) -> JSONValue {
        .object([
            ("digest", .string(result.indexDigest.description)),
            ("ref", .string(result.pinnedReference)),
            ("repository", .string(result.repository.name)),
            ("tags", .array(result.tags.map { .string($0) })),
            ("references", .array(result.taggedReferences.map { .string($0) })),
            ("mediaType", .string(MediaType.ociIndex)),
            ("platforms", .array(result.entries.map { entry in
                .object([
                    ("platform", .string(entry.platform.description)),
                    ("digest", .string(entry.manifestDigest.description)),
                    ("sourceDigest", .string(entry.sourceDigest.description)),
                    ("layerDigest", .string(entry.layerDigest.description)),
                    ("size", .int(entry.layerSize)),
                    ("outcome", .string(entry.outcome.rawValue)),
                    ("layer", entry.layer.map { .string($0.rawValue) } ?? .null),
                    ("tags", .array(entry.tags.map { .string($0) })),
                ])
            })),
            ("skipped", .bool(result.skipped)),
            ("seconds", .seconds(result.seconds)),
        ])
    }

    public static func writeDigest(_ result: PlatformsPushResult, to path: String) throws {
        try write(Array("\(result.indexDigest)\n".utf8), to: path, append: false)
    }

    public static func writeGitHub(_ result: PlatformsPushResult, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let path = environment["GITHUB_OUTPUT"], !path.isEmpty {
            let delimiter = "ghadelimiter_" + UUID().uuidString
            var text = "digest=\(result.indexDigest)\nref=\(result.pinnedReference)\ntags<<\(delimiter)\n"
            text += result.taggedReferences.map { $0 + "\n" }.joined() + "\(delimiter)\n"
            try write(Array(text.utf8), to: path, append: true)
        }
        if let path = environment["GITHUB_STEP_SUMMARY"], !path.isEmpty {
            try write(Array(summary(result).utf8), to: path, append: true)
        }
    }

    static func summary(_ result: PlatformsPushResult) -> String {
        var lines = ["### SIFs \(result.skipped ? "up to date" : "pushed"): `\(result.repository.name)`", ""]
        lines.append("- index: `\(result.indexDigest)`")
        lines.append("- tags: " + result.tags.map { "`\($0)`" }.joined(separator: ", "))
        for entry in result.entries {
            lines.append("- \(entry.platform): `\(entry.manifestDigest)`, SIF \(entry.layerSize) bytes (\(entry.outcome.rawValue))")
        }
        lines += ["", "Apptainer picks the SIF of its own platform:", "", "```sh", "apptainer pull oras://\(result.pinnedReference)", "```", ""]
        return lines.joined(separator: "\n") + "\n"
    }
}
