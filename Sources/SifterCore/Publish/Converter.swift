import Distribution
import Foundation
import OCISpec

/// `sifter convert SOURCE oras://DEST`: build, then push, unless DEST already holds a SIF
/// built from the same source manifest with the same options.
public struct Converter: Sendable {
    /// Builds the image source (with its own registry client for `docker://`).
    public var source: any ImageSource
    public var sourceText: String
    /// Only for a `docker://` source: the client that resolves its digest without layers.
    public var sourceClient: RegistryClient?
    /// The destination registry's client; it never sees the source registry's credentials.
    public var destination: RegistryClient
    public var options: BuildOptions

    public init(source: any ImageSource, sourceText: String, sourceClient: RegistryClient?, destination: RegistryClient, options: BuildOptions) {
        self.source = source
        self.sourceText = sourceText
        self.sourceClient = sourceClient
        self.destination = destination
        self.options = options
    }

    public enum Event: Sendable {
        case sourceDigest(Digest)
        case upToDate(Digest)
        case build(BuildEvent)
        case push(PushEvent)
    }

    /// Converts and pushes. `output` keeps the built SIF there; nil builds into a scratch
    /// directory removed afterwards. `force` rebuilds even when DEST is up to date.
    public func convert(
        to target: PushTarget, annotations: [String: String] = [:], output: String?, force: Bool,
        events: @escaping @Sendable (Event) -> Void = { _ in }
    ) throws -> PushResult {
        let started = DispatchTime.now()
        let sourceDigest = try resolveSourceDigest()
        events(.sourceDigest(sourceDigest))
        if !force, var existing = try upToDate(target, sourceDigest: sourceDigest, annotations: annotations) {
            events(.upToDate(existing.manifestDigest))
            existing.seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
            return existing
        }
        let scratch = NSTemporaryDirectory() + "/sifter-convert-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let file = output ?? scratch + "/" + Self.fileName(for: target)
        var buildOptions = options
        buildOptions.force = force || output == nil
        _ = try Builder(options: buildOptions).build(source: source, output: file) { events(.build($0)) }
        // The layer title is REPO.sif whatever --output says, so the same build always gives
        // the same manifest digest.
        var result = try Pusher(client: destination, digests: buildOptions.digests).push(
            file: file, to: target, annotations: annotations, title: Self.fileName(for: target)) { events(.push($0)) }
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return result
    }

    /// The manifest digest a build of the source would record, found without downloading
    /// layers: one manifest GET at a registry (the index entry for the platform when the tag
    /// names an index), the index and manifest files of a local layout or archive.
    public func resolveSourceDigest() throws -> Digest {
        guard let sourceClient, sourceText.hasPrefix("docker://") else {
            return try source.resolve(platform: options.platform).manifestDigest
        }
        let reference = try ImageReference.parse(sourceText)
        let fetched = try sourceClient.fetchManifest(reference)
        guard fetched.isIndex else { return fetched.digest }
        let index = try Index.decode(fetched.bytes)
        return try sourceClient.select(options.platform, in: index, digest: fetched.digest, of: reference).digest
    }

    /// The result of a push that already happened, when the first tag of DEST is a SIF
    /// artifact recording `sourceDigest` and these build options; the other tags are pointed
    /// at it (a manifest PUT each, no blob) when they are missing or elsewhere. When it lacks
    /// an annotation asked for (`--expires-after`), a manifest with it is PUT on every tag.
    func upToDate(_ target: PushTarget, sourceDigest: Digest, annotations extra: [String: String] = [:]) throws -> PushResult? {
        guard let first = target.tags.first else { return nil }
        let fetched: FetchedManifest
        do {
            fetched = try destination.fetchManifest(try target.reference(tag: first))
        } catch DistributionError.notFound {
            return nil
        }
        guard !fetched.isIndex, fetched.mediaType == MediaType.ociManifest, let manifest = try? Manifest.decode(fetched.bytes),
            let layer = try? Puller.sifLayer(of: manifest, reference: first)
        else { return nil }
        let annotations = manifest.annotations ?? [:]
        guard annotations[SIFArtifact.Key.sourceDigest] == sourceDigest.description,
            annotations[SIFArtifact.Key.buildOptions] == options.fingerprint
        else { return nil }
        var bytes = fetched.bytes
        var digest = fetched.digest
        var tagsToCheck = target.tags.dropFirst()
        if let annotated = try Self.reannotated(manifest, annotations: extra, reference: first) {
            bytes = annotated
            digest = try PlatformIndex.digest(of: bytes)
            tagsToCheck = target.tags[...]
        }
        for tag in tagsToCheck {
            let reference = try target.reference(tag: tag)
            if try destination.headManifest(reference)?.digest != digest {
                try destination.putManifest(bytes, mediaType: MediaType.ociManifest, to: reference)
            }
        }
        var result = PushResult(repository: target.repository, tags: target.tags, manifestDigest: digest, manifestBytes: bytes,
                                layerDigest: layer.digest, layerSize: layer.size, layer: .existed, config: .existed)
        result.skipped = true
        return result
    }

    /// `REPO.sif` from the destination's last path component, the name `apptainer pull` and
    /// `oras pull` give the file (the layer title).
    static func fileName(for target: PushTarget) -> String {
        (target.repository.repository.split(separator: "/").last.map(String.init) ?? "image") + ".sif"
    }
}
