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

    public func resolve(platform: Platform) throws -> ResolvedImage {
        let files = LayoutDirectory(directory: directory, sourceText: sourceText)
        return try LayoutResolver(files: files, tag: tag, sourceText: sourceText)
            .resolve(platform: platform, reference: "\(directory)\(tag.map { ":" + $0 } ?? "")", bootstrap: "oci")
    }
}

/// Where the files of an OCI image layout are read: a directory, or an archive of one. Every
/// read checks the size before reading; blobs are checked against their descriptor's digest.
protocol LayoutFiles {
    /// `index.json`, at most `LocalFile.documentLimit` bytes.
    func indexJSON() throws -> [UInt8]
    /// A document blob, at most `limit` bytes and exactly its descriptor's size and digest.
    func blob(_ descriptor: Descriptor, what: String, limit: Int64) throws -> [UInt8]
    /// The layer blobs as files on disk, each a regular file of its descriptor's size.
    func layerPaths(_ layers: [Descriptor]) throws -> [String]
}

/// A layout directory.
struct LayoutDirectory: LayoutFiles {
    let directory: String
    let sourceText: String

    func blobPath(_ digest: Digest) -> String { "\(directory)/blobs/sha256/\(digest.hex)" }

    func indexJSON() throws -> [UInt8] {
        let path = directory + "/index.json"
        do {
            return try LocalFile.read(path, limit: LocalFile.documentLimit)
        } catch .missing {
            throw BuildError.invalidSource(sourceText, reason: "\(path) not found: not an OCI image layout")
        } catch {
            throw BuildError.invalidSource(sourceText, reason: error.reason(path))
        }
    }

    func blob(_ descriptor: Descriptor, what: String, limit: Int64) throws -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try LocalFile.read(blobPath(descriptor.digest), limit: limit, expected: descriptor.size)
        } catch {
            throw LayoutResolver.failure(error, what: what, descriptor: descriptor, place: "\(directory)/blobs", source: sourceText)
        }
        try BuildError.checkBlob(bytes, against: descriptor, source: sourceText, what: what)
        return bytes
    }

    func layerPaths(_ layers: [Descriptor]) throws -> [String] {
        var paths: [String] = []
        for layer in layers {
            let path = blobPath(layer.digest)
            do {
                try LocalFile.check(path, expected: layer.size)
            } catch {
                throw LayoutResolver.failure(error, what: "layer", descriptor: layer, place: "\(directory)/blobs", source: sourceText)
            }
            paths.append(path)
        }
        return paths
    }
}

/// Resolves an image in an OCI layout: the tagged entry of index.json, the platform's manifest
/// (following nested indexes, see `Index.selectManifest`), its config and layers.
struct LayoutResolver {
    let files: any LayoutFiles
    let tag: String?
    let sourceText: String

    func resolve(platform: Platform, reference: String, bootstrap: String) throws -> ResolvedImage {
        let index = try decoded { try Index.decode(try files.indexJSON()) }
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
            let imageIndex = try decoded { try Index.decode(try files.blob(top, what: "image index", limit: LocalFile.documentLimit)) }
            top = try select(from: imageIndex, digest: top.digest, platform: platform)
        }
        let manifestBytes = try files.blob(top, what: "manifest", limit: LocalFile.documentLimit)
        let manifest = try decoded { try Manifest.decode(manifestBytes) }
        try Self.requireImage(manifest, source: sourceText)
        let configBytes = try files.blob(manifest.config, what: "config", limit: LocalFile.configLimit)
        let config = try decoded { try ImageConfig.decode(configBytes) }
        let diffIDs = config.rootfs.diff_ids
        guard diffIDs.count == manifest.layers.count else {
            throw BuildError.invalidSource(sourceText, reason: "the config lists \(diffIDs.count) diff_ids for \(manifest.layers.count) layers")
        }
        for layer in manifest.layers where !MediaType.layerTypes.contains(layer.mediaType) {
            throw BuildError.invalidSource(sourceText, reason: "layer \(layer.digest) has media type \(layer.mediaType), not a layer type")
        }
        let paths = try files.layerPaths(manifest.layers)
        let layers = zip(manifest.layers, zip(diffIDs, paths)).map { layer, rest in
            ResolvedImage.Layer(descriptor: layer, diffID: rest.0, path: rest.1)
        }
        return ResolvedImage(
            sourceText: sourceText, reference: reference, bootstrap: bootstrap,
            registry: nil, repository: nil, indexDigest: indexDigest, manifestDigest: top.digest, manifest: manifest,
            configDigest: manifest.config.digest, configBytes: configBytes, config: config, layers: layers
        )
    }

    /// The platform's manifest, nested indexes followed; messages name the source.
    private func select(from index: Index, digest: Digest, platform: Platform) throws -> Descriptor {
        do {
            return try index.selectManifest(for: platform, digest: digest) { nested in
                try Index.decode(try files.blob(nested, what: "nested image index", limit: LocalFile.documentLimit))
            }.manifest
        } catch let OCISpecError.noMatchingPlatform(wanted, available) {
            throw BuildError.noMatchingPlatform(sourceText, wanted: wanted, available: available)
        } catch let error as OCISpecError {
            throw BuildError.invalidSource(sourceText, reason: error.description)
        }
    }

    /// A document that does not decode is the source's fault: say which source.
    private func decoded<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as OCISpecError {
            throw BuildError.invalidSource(sourceText, reason: error.description)
        }
    }

    /// Refuses an artifact (a Helm chart, a SIF pushed with ORAS) with its media types named,
    /// and for a SIF from a registry, the command that fetches it.
    static func requireImage(_ manifest: Manifest, source: String) throws {
        do {
            try manifest.requireContainerImage()
        } catch {
            var reason = error.description
            if manifest.config.mediaType == MediaType.sifConfig, source.hasPrefix("docker://") {
                reason += "; run `sifter pull oras://\(source.dropFirst("docker://".count)) OUT.sif`"
            }
            throw BuildError.invalidSource(source, reason: reason)
        }
    }

    /// A local file problem as a message naming the blob and where it should be.
    static func failure(_ problem: LocalFile.Problem, what: String, descriptor: Descriptor, place: String, source: String) -> BuildError {
        switch problem {
        case .missing:
            .invalidSource(source, reason: "\(what) \(descriptor.digest) is missing from \(place)")
        case let .sizeMismatch(size, expected):
            .blobMismatch(source, what: what, digest: descriptor.digest.description,
                          reason: "size is \(size) bytes, the descriptor says \(expected)")
        case let .tooLarge(size, limit):
            .blobMismatch(source, what: what, digest: descriptor.digest.description,
                          reason: "\(size) bytes, more than the \(limit) sifter reads of a \(what)")
        default:
            .invalidSource(source, reason: problem.reason("\(what) \(descriptor.digest) in \(place)"))
        }
    }
}
