import Foundation

/// A content descriptor (image-spec `descriptor.md`).
public struct Descriptor: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var urls: [String]?
    public var annotations: [String: String]?
    public var platform: Platform?
    public var artifactType: String?
    /// Inline content (base64), as ORAS puts small configs.
    public var data: String?

    public init(mediaType: String, digest: Digest, size: Int64, annotations: [String: String]? = nil, platform: Platform? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }
}

/// An image manifest, OCI or Docker schema 2 (same JSON shape).
public struct Manifest: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociManifest, config: Descriptor, layers: [Descriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }

    public static func decode(_ bytes: [UInt8]) throws -> Manifest {
        let manifest = try decodeDocument(Manifest.self, what: "manifest", from: bytes)
        guard manifest.schemaVersion == 2 else {
            throw OCISpecError.invalidDocument(what: "manifest", reason: "schemaVersion \(manifest.schemaVersion), only 2 is supported")
        }
        return manifest
    }
}

/// An image index or Docker manifest list.
public struct Index: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(manifests: [Descriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = MediaType.ociIndex
        self.manifests = manifests
        self.annotations = annotations
    }

    public static func decode(_ bytes: [UInt8]) throws -> Index {
        try decodeDocument(Index.self, what: "image index", from: bytes)
    }
}

/// Just enough of a manifest or index to tell which it is.
public struct MediaTypeProbe: Decodable, Sendable {
    public var mediaType: String?
    public var manifests: [Descriptor]?
    public var layers: [Descriptor]?

    /// The document's kind: its declared media type, else guessed from its members.
    public static func kind(of bytes: [UInt8]) -> String? {
        guard let probe = try? JSONDecoder().decode(MediaTypeProbe.self, from: Data(bytes)) else { return nil }
        if let mediaType = probe.mediaType { return mediaType }
        if probe.manifests != nil { return MediaType.ociIndex }
        if probe.layers != nil { return MediaType.ociManifest }
        return nil
    }
}
