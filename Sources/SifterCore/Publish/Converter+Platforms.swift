import Distribution
import Foundation
import OCISpec

/// What `convert --platform A,B` did: one SIF artifact per platform, and the index over them
/// set on every tag.
public struct PlatformsPushResult: Sendable {
    public enum Outcome: String, Sendable {
        /// Built and pushed (the SIF blob may still have been in the repository already).
        case built
        /// The repository holds a SIF of this source digest and options; nothing sent.
        case upToDate = "up-to-date"
        /// Up to date, but its manifest lacked an annotation asked for (`--expires-after`,
        /// `--annotation`): a new manifest for the same blob was PUT, nothing built.
        case annotated
    }

    public struct Entry: Sendable {
        public var platform: Platform
        public var sourceDigest: Digest
        public var manifestDigest: Digest
        public var manifestSize: Int64
        public var layerDigest: Digest
        public var layerSize: Int64
        public var outcome: Outcome
        /// For a built entry: whether the SIF blob was uploaded or already there.
        public var layer: PushResult.BlobOutcome?
        /// Per-platform tags (`--platform-tags`).
        public var tags: [String]
    }

    public var repository: ImageReference
    public var tags: [String]
    public var indexDigest: Digest
    public var indexBytes: [UInt8]
    public var entries: [Entry]
    /// Nothing was built, uploaded or PUT: every platform and every tag was already in place.
    public var skipped: Bool
    public var seconds: Double = 0

    public var pinnedReference: String { "\(repository.name)@\(indexDigest)" }
    public var taggedReferences: [String] { tags.map { "\(repository.name):\($0)" } }
}

extension Converter {
    /// `convert --platform A,B` / `--all-platforms`: per platform, the SIF is reused when the
    /// repository already has one recording that platform's source manifest digest and these
    /// options (found through the index or manifest the first tag points at), else built and
    /// pushed by digest; then the index of them all is PUT on each tag that does not already
    /// point at it. A re-run with an unchanged source sends nothing but GETs and HEADs.
    /// `platformTags` also tags each platform's manifest `TAG-<arch>`.
    public func convert(
        platforms choice: PlatformChoice, to target: PushTarget, annotations: [String: String] = [:], platformTags: Bool = false,
        force: Bool, events: @escaping @Sendable (Platform?, Event) -> Void = { _, _ in }
    ) throws -> PlatformsPushResult {
        let started = DispatchTime.now()
        let sources = try resolveSourcePlatforms(choice)
        for source in sources { events(source.platform, .sourceDigest(source.manifestDigest)) }
        let existing = force ? [] : try existingArtifacts(target)
        let scratch = NSTemporaryDirectory() + "/sifter-convert-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        var entries: [PlatformsPushResult.Entry] = []
        var manifests: [[UInt8]] = []
        var sent = false
        var created: [String] = []
        for source in sources {
            var options = self.options
            options.platform = source.platform
            options.platformRequested = true
            let (entry, bytes, manifestCreated, wrote) = try AtomicOutput.withScratchDirectory(scratch) {
                try convertOne(source, options: options, existing: existing, target: target, annotations: annotations,
                               scratch: scratch) { events(source.platform, $0) }
            }
            entries.append(entry)
            manifests.append(bytes)
            if let manifestCreated { created.append(manifestCreated) }
            sent = sent || wrote
        }

        if platformTags {
            for index in entries.indices {
                for tag in target.tags {
                    let name = tag + "-" + PlatformIndex.tagSuffix(entries[index].platform)
                    try SemverTags.validate(tag: name)
                    sent = try setTag(name, to: entries[index].manifestDigest, bytes: manifests[index], mediaType: MediaType.ociManifest,
                                      in: target) || sent
                    entries[index].tags.append(name)
                }
            }
        }

        var indexAnnotations = annotations
        if let newest = created.max(by: { (RFC3339.parse($0) ?? 0) < (RFC3339.parse($1) ?? 0) }) {
            indexAnnotations[SIFArtifact.Key.created] = newest
        }
        let indexBytes = PlatformIndex.document(
            entries: entries.map { PlatformIndex.Entry(platform: $0.platform, digest: $0.manifestDigest, size: $0.manifestSize) },
            annotations: indexAnnotations)
        let indexDigest = try PlatformIndex.digest(of: indexBytes)
        for tag in target.tags {
            sent = try setTag(tag, to: indexDigest, bytes: indexBytes, mediaType: MediaType.ociIndex, in: target) || sent
            events(nil, .push(.tagged(tag)))
        }
        var result = PlatformsPushResult(repository: target.repository, tags: target.tags, indexDigest: indexDigest, indexBytes: indexBytes,
                                         entries: entries, skipped: !sent)
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return result
    }

    /// One platform: reused, re-annotated or built and pushed by digest. Returns the entry,
    /// its manifest's bytes and created time, and whether anything was sent.
    private func convertOne(
        _ source: SourcePlatform, options: BuildOptions, existing: [Descriptor], target: PushTarget, annotations: [String: String],
        scratch: String, events: @escaping @Sendable (Event) -> Void
    ) throws -> (PlatformsPushResult.Entry, [UInt8], String?, Bool) {
        let repository = target.repository
        if let found = try reusable(source, fingerprint: options.fingerprint, among: existing, in: target) {
            var (manifest, bytes, outcome) = (found.manifest, found.fetched.bytes, PlatformsPushResult.Outcome.upToDate)
            var digest = found.fetched.digest
            if let annotated = try Self.reannotated(manifest, annotations: annotations, reference: repository.description) {
                bytes = annotated
                digest = try PlatformIndex.digest(of: bytes)
                try destination.putManifest(bytes, mediaType: MediaType.ociManifest, to: repository.pinned(to: digest))
                manifest = try Manifest.decode(bytes)
                outcome = .annotated
            }
            events(.upToDate(digest))
            let layer = try Puller.sifLayer(of: manifest, reference: repository.description)
            let entry = PlatformsPushResult.Entry(
                platform: source.platform, sourceDigest: source.manifestDigest, manifestDigest: digest, manifestSize: Int64(bytes.count),
                layerDigest: layer.digest, layerSize: layer.size, outcome: outcome, layer: nil, tags: [])
            return (entry, bytes, manifest.annotations?[SIFArtifact.Key.created], outcome == .annotated)
        }

        let directory = scratch + "/" + PlatformIndex.tagSuffix(source.platform)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/" + Self.fileName(for: target)
        var buildOptions = options
        buildOptions.force = true
        let built = try Builder(options: buildOptions).build(source: self.source, output: file) { events(.build($0)) }
        guard built.manifestDigest == source.manifestDigest else {
            // The tag moved between resolving and building: what was built is not what the
            // index would claim.
            throw PublishError.platforms(source: sourceText, reason: "the \(source.platform) image changed while converting "
                + "(\(source.manifestDigest.short) then \(built.manifestDigest.short)); run again")
        }
        let pushed = try Pusher(client: destination, digests: buildOptions.digests).pushBlobs(
            file: file, to: repository, annotations: annotations, title: Self.fileName(for: target)) { events(.push($0)) }
        let digest = try PlatformIndex.digest(of: pushed.manifest)
        try destination.putManifest(pushed.manifest, mediaType: MediaType.ociManifest, to: repository.pinned(to: digest))
        try? FileManager.default.removeItem(atPath: directory)
        let entry = PlatformsPushResult.Entry(
            platform: source.platform, sourceDigest: source.manifestDigest, manifestDigest: digest, manifestSize: Int64(pushed.manifest.count),
            layerDigest: pushed.artifact.digest, layerSize: pushed.artifact.size, outcome: .built, layer: pushed.layer, tags: [])
        return (entry, pushed.manifest, pushed.artifact.annotations[SIFArtifact.Key.created], true)
    }

    /// The manifests the first tag of DEST reaches: the entries of an index, or the one
    /// manifest (a single-platform SIF pushed before). Empty when the tag does not exist.
    private func existingArtifacts(_ target: PushTarget) throws -> [Descriptor] {
        guard let first = target.tags.first else { return [] }
        guard let fetched = try fetchIfPresent(try target.reference(tag: first)) else { return [] }
        if fetched.isIndex {
            guard let index = try? Index.decode(fetched.bytes) else { return [] }
            return index.manifests.filter { $0.mediaType == MediaType.ociManifest }
        }
        return [Descriptor(mediaType: fetched.mediaType, digest: fetched.digest, size: Int64(fetched.bytes.count))]
    }

    /// The manifest, or nil when the registry has none by that name.
    private func fetchIfPresent(_ reference: ImageReference) throws -> FetchedManifest? {
        do {
            return try destination.fetchManifest(reference)
        } catch .notFound {
            return nil
        }
    }

    /// The existing SIF for this platform: a candidate of the same platform (or with none)
    /// whose annotations record this source manifest digest and these build options.
    private func reusable(_ source: SourcePlatform, fingerprint: String, among candidates: [Descriptor], in target: PushTarget)
        throws -> (manifest: Manifest, fetched: FetchedManifest)?
    {
        for candidate in candidates where candidate.platform.map({ PlatformIndex.canonical($0) == source.platform }) ?? true {
            guard let fetched = try fetchIfPresent(target.repository.pinned(to: candidate.digest)),
                fetched.mediaType == MediaType.ociManifest, let manifest = try? Manifest.decode(fetched.bytes),
                (try? Puller.sifLayer(of: manifest, reference: target.repository.description)) != nil
            else { continue }
            let annotations = manifest.annotations ?? [:]
            if annotations[SIFArtifact.Key.sourceDigest] == source.manifestDigest.description,
                annotations[SIFArtifact.Key.buildOptions] == fingerprint
            {
                return (manifest, fetched)
            }
        }
        return nil
    }

    /// The manifest of an existing SIF with the annotations asked for added, when one of
    /// them is missing or different; nil when it already has them all.
    static func reannotated(_ manifest: Manifest, annotations: [String: String], reference: String) throws -> [UInt8]? {
        let current = manifest.annotations ?? [:]
        guard annotations.contains(where: { current[$0.key] != $0.value }) else { return nil }
        let layer = try Puller.sifLayer(of: manifest, reference: reference)
        let title = layer.annotations?[SIFArtifact.Key.title] ?? "image.sif"
        return SIFArtifact.manifest(layerSize: layer.size, layerDigest: layer.digest, title: title,
                                    annotations: current.merging(annotations) { _, asked in asked })
    }

    /// Points `tag` at `digest` unless it already points there (a HEAD first, so an unchanged
    /// re-run sends no PUT). True when it PUT.
    private func setTag(_ tag: String, to digest: Digest, bytes: [UInt8], mediaType: String, in target: PushTarget) throws -> Bool {
        let reference = try target.reference(tag: tag)
        if try destination.headManifest(reference)?.digest == digest { return false }
        try destination.putManifest(bytes, mediaType: mediaType, to: reference)
        return true
    }
}
