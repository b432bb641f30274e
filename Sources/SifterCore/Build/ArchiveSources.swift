import ArchiveIO
import Foundation
import Hashing
import OCISpec

/// Unpacks an image archive's members (blobs and documents, never a root file system) into a
/// private directory beside the output, removed when the source is released.
final class ArchiveUnpacker: @unchecked Sendable {
    let directory: String

    init(archive: String, source: String) throws {
        guard FileManager.default.fileExists(atPath: archive) else {
            throw BuildError.invalidSource(source, reason: "\(archive) not found")
        }
        directory = NSTemporaryDirectory() + "sifter-archive-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            try unpack(archive, source: source)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    private func unpack(_ archive: String, source: String) throws {
        let reader = try ArchiveReader(path: archive)
        defer { try? reader.close() }
        while let entry = try reader.nextEntry() {
            guard let name = entry.pathname else { continue }
            // Only plain relative names: an image archive has no reason for anything else.
            let parts = name.split(separator: "/").filter { $0 != "." }
            guard !name.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty else {
                throw BuildError.invalidSource(source, reason: "archive member \"\(name)\" is not a plain relative path")
            }
            let target = directory + "/" + parts.joined(separator: "/")
            switch entry.fileType {
            case .directory:
                try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            case .regular:
                try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard fd >= 0 else {
                    throw BuildError.invalidSource(source, reason: "cannot unpack \"\(name)\": \(String(cString: strerror(errno)))")
                }
                defer { close(fd) }
                try reader.readData(toFileDescriptor: fd)
            default:
                continue
            }
        }
    }
}

/// `oci-archive:FILE[:TAG]`: a tar of an OCI image layout.
public final class OCIArchiveSource: ImageSource, @unchecked Sendable {
    private let unpacked: ArchiveUnpacker
    private let layout: OCILayoutSource

    public init(spec: String, sourceText: String) throws {
        let (path, tag) = OCILayoutSource.split(spec)
        unpacked = try ArchiveUnpacker(archive: path, source: sourceText)
        layout = OCILayoutSource(directory: unpacked.directory, tag: tag, sourceText: sourceText)
    }

    public func resolve(platform: Platform) throws -> ResolvedImage {
        var image = try layout.resolve(platform: platform)
        image.bootstrap = "oci-archive"
        image.reference = String(sourceText.dropFirst("oci-archive:".count))
        return image
    }

    private var sourceText: String { layout.sourceText }
}

/// `docker-archive:FILE[:REF]`: the output of `docker save` (manifest.json, a config and
/// uncompressed layer tars). Its layers are plain tars, so each layer's digest is its diff_id
/// and is checked while the layer is read.
public final class DockerArchiveSource: ImageSource, @unchecked Sendable {
    private let unpacked: ArchiveUnpacker
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
        unpacked = try ArchiveUnpacker(archive: path, source: sourceText)
    }

    public func resolve(platform: Platform) throws -> ResolvedImage {
        let root = unpacked.directory
        guard let data = FileManager.default.contents(atPath: root + "/manifest.json") else {
            throw BuildError.invalidSource(sourceText, reason: "no manifest.json: not a docker-archive")
        }
        let entries: [Entry]
        do { entries = try JSONDecoder().decode([Entry].self, from: data) } catch {
            throw BuildError.invalidSource(sourceText, reason: "manifest.json: \(error)")
        }
        let matches = wanted.map { tag in entries.filter { ($0.RepoTags ?? []).contains(tag) } } ?? entries
        guard matches.count == 1, let entry = matches.first else {
            let tags = entries.flatMap { $0.RepoTags ?? [] }
            throw BuildError.invalidSource(sourceText, reason: "the archive holds \(entries.count) images (tags: \(tags.joined(separator: ", "))); name one as docker-archive:FILE:REF")
        }
        let configBytes = try readMember(entry.Config, limit: 16 << 20)
        let config = try ImageConfig.decode(configBytes)
        guard config.rootfs.diff_ids.count == entry.Layers.count else {
            throw BuildError.invalidSource(sourceText, reason: "the config lists \(config.rootfs.diff_ids.count) diff_ids for \(entry.Layers.count) layers")
        }
        let configDigest = try Digest(sha256Hex: SHA256.hash(configBytes).hex)
        var descriptors: [OCISpec.Descriptor] = []
        var layers: [ResolvedImage.Layer] = []
        for (name, diffID) in zip(entry.Layers, config.rootfs.diff_ids) {
            let file = try memberPath(name)
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0
            let descriptor = OCISpec.Descriptor(mediaType: "application/vnd.docker.image.rootfs.diff.tar", digest: diffID, size: size)
            descriptors.append(descriptor)
            layers.append(ResolvedImage.Layer(descriptor: descriptor, diffID: diffID, path: file))
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

    private func memberPath(_ name: String) throws -> String {
        let parts = name.split(separator: "/")
        guard !name.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty else {
            throw BuildError.invalidSource(sourceText, reason: "manifest.json names \"\(name)\", not a member path")
        }
        let file = unpacked.directory + "/" + parts.joined(separator: "/")
        guard FileManager.default.fileExists(atPath: file) else {
            throw BuildError.invalidSource(sourceText, reason: "manifest.json names \"\(name)\", which the archive lacks")
        }
        return file
    }

    private func readMember(_ name: String, limit: Int) throws -> [UInt8] {
        let file = try memberPath(name)
        guard let data = FileManager.default.contents(atPath: file), data.count <= limit else {
            throw BuildError.invalidSource(sourceText, reason: "cannot read \"\(name)\"")
        }
        return [UInt8](data)
    }
}
