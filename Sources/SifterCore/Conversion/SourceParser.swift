import Distribution
import OCISpec

/// What a `docker://` source needs: a client, the blob cache, and an optional progress sink.
public struct RegistryAccess: Sendable {
    public var client: RegistryClient
    public var cache: BlobCache
    public var progress: (@Sendable (BlobProgress) -> Void)?

    public init(client: RegistryClient, cache: BlobCache, progress: (@Sendable (BlobProgress) -> Void)? = nil) {
        self.client = client
        self.cache = cache
        self.progress = progress
    }
}

/// Turns a SOURCE argument into an image source.
public enum SourceParser {
    /// `registry` is called only for `docker://` sources, so local builds never need one.
    public static func parse(
        _ text: String, registry: (ImageReference) throws -> RegistryAccess = { _ in throw BuildError.unsupportedSource("docker://") }
    ) throws -> any ImageSource {
        if text.hasPrefix("docker://") {
            let reference = try ImageReference.parse(text)
            let access = try registry(reference)
            return RegistrySource(reference: reference, sourceText: text, client: access.client,
                                  cache: access.cache, progress: access.progress)
        }
        if text.hasPrefix("oci:") {
            let spec = String(text.dropFirst(4))
            guard !spec.isEmpty else { throw BuildError.unsupportedSource(text) }
            return OCILayoutSource(spec: spec, sourceText: text)
        }
        if text.hasPrefix("oci-archive:") {
            return try OCIArchiveSource(spec: String(text.dropFirst("oci-archive:".count)), sourceText: text)
        }
        if text.hasPrefix("docker-archive:") {
            return try DockerArchiveSource(spec: String(text.dropFirst("docker-archive:".count)), sourceText: text)
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
            ("layersReadWhileDownloading", .int(Int64(result.layersReadWhileDownloading))),
            ("warnings", .array(result.warnings.map { .string($0) })),
            ("sbom", result.sbom.map { .object([("format", .string($0.format.rawValue)), ("packages", .int(Int64($0.packages)))]) } ?? .null),
        ])
    }
}
