import Distribution
import Foundation
import OCISpec
import SIF

/// What a pull fetched.
public struct PullResult: Sendable {
    public var reference: ImageReference
    public var manifestDigest: Digest
    public var layerDigest: Digest
    public var size: Int64
    public var output: String
    public var arch: String
}

/// `sifter pull oras://REF OUT.sif`: Apptainer's rules (exactly one layer of the SIF media
/// type or its legacy typo; config type not checked; an index resolved by platform), the
/// blob downloaded with size and digest checked as it arrives and resumed after a dropped
/// connection, then checked to be a SIF and renamed into place.
public struct Puller: Sendable {
    public let client: RegistryClient

    public init(client: RegistryClient) { self.client = client }

    public func pull(
        _ text: String, output: String, replace: Bool, platform: Platform = .host,
        progress: (@Sendable (BlobProgress) -> Void)? = nil
    ) throws -> PullResult {
        guard text.hasPrefix("oras://") else {
            throw PublishError.invalidReference(text, reason: "pull takes oras://REGISTRY/REPOSITORY[:TAG|@DIGEST]")
        }
        let reference = try ImageReference.parse(text)
        let resolved = try client.resolve(reference, platform: platform)
        let layer = try Self.sifLayer(of: resolved.manifest, reference: reference.description)

        let destination = try AtomicOutput(destination: output, replace: replace, mode: 0o755)
        // The blob lands in a private cache beside the output and is renamed out of it: no
        // second copy of a multi-GiB file, and a dropped connection resumes within the run.
        let scratch = destination.temporaryPath + ".blobs"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let arch = try AtomicOutput.withScratchDirectory(scratch) {
            try download(layer, of: reference, into: scratch, output: destination, progress: progress)
        }
        return PullResult(reference: reference, manifestDigest: resolved.manifestDigest, layerDigest: layer.digest,
                          size: layer.size, output: output, arch: arch)
    }

    /// Fetches the SIF blob into a private cache in `scratch`, checks it is a SIF, and renames
    /// it into place; returns its architecture.
    private func download(_ layer: OCISpec.Descriptor, of reference: ImageReference, into scratch: String, output destination: AtomicOutput,
                          progress: (@Sendable (BlobProgress) -> Void)?) throws -> String {
        let cache = try BlobCache(root: scratch)
        return try destination.write { temporary -> String in
            try client.fetchBlobs(reference, [layer], into: cache, progress: progress)
            guard rename(cache.blobPath(for: layer.digest), temporary) == 0 else {
                throw SifterError.io(path: temporary, operation: "rename", reason: String(cString: strerror(errno)))
            }
            let image: SIFImage
            do { image = try SIFImage.load(path: temporary) } catch {
                throw PublishError.notSIFArtifact(reference: reference.description, reason: "the layer is not a SIF file (\(error))")
            }
            let arch = image.header.arch.goName
            try image.close()
            return arch
        }
    }

    /// The one SIF layer Apptainer requires of a manifest.
    public static func sifLayer(of manifest: Manifest, reference: String) throws -> OCISpec.Descriptor {
        guard manifest.layers.count == 1, let layer = manifest.layers.first else {
            throw PublishError.notSIFArtifact(reference: reference, reason: "it has \(manifest.layers.count) layers, a SIF artifact has one")
        }
        guard [SIFArtifact.layerMediaType, SIFArtifact.legacyLayerMediaType].contains(layer.mediaType) else {
            throw PublishError.notSIFArtifact(reference: reference, reason: "its layer has media type \(layer.mediaType), not \(SIFArtifact.layerMediaType)")
        }
        guard layer.size >= 0 else {
            throw PublishError.notSIFArtifact(reference: reference, reason: "its layer has a negative size")
        }
        return layer
    }
}
