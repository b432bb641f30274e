import Foundation
import Hashing
import OCISpec

/// `oci-archive:FILE[:TAG]`: a tar of an OCI image layout, read in place (`ImageArchive`).
public final class OCIArchiveSource: ImageSource, Sendable {
    private let archive: ImageArchive
    private let tag: String?
    private let sourceText: String

    public init(spec: String, sourceText: String) throws {
        let (path, tag) = OCILayoutSource.split(spec)
        archive = try ImageArchive(path: path, sourceText: sourceText)
        self.tag = tag
        self.sourceText = sourceText
    }

    public func resolve(platform: Platform) throws -> ResolvedImage {
        try LayoutResolver(files: ArchivedLayout(archive: archive), tag: tag, sourceText: sourceText)
            .resolve(platform: platform, reference: String(sourceText.dropFirst("oci-archive:".count)), bootstrap: "oci-archive")
    }
}

/// The files of an OCI layout inside an archive.
struct ArchivedLayout: LayoutFiles {
    let archive: ImageArchive

    func indexJSON() throws -> [UInt8] {
        let name = "\(archive.path): index.json"
        do {
            guard let bytes = try archive.read("index.json", limit: LocalFile.documentLimit) else {
                throw BuildError.invalidSource(archive.sourceText, reason: "no index.json in \(archive.path): not an OCI image layout archive")
            }
            return bytes
        } catch let problem as LocalFile.Problem {
            throw BuildError.invalidSource(archive.sourceText, reason: problem.reason(name))
        }
    }

    func blob(_ descriptor: Descriptor, what: String, limit: Int64) throws -> [UInt8] {
        let bytes: [UInt8]
        do {
            guard let read = try archive.read(Self.name(descriptor.digest), limit: limit, expected: descriptor.size) else {
                throw LocalFile.Problem.missing
            }
            bytes = read
        } catch let problem as LocalFile.Problem {
            throw LayoutResolver.failure(problem, what: what, descriptor: descriptor, place: archive.path, source: archive.sourceText)
        }
        try BuildError.checkBlob(bytes, against: descriptor, source: archive.sourceText, what: what)
        return bytes
    }

    func layerPaths(_ layers: [Descriptor]) throws -> [String] {
        for layer in layers {
            guard let member = archive.member(Self.name(layer.digest)) else {
                throw LayoutResolver.failure(.missing, what: "layer", descriptor: layer, place: archive.path, source: archive.sourceText)
            }
            guard member.size == layer.size else {
                throw LayoutResolver.failure(.sizeMismatch(size: member.size, expected: layer.size), what: "layer", descriptor: layer,
                                             place: archive.path, source: archive.sourceText)
            }
        }
        let paths = try archive.extract(layers.map { (Self.name($0.digest), $0.size) })
        return layers.map { paths[Self.name($0.digest)] ?? "" }
    }

    static func name(_ digest: Digest) -> String { "blobs/sha256/\(digest.hex)" }
}

/// `docker-archive:FILE[:REF]`: the output of `docker save` (manifest.json, a config and
/// uncompressed layer tars), compressed or not, read in place (`ImageArchive`). Its layers are
/// plain tars, so each layer's digest is its diff_id and is checked while the layer is read.
public final class DockerArchiveSource: ImageSource, Sendable {
    private let archive: ImageArchive
    private let wanted: String?
    private let sourceText: String
    private let path: String

    struct Entry: Decodable {
        var Config: String
        var RepoTags: [String]?
        var Layers: [String]
    }

    public init(spec: String, sourceText: String) throws {
        let (path, reference) = OCILayoutSource.split(spec)
        self.path = path
        self.sourceText = sourceText
        wanted = reference
        archive = try ImageArchive(path: path, sourceText: sourceText)
    }

    public func resolve(platform: Platform) throws -> ResolvedImage {
        let data = try member("manifest.json", limit: LocalFile.documentLimit, what: "manifest.json") {
            "no manifest.json in \(path): not a docker-archive"
        }
        let entries: [Entry]
        do { entries = try JSONDecoder().decode([Entry].self, from: Data(data)) } catch let error as DecodingError {
            throw BuildError.invalidSource(sourceText, reason: "manifest.json: \(error.readable)")
        }
        let matches = wanted.map { tag in entries.filter { ($0.RepoTags ?? []).contains(tag) } } ?? entries
        guard matches.count == 1, let entry = matches.first else {
            let tags = entries.flatMap { $0.RepoTags ?? [] }
            throw BuildError.invalidSource(sourceText, reason: "the archive holds \(entries.count) images (tags: \(tags.joined(separator: ", "))); name one as docker-archive:FILE:REF")
        }
        let configBytes = try member(entry.Config, limit: LocalFile.configLimit, what: "config \(entry.Config)") {
            "manifest.json names \"\(entry.Config)\", which the archive lacks"
        }
        let config: ImageConfig
        do { config = try ImageConfig.decode(configBytes) } catch let error as OCISpecError {
            throw BuildError.invalidSource(sourceText, reason: "\(entry.Config): \(error)")
        }
        guard config.rootfs.diff_ids.count == entry.Layers.count else {
            throw BuildError.invalidSource(sourceText, reason: "the config lists \(config.rootfs.diff_ids.count) diff_ids for \(entry.Layers.count) layers")
        }
        let configDigest = try Digest(sha256Hex: SHA256.hash(configBytes).hex)
        var sizes: [(name: String, size: Int64)] = []
        for name in entry.Layers {
            guard let normalized = try ImageArchive.normalize(name, source: sourceText), let found = archive.member(normalized) else {
                throw BuildError.invalidSource(sourceText, reason: "manifest.json names \"\(name)\", which the archive lacks")
            }
            sizes.append((normalized, found.size))
        }
        let paths = try archive.extract(sizes)
        var descriptors: [OCISpec.Descriptor] = []
        var layers: [ResolvedImage.Layer] = []
        for (layer, diffID) in zip(sizes, config.rootfs.diff_ids) {
            let descriptor = OCISpec.Descriptor(mediaType: "application/vnd.docker.image.rootfs.diff.tar", digest: diffID, size: layer.size)
            descriptors.append(descriptor)
            layers.append(ResolvedImage.Layer(descriptor: descriptor, diffID: diffID, path: paths[layer.name] ?? ""))
        }
        // A Docker schema 2 manifest for what the archive holds, so the SIF records a digest
        // that identifies these exact config and layers.
        let manifest = Manifest(
            mediaType: MediaType.dockerManifest,
            config: OCISpec.Descriptor(mediaType: MediaType.dockerConfig, digest: configDigest, size: Int64(configBytes.count)),
            layers: descriptors)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let manifestBytes = [UInt8](try encoder.encode(manifest))
        return ResolvedImage(
            sourceText: sourceText, reference: wanted.map { "\(path):\($0)" } ?? path, bootstrap: "docker-archive",
            registry: nil, repository: nil, indexDigest: nil,
            manifestDigest: try Digest(sha256Hex: SHA256.hash(manifestBytes).hex), manifest: manifest,
            configDigest: configDigest, configBytes: configBytes, config: config, layers: layers)
    }

    /// A small member, its size checked before it is read.
    private func member(_ name: String, limit: Int64, what: String, missing: () -> String) throws -> [UInt8] {
        do {
            guard let normalized = try ImageArchive.normalize(name, source: sourceText),
                  let bytes = try archive.read(normalized, limit: limit) else {
                throw BuildError.invalidSource(sourceText, reason: missing())
            }
            return bytes
        } catch let problem as LocalFile.Problem {
            throw BuildError.invalidSource(sourceText, reason: problem.reason(what))
        }
    }
}
