import Distribution
import Rootfs
import Foundation
import OCISpec

/// `docker://REF`: resolved at the registry, layers downloaded (verified, resumable, in
/// parallel) into the shared blob cache, then read from there.
public struct RegistrySource: ImageSource {
    public let reference: ImageReference
    public let sourceText: String
    public let client: RegistryClient
    public let cache: BlobCache
    public let progress: (@Sendable (BlobProgress) -> Void)?

    public init(reference: ImageReference, sourceText: String, client: RegistryClient, cache: BlobCache,
                progress: (@Sendable (BlobProgress) -> Void)? = nil) {
        self.reference = reference
        self.sourceText = sourceText
        self.client = client
        self.cache = cache
        self.progress = progress
    }

    public func resolve(platform: Platform) throws -> ResolvedImage {
        try resolve(platform: platform, waitForLayers: true)
    }

    /// Starts the layer downloads and returns at once.
    public func resolveWhileDownloading(platform: Platform) throws -> ResolvedImage {
        try resolve(platform: platform, waitForLayers: false)
    }

    private func resolve(platform: Platform, waitForLayers: Bool) throws -> ResolvedImage {
        let remote = try client.resolve(reference, platform: platform)
        try LayoutResolver.requireImage(remote.manifest, source: sourceText)
        let config = try ImageConfig.decode(remote.configBytes)
        let diffIDs = config.rootfs.diff_ids
        guard diffIDs.count == remote.manifest.layers.count else {
            throw BuildError.invalidSource(sourceText, reason: "the config lists \(diffIDs.count) diff_ids for \(remote.manifest.layers.count) layers")
        }
        for layer in remote.manifest.layers where !MediaType.layerTypes.contains(layer.mediaType) {
            throw BuildError.invalidSource(sourceText, reason: "layer \(layer.digest) has media type \(layer.mediaType), not a layer type")
        }
        // Largest first, the order the flattener's first pass takes them. Even when waited
        // for, the downloads stay attached, so that blobs this run verified are not hashed again.
        let downloads = client.startBlobs(reference, remote.manifest.layers.sorted { $0.size > $1.size }, into: cache,
                                          progress: progress)
        if waitForLayers { try downloads.wait() }
        let layers = zip(remote.manifest.layers, diffIDs).map { layer, diffID in
            ResolvedImage.Layer(
                descriptor: layer, diffID: diffID,
                blob: downloads.arrival(for: layer.digest).map(LayerBlob.arriving)
                    ?? .file(cache.blobPath(for: layer.digest), unchangedWhileOpen: true))
        }
        // The definition file names what the user asked for (the digest is appended there).
        let named = reference.name + (reference.tag.map { ":" + $0 } ?? "")
        return ResolvedImage(
            sourceText: sourceText, reference: named,
            bootstrap: "docker", registry: reference.registry, repository: reference.repository,
            indexDigest: remote.indexDigest, manifestDigest: remote.manifestDigest, manifest: remote.manifest,
            configDigest: remote.configDigest, configBytes: remote.configBytes, config: config, layers: layers,
            downloads: downloads)
    }
}
