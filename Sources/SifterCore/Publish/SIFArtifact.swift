import Foundation
import Hashing
import OCISpec
import SIF

/// A SIF file as an ORAS artifact: the checks Apptainer makes before pushing, what the SIF
/// says about itself (creation time, provenance), and the manifest Apptainer would write.
public struct SIFArtifact: Sendable {
    public static let configMediaType = MediaType.sifConfig
    public static let layerMediaType = MediaType.sifLayer
    /// Written by Singularity < 3.7 (sic); Apptainer still pulls it.
    public static let legacyLayerMediaType = "appliciation/vnd.sylabs.sif.layer.tar"
    /// The config blob: `{}`, as Apptainer pushes it (and inlines it as `data`).
    public static let configBytes: [UInt8] = Array("{}".utf8)
    public static let configDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

    /// Manifest annotation keys sifter adds besides the OCI ones; `convert` compares the
    /// source digest and build options to decide that nothing changed.
    public enum Key {
        public static let created = "org.opencontainers.image.created"
        public static let source = "org.opencontainers.image.source"
        public static let title = "org.opencontainers.image.title"
        public static let baseName = "org.opencontainers.image.base.name"
        public static let baseDigest = "org.opencontainers.image.base.digest"
        public static let sourceDigest = "org.sylabs.sifter.source.digest"
        public static let buildOptions = "org.sylabs.sifter.build-options"
        public static let sifterVersion = "org.sylabs.sifter.version"
    }

    public let path: String
    public let size: Int64
    public let digest: Digest
    public let arch: String
    /// The layer's `org.opencontainers.image.title`: the file's name.
    public let title: String
    /// Manifest annotations derived from the SIF (never from the clock).
    public let annotations: [String: String]

    /// Opens and checks `path`, hashing it in a streamed pass unless `digests` remembers it
    /// unchanged. `title` overrides the file name.
    public init(path: String, title: String? = nil, digests: FileDigestMemo? = nil) throws {
        let image = try SIFImage.load(path: path)
        defer { try? image.close() }
        guard image.primaryPartition != nil else {
            throw PublishError.notPushable(path: path, reason: "it has no primary system partition (Apptainer would refuse it)")
        }
        guard image.header.arch != .unknown else {
            throw PublishError.notPushable(path: path, reason: "its architecture is \"unknown\" (Apptainer would refuse it)")
        }
        let metadata = try Self.metadata(of: image, path: path)
        var info = stat()
        guard stat(path, &info) == 0 else { throw SifterError.io(path: path, operation: "stat", reason: String(cString: strerror(errno))) }
        self.path = path
        size = Int64(info.st_size)
        digest = try digests?.digestOrHash(path) ?? Digest(sha256Hex: SHA256.hash(fileAt: path).hex)
        arch = image.header.arch.goName
        self.title = title ?? URL(fileURLWithPath: path).lastPathComponent
        annotations = metadata.annotations(headerCreated: image.header.createdAt)
    }

    /// The image manifest, byte for byte as Apptainer's ggcr writes it: members in Go struct
    /// order, map keys sorted, compact. `extra` (user `--annotation`s) win over derived ones.
    public func manifest(extra: [String: String] = [:]) -> [UInt8] {
        Self.manifest(layerSize: size, layerDigest: digest, title: title, annotations: annotations.merging(extra) { _, user in user })
    }

    public static func manifest(layerSize: Int64, layerDigest: Digest, title: String, annotations: [String: String]) -> [UInt8] {
        let config = JSONValue.object([
            ("mediaType", .string(configMediaType)), ("size", .int(Int64(configBytes.count))),
            ("digest", .string(configDigest)), ("data", .string(Data(configBytes).base64EncodedString())),
        ])
        let layer = JSONValue.object([
            ("mediaType", .string(layerMediaType)), ("size", .int(layerSize)), ("digest", .string(layerDigest.description)),
            ("annotations", .object([(Key.title, .string(title))])),
        ])
        var members: [(String, JSONValue)] = [
            ("schemaVersion", .int(2)), ("mediaType", .string(MediaType.ociManifest)), ("config", config), ("layers", .array([layer])),
        ]
        if !annotations.isEmpty {
            members.append(("annotations", .object(annotations.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        return Array(JSONValue.object(members).rendered(indentString: "").utf8)
    }

    // MARK: What the SIF says about itself

    /// The parts of `inspect-metadata.json` and `sifter-provenance.json` a push records.
    struct Metadata {
        var labels: [String: String] = [:]
        var provenance: Provenance?

        struct Provenance: Decodable {
            var source: String?
            var reference: String?
            var manifestDigest: String?
            var buildOptions: String?
            var sifterVersion: String?
        }

        func annotations(headerCreated: Int64) -> [String: String] {
            var result: [String: String] = [:]
            // Apptainer takes the created label; without one, the header's creation time
            // rather than the clock, so the same file always gives the same manifest.
            let created = labels[Key.created].flatMap { $0.isEmpty ? nil : $0 } ?? UnixTime.iso8601(headerCreated)
            result[Key.created] = created
            if let source = labels[Key.source] ?? provenance?.source { result[Key.source] = source }
            if let provenance {
                if let reference = provenance.reference { result[Key.baseName] = reference }
                if let digest = provenance.manifestDigest {
                    result[Key.baseDigest] = digest
                    result[Key.sourceDigest] = digest
                }
                if let options = provenance.buildOptions { result[Key.buildOptions] = options }
                if let version = provenance.sifterVersion { result[Key.sifterVersion] = version }
            }
            return result
        }
    }

    static func metadata(of image: SIFImage, path: String) throws -> Metadata {
        var metadata = Metadata()
        let json = image.descriptors(matching: [.dataType(.genericJSON)])
        if let inspect = json.first(where: { $0.name == "inspect-metadata.json" }) {
            struct Inspect: Decodable {
                struct DataPart: Decodable {
                    struct Attributes: Decodable { var labels: [String: String]? }
                    var attributes: Attributes?
                }
                var data: DataPart?
            }
            let bytes = try image.data(of: inspect, limit: 4 << 20)
            do {
                metadata.labels = try JSONDecoder().decode(Inspect.self, from: Data(bytes)).data?.attributes?.labels ?? [:]
            } catch {
                throw PublishError.invalidMetadata(path: path, object: "\(inspect.id) (inspect-metadata.json)", reason: "\(error)")
            }
        }
        if let provenance = json.first(where: { $0.name == "sifter-provenance.json" }) {
            let bytes = try image.data(of: provenance, limit: 4 << 20)
            do {
                metadata.provenance = try JSONDecoder().decode(Metadata.Provenance.self, from: Data(bytes))
            } catch {
                throw PublishError.invalidMetadata(path: path, object: "\(provenance.id) (sifter-provenance.json)", reason: "\(error)")
            }
        }
        return metadata
    }
}
