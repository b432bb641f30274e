import OCISpec

/// `sifter-provenance.json`: where the partition came from, for `sifter verify` and people.
struct ProvenanceDocument: Sendable {
    let image: ResolvedImage
    let options: BuildOptions
    let mksquashfsVersion: String
    var mksquashfsArguments: [String]
    /// The build's fixed time (SOURCE_DATE_EPOCH or the image's `created`), for `verify --rebuild`.
    let time: Int64

    init(image: ResolvedImage, options: BuildOptions, mksquashfsVersion: String, mksquashfsArguments: [String], time: Int64) {
        self.image = image
        self.options = options
        self.mksquashfsVersion = mksquashfsVersion
        self.mksquashfsArguments = mksquashfsArguments
        self.time = time
    }

    func encoded() -> [UInt8] {
        // The output path is a temporary name; record the arguments without it.
        let arguments = mksquashfsArguments.enumerated().map { $0.offset == 1 ? "OUTPUT" : $0.element }
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
            ("mksquashfsArguments", .array(arguments.map { .string($0) })),
            // What `sifter verify --rebuild` needs to repeat the build (RecordedProvenance reads
            // it), and the name of the integrity record the builder appends after the partition.
            ("build", .object([
                ("platform", .string(options.platform.description)),
                ("compression", .string(options.squashfs.compression)),
                ("blockSize", options.squashfs.blockSize.map { .int(Int64($0)) } ?? .null),
                ("processors", options.squashfs.processors.map { .int(Int64($0)) } ?? .null),
                ("time", .int(time)),
            ])),
            ("integrity", .string(IntegrityRecord.objectName)),
        ])
        return Array(document.rendered(indentString: "").utf8)
    }
}
