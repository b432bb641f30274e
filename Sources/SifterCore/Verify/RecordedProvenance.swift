import Foundation
import OCISpec
import SBOM
import SIF

/// `sifter-provenance.json` as `verify` reads it back (ProvenanceDocument writes it).
public struct RecordedProvenance: Sendable, Decodable {
    /// The source as the user wrote it (`docker://…:tag`, `oci:DIR:TAG`).
    public var source: String
    public var reference: String
    public var indexDigest: Digest?
    public var manifestDigest: Digest
    /// The image's own platform (from its config or index entry).
    public var platform: String
    public var configDigest: Digest
    public var buildOptions: String
    public var sifterVersion: String
    public var mksquashfsVersion: String
    /// Structured build options; absent in SIFs written before `verify` existed.
    public var build: BuildFields?
    public var integrity: String?

    public struct BuildFields: Sendable, Decodable {
        /// The platform asked for; it is part of the SIF ID, so a rebuild must ask for it too.
        public var platform: String
        public var compression: String
        public var blockSize: Int?
        public var processors: Int?
        public var time: Int64
        /// `spdx`, `cyclonedx` or `none`; absent in SIFs written before SBOMs existed (none).
        public var sbom: String?
    }

    /// Reads the provenance object of `image`; nil when there is none.
    public static func load(from image: SIFImage) throws -> RecordedProvenance? {
        let found = image.descriptors(matching: [.dataType(.genericJSON), .name(IntegrityChecker.provenanceName)])
        guard let descriptor = found.first else { return nil }
        guard found.count == 1 else {
            throw SifterError.invalidArgument("\(image.path): \(found.count) provenance objects")
        }
        do {
            return try JSONDecoder().decode(RecordedProvenance.self, from: Data(try image.data(of: descriptor)))
        } catch {
            throw SifterError.invalidArgument("\(image.path): object \(descriptor.id) \"\(descriptor.name)\" is not readable provenance: \(error)")
        }
    }

    /// The platform to pick from an index: the one the build asked for, else the image's own.
    public var requestedPlatform: Platform {
        get throws { try Platform(parsing: build?.platform ?? platform) }
    }

    /// The options that reproduce the build, or nil when the provenance predates them.
    public func buildOptions(mksquashfs: String) throws -> BuildOptions? {
        guard let build else { return nil }
        var options = BuildOptions()
        options.platform = try Platform(parsing: build.platform)
        options.squashfs.compression = build.compression
        options.squashfs.blockSize = build.blockSize
        options.squashfs.processors = build.processors
        options.squashfs.executable = mksquashfs
        // The recorded time is what the build used, whether it came from SOURCE_DATE_EPOCH or
        // the image's `created`; passing it back gives the same time either way.
        options.sourceDateEpoch = build.time
        options.sbomFormat = build.sbom.flatMap(SBOMDocumentFormat.init(rawValue:))
        options.force = true
        return options
    }
}
