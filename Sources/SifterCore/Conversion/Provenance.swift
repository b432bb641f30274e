import OCISpec

/// `sifter-provenance.json`: where the partition came from, for `sifter verify` and people.
/// It is written after the partition, once mksquashfs has run, so it records what ran.
struct ProvenanceDocument: Sendable {
    static let objectName = "sifter-provenance.json"

    let image: ResolvedImage
    let options: BuildOptions
    let mksquashfsVersion: String
    /// mksquashfs's arguments (the output named `OUTPUT`) and the environment variables that
    /// change its output.
    let mksquashfs: (arguments: [String], environment: [String: String])?
    /// The build's fixed time (SOURCE_DATE_EPOCH or the image's `created`), for `verify --rebuild`.
    let time: Int64

    func encoded() -> [UInt8] {
        let layers: [JSONValue] = image.layers.map { layer in
            .object([
                ("digest", .string(layer.descriptor.digest.description)),
                ("size", .int(layer.descriptor.size)),
                ("diffID", layer.diffID.map { .string($0.description) } ?? .null),
                ("mediaType", .string(layer.descriptor.mediaType)),
            ])
        }
        let document = JSONValue.object([
            ("source", .string(image.sourceText)),
            ("reference", .string(image.reference)),
            ("registry", image.registry.map { .string($0) } ?? .null),
            ("repository", image.repository.map { .string($0) } ?? .null),
            ("indexDigest", image.indexDigest.map { .string($0.description) } ?? .null),
            ("manifestDigest", .string(image.manifestDigest.description)),
            ("platform", .string(image.platform.description)),
            ("configDigest", .string(image.configDigest.description)),
            ("layers", .array(layers)),
            ("buildOptions", .string(options.fingerprint)),
            ("sifterVersion", .string(BuildMetadata.sifterVersion)),
            ("mksquashfsVersion", .string(mksquashfsVersion)),
            ("mksquashfs", .object([
                ("executable", .string(options.squashfs.executable)),
                ("arguments", .array((mksquashfs?.arguments ?? []).map { .string($0) })),
                ("environment", .object((mksquashfs?.environment ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ])),
            // What `sifter verify --rebuild` needs to repeat the build (RecordedProvenance reads
            // it), and the name of the integrity record the builder appends after the partition.
            ("build", .object([
                ("platform", .string(options.platform.description)),
                ("compression", .string(options.squashfs.compression)),
                ("blockSize", options.squashfs.blockSize.map { .int(Int64($0)) } ?? .null),
                ("processors", options.squashfs.processors.map { .int(Int64($0)) } ?? .null),
                ("time", .int(time)),
                ("sbom", .string(options.sbomFormat?.rawValue ?? "none")),
            ])),
            ("integrity", .string(IntegrityRecord.objectName)),
        ])
        return Array(document.rendered(indentString: "").utf8)
    }
}
