import Distribution
import Foundation
import OCISpec

/// Where a push goes: one repository and the tags to set there.
public struct PushTarget: Sendable {
    public var repository: ImageReference
    public var tags: [String]

    /// `oras://REG/REPO[:TAG]` plus `--tag`s and the expansion of `--semver`. A tag written
    /// in the reference comes first; with no tag anywhere the target is `latest`, as in
    /// Apptainer. Duplicates are dropped, order kept.
    public init(parsing text: String, tags extra: [String] = [], semver: String? = nil) throws {
        guard text.hasPrefix("oras://") else {
            throw PublishError.invalidReference(text, reason: "the destination must be oras://REGISTRY/REPOSITORY[:TAG]")
        }
        let reference = try ImageReference.parse(text)
        guard reference.digest == nil else {
            throw PublishError.invalidReference(text, reason: "push to a tag, not a digest (the digest is the result)")
        }
        var tags: [String] = []
        if Self.writesTag(text), let tag = reference.tag { tags.append(tag) }
        tags += extra
        if let semver { tags += try SemverTags.expand(semver) }
        if tags.isEmpty { tags = ["latest"] }
        var seen = Set<String>()
        tags = tags.filter { seen.insert($0).inserted }
        for tag in tags { try SemverTags.validate(tag: tag) }
        repository = reference
        self.tags = tags
    }

    /// Whether the reference text names a tag (a colon after the last slash), since the
    /// parser fills in `latest` when none is written.
    static func writesTag(_ text: String) -> Bool {
        var name = Substring(text.dropFirst("oras://".count))
        if let at = name.firstIndex(of: "@") { name = name[..<at] }
        guard let slash = name.lastIndex(of: "/") else { return false }
        return name[slash...].contains(":")
    }

    public func reference(tag: String) throws -> ImageReference { try repository.tagged(tag) }
}

/// What a push did, for the report and CI outputs.
public struct PushResult: Sendable {
    public enum BlobOutcome: String, Sendable { case uploaded, existed }

    public var repository: ImageReference
    public var tags: [String]
    public var manifestDigest: Digest
    public var manifestBytes: [UInt8]
    public var layerDigest: Digest
    public var layerSize: Int64
    public var layer: BlobOutcome
    public var config: BlobOutcome
    /// True when `convert` found the destination up to date and pushed nothing.
    public var skipped = false
    public var seconds: Double = 0

    /// `REG/REPO@sha256:…`, what `apptainer pull oras://` should be given for a fixed artifact.
    public var pinnedReference: String { "\(repository.name)@\(manifestDigest)" }
    public var taggedReferences: [String] { tags.map { "\(repository.name):\($0)" } }
}

/// Progress for a display; the pusher never prints.
public enum PushEvent: Sendable {
    case hashing(path: String)
    case blob(Digest, size: Int64, PushResult.BlobOutcome)
    case uploading(Digest, size: Int64)
    case tagged(String)
}

/// `sifter push`: the config blob and the SIF blob (each skipped when the repository has it),
/// then one manifest PUT per tag. The registry client streams the file from disk (monolithic
/// PUT up to its limit, resumable PATCH chunks above) and retries with backoff.
public struct Pusher: Sendable {
    public let client: RegistryClient

    /// Remembered digests of files, so a SIF just built is not hashed again.
    public let digests: FileDigestMemo?

    public init(client: RegistryClient, digests: FileDigestMemo? = nil) {
        self.client = client
        self.digests = digests
    }

    public func push(
        file: String, to target: PushTarget, annotations: [String: String] = [:], title: String? = nil,
        events: @Sendable (PushEvent) -> Void = { _ in }
    ) throws -> PushResult {
        let started = DispatchTime.now()
        let repository = target.repository
        let pushed = try pushBlobs(file: file, to: repository, annotations: annotations, title: title, events: events)
        var digest: Digest?
        for tag in target.tags {
            digest = try client.putManifest(pushed.manifest, mediaType: MediaType.ociManifest, to: try target.reference(tag: tag))
            events(.tagged(tag))
        }
        guard let digest else { throw PublishError.invalidReference(repository.name, reason: "no tag to push") }
        var result = PushResult(repository: repository, tags: target.tags, manifestDigest: digest, manifestBytes: pushed.manifest,
                                layerDigest: pushed.artifact.digest, layerSize: pushed.artifact.size, layer: pushed.layer, config: pushed.config)
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return result
    }

    /// What `pushBlobs` did: the blobs are in the repository, the manifest is not yet.
    struct PushedBlobs {
        var artifact: SIFArtifact
        var manifest: [UInt8]
        var layer: PushResult.BlobOutcome
        var config: PushResult.BlobOutcome
    }

    /// The config blob and the SIF blob, each uploaded only when the repository lacks it, and
    /// the manifest to PUT for them.
    func pushBlobs(
        file: String, to repository: ImageReference, annotations: [String: String], title: String?, events: @Sendable (PushEvent) -> Void
    ) throws -> PushedBlobs {
        events(.hashing(path: file))
        let artifact = try SIFArtifact(path: file, title: title, digests: digests)
        let manifest = artifact.manifest(extra: annotations)
        let config = try pushConfig(repository)
        events(.blob(try Digest(parsing: SIFArtifact.configDigest), size: 2, config))
        let layer: PushResult.BlobOutcome
        if try client.blobExists(repository, artifact.digest) != nil {
            layer = .existed
        } else {
            events(.uploading(artifact.digest, size: artifact.size))
            try client.uploadBlob(repository, file: file, digest: artifact.digest, size: artifact.size)
            layer = .uploaded
        }
        events(.blob(artifact.digest, size: artifact.size, layer))
        return PushedBlobs(artifact: artifact, manifest: manifest, layer: layer, config: config)
    }

    /// The two-byte `{}` config: uploaded from a scratch file, since the client uploads from
    /// files only, and only when missing (after the first push it always exists).
    func pushConfig(_ repository: ImageReference) throws -> PushResult.BlobOutcome {
        let digest = try Digest(parsing: SIFArtifact.configDigest)
        if try client.blobExists(repository, digest) != nil { return .existed }
        let scratch = NSTemporaryDirectory() + "/sifter-config-\(UUID().uuidString).json"
        guard FileManager.default.createFile(atPath: scratch, contents: Data(SIFArtifact.configBytes)) else {
            throw SifterError.io(path: scratch, operation: "create", reason: "cannot write the config blob")
        }
        defer { unlink(scratch) }
        try client.uploadBlob(repository, file: scratch, digest: digest, size: Int64(SIFArtifact.configBytes.count))
        return .uploaded
    }
}
