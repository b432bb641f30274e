import OCISpec

/// Options of `sifter def`.
public struct DefinitionOptions: Sendable, Hashable {
    /// `From: REF@sha256:…` (the default, and what `build` embeds); false keeps the reference as given.
    public var pinned: Bool
    /// Start %runscript and %startscript with `cd WorkingDir`. Off by default: Apptainer runs
    /// in the caller's directory and ignores WorkingDir, and a SIF built by sifter does too.
    public var applyWorkingDir: Bool

    public init(pinned: Bool = true, applyWorkingDir: Bool = false) {
        self.pinned = pinned
        self.applyWorkingDir = applyWorkingDir
    }
}

/// An Apptainer definition file generated from an image's metadata: `apptainer build x.sif
/// file.def` (Apptainer 1.3 and later) gives the container sifter builds from the same image. A
/// pure function of the image and the options (no clock, no host state), so `build` can embed
/// it reproducibly, and `build` applies the same sections to its own tree (`labels`, `scripts`).
///
/// Every value from the image is quoted for its place (see `DefinitionText`): no label, Env
/// entry, argument or path can add a section, a build stage, a build variable or shell code.
/// What the format cannot hold is left out with a comment and listed in `warnings`.
public struct DefinitionFile: Sendable, Equatable {
    /// What the header names.
    public struct Origin: Sendable, Hashable {
        /// `docker` or `oci`.
        public var bootstrap: String
        /// `registry/repo:tag` for `docker`, `DIR[:TAG]` for `oci`.
        public var reference: String
        public var manifestDigest: Digest?
        public var indexDigest: Digest?
        public var platform: Platform
        /// The config's `created`, as written.
        public var created: String?

        public init(bootstrap: String, reference: String, manifestDigest: Digest?, indexDigest: Digest? = nil,
                    platform: Platform, created: String?) {
            self.bootstrap = bootstrap
            self.reference = reference
            self.manifestDigest = manifestDigest
            self.indexDigest = indexDigest
            self.platform = platform
            self.created = created
        }
    }

    /// Labels sifter adds to the image's (in %labels and in the SIF it builds).
    public enum Label {
        /// The reference `From:` was resolved from, when `From:` had to leave its tag out.
        public static let sourceReference = "org.sylabs.sifter.source.reference"
        /// The image's HEALTHCHECK test, as JSON: Apptainer has no health checks.
        public static let healthcheck = "org.sylabs.sifter.healthcheck"
    }

    public let text: String
    /// Metadata the file does not carry, and why (also written as comments in the file).
    public let warnings: [String]
    /// Set when `From:` could not be written: the file is then no use to `apptainer build`.
    public let unusableReason: String?
    /// The `From:` value, nil when it could not be written.
    public let from: String?
    /// What Apptainer reads from %labels (`parser.GetLabels`). The image's own labels are not
    /// among them: the bootstrap copies those, and `insertLabelsJSON` warns for each repeat.
    public let labels: [String: String]
    /// Each section's script as Apptainer's parser hands it on (`parseTokenSection`): the body
    /// and, unless it is the last section, the blank line before the next one.
    public let scripts: [String: String]

    public init(image: ResolvedImage, options: DefinitionOptions = DefinitionOptions()) {
        let origin = Origin(bootstrap: image.bootstrap, reference: image.reference, manifestDigest: image.manifestDigest,
                            indexDigest: image.indexDigest, platform: image.platform, created: image.config.created)
        self.init(origin: origin, config: image.config.config, options: options)
    }

    public init(origin: Origin, config: ImageConfig.Config?, options: DefinitionOptions = DefinitionOptions()) {
        var writer = Writer(config: config ?? ImageConfig.Config(), options: options)
        writer.header(origin)
        writer.help(origin)
        writer.labels(origin)
        writer.environment()
        writer.scripts()
        text = writer.finished()
        warnings = writer.warnings
        unusableReason = writer.unusableReason
        from = writer.from
        labels = writer.labelValues
        var scripts: [String: String] = [:]
        for (index, section) in writer.sections.enumerated() {
            scripts[section.name] = section.body + (index == writer.sections.count - 1 ? "" : "\n")
        }
        self.scripts = scripts
    }

    /// The `From:` value. Pinned, a registry reference names the manifest by digest alone:
    /// Apptainer 1.3 and 1.5+ hand `From:` to containers/image, whose `docker` transport
    /// refuses a reference with both a tag and a digest (`newReference`); 1.4 drops the tag.
    /// An OCI layout reference is `DIR[:TAG]`, with no digest form, and is kept as given.
    static func fromValue(_ origin: Origin, pinned: Bool) -> String {
        guard origin.bootstrap == "docker" else { return origin.reference }
        let name: String
        let givenDigest: String?
        if let parsed = try? ImageReference.parse(origin.reference) {
            name = parsed.name
            givenDigest = parsed.digest?.description
        } else {
            let parts = origin.reference.split(separator: "@", maxSplits: 1).map(String.init)
            name = nameWithoutTag(parts.first ?? origin.reference)
            givenDigest = parts.count == 2 ? parts[1] : nil
        }
        guard let digest = (pinned ? origin.manifestDigest?.description : nil) ?? givenDigest else { return origin.reference }
        return "\(name)@\(digest)"
    }

    /// `registry/repo:tag` without `:tag` (a colon before the last `/` is a port).
    static func nameWithoutTag(_ reference: String) -> String {
        let lastSlash = reference.lastIndex(of: "/") ?? reference.startIndex
        guard let colon = reference[lastSlash...].lastIndex(of: ":") else { return reference }
        return String(reference[..<colon])
    }
}

/// Accumulates the sections in order; each section's text is written by the extension in
/// DefinitionFile+Sections.swift.
struct DefinitionWriter {
    let config: ImageConfig.Config
    let options: DefinitionOptions
    var sections: [(name: String, body: String)] = []
    var headerText = ""
    var warnings: [String] = []
    var unusableReason: String?
    var from: String?
    /// The labels %labels sets, as Apptainer reads them back.
    var labelValues: [String: String] = [:]

    init(config: ImageConfig.Config, options: DefinitionOptions) {
        self.config = config
        self.options = options
    }

    mutating func warn(_ message: String) {
        warnings.append(message)
    }

    mutating func header(_ origin: DefinitionFile.Origin) {
        var lines = ["Bootstrap: \(origin.bootstrap)"]
        let from = DefinitionFile.fromValue(origin, pinned: options.pinned)
        if let problem = DefinitionText.headerProblem(from) {
            let reason = "the reference \(DefinitionText.visible(from)) cannot be written as From: (\(problem))"
            unusableReason = reason
            warn(reason)
            lines.append("# From: not written: \(reason)")
        } else {
            lines.append("From: \(from)")
            self.from = from
        }
        lines.append("")
        let created = origin.created.map(DefinitionText.visible) ?? "unknown"
        lines.append("# Generated by sifter from the image's metadata for apptainer build 1.3 and later. "
            + "Platform \(DefinitionText.visible(origin.platform.description)), created \(created).")
        if from != origin.reference, self.from != nil {
            lines.append("# From: pins \(DefinitionText.visible(origin.reference)) by digest alone (Apptainer 1.3 and 1.5+ "
                + "refuse a tag and a digest together); label \(DefinitionFile.Label.sourceReference) keeps the reference.")
        }
        if options.pinned {
            if origin.bootstrap != "docker", let digest = origin.manifestDigest {
                // Its own line, so that comparisons across machines can normalise it.
                lines.append("# Manifest digest: \(digest) (an OCI layout reference cannot name a digest)")
            }
            if let index = origin.indexDigest {
                lines.append("# Index digest: \(index); From names the \(DefinitionText.visible(origin.platform.description)) manifest in it")
            }
        }
        headerText = lines.joined(separator: "\n") + "\n"
    }

    mutating func add(_ name: String, _ body: String) {
        if name.utf8.count + body.utf8.count + 2 > DefinitionText.scannerTokenLimit {
            warn("%\(name) is longer than 64 KiB, more than Apptainer's definition file parser reads in one section")
        }
        sections.append((name, body))
    }

    /// Sections are separated by a blank line; each body ends with a newline.
    func finished() -> String {
        var text = headerText
        for (name, body) in sections {
            text += "\n%\(name)\n" + body
        }
        return text
    }
}

extension DefinitionFile {
    typealias Writer = DefinitionWriter
}
