import OCISpec

/// Turns a SOURCE argument into an image source.
public enum SourceParser {
    public static func parse(_ text: String) throws -> any ImageSource {
        if text.hasPrefix("oci:") {
            let spec = String(text.dropFirst(4))
            guard !spec.isEmpty else { throw BuildError.unsupportedSource(text) }
            return OCILayoutSource(spec: spec, sourceText: text)
        }
        throw BuildError.unsupportedSource(text)
    }
}

/// The `--json` summary of a build.
public enum BuildReport {
    public static func json(_ result: BuildResult) -> JSONValue {
        .object([
            ("output", .string(result.output)),
            ("size", .int(result.size)),
            ("sha256", .string(result.sha256)),
            ("arch", .string(result.arch)),
            ("indexDigest", result.indexDigest.map { .string($0.description) } ?? .null),
            ("manifestDigest", .string(result.manifestDigest.description)),
            ("configDigest", .string(result.configDigest.description)),
            ("timings", .object(result.timings.map { ($0.stage, .seconds($0.seconds)) })),
        ])
    }
}
