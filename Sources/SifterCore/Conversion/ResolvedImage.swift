import Distribution
import OCISpec
import Rootfs

/// An image ready to flatten: its documents and where each layer blob sits on disk.
public struct ResolvedImage: Sendable {
    /// The source as the user wrote it (`docker://…`, `oci:DIR:TAG`), for messages and provenance.
    public var sourceText: String
    /// The reference a definition file names for it (`docker.io/library/alpine:3.19`).
    public var reference: String
    public var bootstrap: String
    public var registry: String?
    public var repository: String?
    public var indexDigest: Digest?
    public var manifestDigest: Digest
    public var manifest: Manifest
    public var configDigest: Digest
    public var configBytes: [UInt8]
    public var config: ImageConfig
    public var layers: [Layer]
    /// Set when layers are still downloading (`resolveWhileDownloading`).
    public var downloads: BlobDownloads?

    public struct Layer: Sendable {
        public var descriptor: Descriptor
        public var diffID: Digest?
        /// How the flattener reads the blob, and who checks its digest.
        public var blob: LayerBlob

        public init(descriptor: Descriptor, diffID: Digest?, blob: LayerBlob) {
            self.descriptor = descriptor
            self.diffID = diffID
            self.blob = blob
        }

        /// A blob in a file sifter does not own (an OCI layout, an unpacked archive): its
        /// digest is checked on every read.
        public init(descriptor: Descriptor, diffID: Digest?, path: String) {
            self.init(descriptor: descriptor, diffID: diffID, blob: .file(path))
        }
    }

    public var platform: Platform { config.platform }
}

/// Where images come from: a registry, an OCI layout, an archive.
public protocol ImageSource: Sendable {
    func resolve(platform: Platform) throws -> ResolvedImage
    /// Like `resolve`, but may return while layers are still downloading (`downloads`).
    func resolveWhileDownloading(platform: Platform) throws -> ResolvedImage
}

extension ImageSource {
    public func resolveWhileDownloading(platform: Platform) throws -> ResolvedImage {
        try resolve(platform: platform)
    }
}
