import Foundation
import Hashing
import OCISpec

/// An OCI image layout directory (`oci:DIR[:TAG]`): `index.json` plus `blobs/sha256/…`.
public struct OCILayoutSource: ImageSource {
    public let directory: String
    /// The `org.opencontainers.image.ref.name` to pick; nil takes the only image in the layout.
    public let tag: String?
    public let sourceText: String

    public init(directory: String, tag: String?, sourceText: String) {
        self.directory = directory
        self.tag = tag
        self.sourceText = sourceText
    }

    /// Parses `DIR[:TAG]` (the part after `oci:`).
    public init(spec: String, sourceText: String) {
        let (directory, tag) = Self.split(spec)
        self.init(directory: directory, tag: tag, sourceText: sourceText)
    }

    /// Splits `PATH[:TAG]`; a colon followed by a slash belongs to the path.
    static func split(_ spec: String) -> (path: String, tag: String?) {
        guard let colon = spec.firstIndex(of: ":") else { return (spec, nil) }
        let tag = String(spec[spec.index(after: colon)...])
        return tag.isEmpty ? (String(spec[..<colon]), nil) : (String(spec[..<colon]), tag)
    }

    func blobPath(_ digest: Digest) -> String { "\(directory)/blobs/sha256/\(digest.hex)" }

    /// Reads a small document blob whole, checking its size and digest.
    func readDocument(_ descriptor: Descriptor, what: String) throws -> [UInt8] {
        guard descriptor.size <= 16 << 20 else {
            throw BuildError.invalidSource(sourceText, reason: "\(what) \(descriptor.digest) is \(descriptor.size) bytes, more than a document can be")
        }
        let path = blobPath(descriptor.digest)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BuildError.invalidSource(sourceText, reason: "\(what) \(descriptor.digest) is missing from \(directory)/blobs")
        }
        let bytes = [UInt8](data)
        try BuildError.checkBlob(bytes, against: descriptor, source: sourceText, what: what)
        return bytes
    }

    public func resolve(platform: Platform) throws -> ResolvedImage {
        guard let indexData = FileManager.default.contents(atPath: directory + "/index.json") else {
            throw BuildError.invalidSource(sourceText, reason: "\(directory)/index.json not found: not an OCI image layout")
        }
        let index = try Index.decode([UInt8](indexData))
        var candidates = index.manifests
        if let tag {
            candidates = candidates.filter { $0.annotations?["org.opencontainers.image.ref.name"] == tag }
            guard !candidates.isEmpty else {
                let tags = index.manifests.compactMap { $0.annotations?["org.opencontainers.image.ref.name"] }
                throw BuildError.invalidSource(sourceText, reason: "no image tagged \"\(tag)\" (tags: \(tags.isEmpty ? "none" : tags.joined(separator: ", ")))")
            }
        }
        guard candidates.count == 1, var top = candidates.first else {
            throw BuildError.invalidSource(sourceText, reason: "the layout holds \(candidates.count) images; name one as oci:DIR:TAG")
        }
        var indexDigest: Digest?
        if MediaType.indexTypes.contains(top.mediaType) {
            indexDigest = top.digest
            let nested = try Index.decode(try readDocument(top, what: "image index"))
            guard let chosen = nested.manifest(for: platform) else {
                throw BuildError.noMatchingPlatform(sourceText, wanted: platform.description,
                                                    available: nested.availablePlatforms.map(\.description))
            }
            top = chosen
        }
        let manifestBytes = try readDocument(top, what: "manifest")
        let manifest = try Manifest.decode(manifestBytes)
        let configBytes = try readDocument(manifest.config, what: "config")
        let config = try ImageConfig.decode(configBytes)
        let diffIDs = config.rootfs.diff_ids
        guard diffIDs.count == manifest.layers.count else {
            throw BuildError.invalidSource(sourceText, reason: "the config lists \(diffIDs.count) diff_ids for \(manifest.layers.count) layers")
        }
        let layers = zip(manifest.layers, diffIDs).map { layer, diffID in
            ResolvedImage.Layer(descriptor: layer, diffID: diffID, path: blobPath(layer.digest))
        }
        for layer in layers where !MediaType.layerTypes.contains(layer.descriptor.mediaType) {
            throw BuildError.invalidSource(sourceText, reason: "layer \(layer.descriptor.digest) has media type \(layer.descriptor.mediaType), not a layer type")
        }
        return ResolvedImage(
            sourceText: sourceText, reference: "\(directory)\(tag.map { ":" + $0 } ?? "")", bootstrap: "oci",
            registry: nil, repository: nil, indexDigest: indexDigest, manifestDigest: top.digest, manifest: manifest,
            configDigest: manifest.config.digest, configBytes: configBytes, config: config, layers: layers
        )
    }
}
