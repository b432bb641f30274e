/// Choosing an image manifest from an index that may list other indexes (an index of
/// per-platform indexes, as some build tools write). Registry and local sources share this, so
/// a nested index gives the same result and the same message wherever it comes from.
extension Index {
    /// How many nested indexes below the first one are followed. containerd follows nested
    /// indexes too; two levels cover the layouts tools write, and a bound keeps a hostile chain
    /// from making sifter fetch without end.
    public static let maxNestedDepth = 2

    /// The image manifest for `platform`: the best match among this index's manifests, else the
    /// first match found by following its nested indexes (those with the platform, or with none)
    /// in order, at most `maxNestedDepth` levels down. `fetch` reads a nested index, checking its
    /// size and digest; `digest` is this index's own digest when it has one.
    ///
    /// Throws `.noMatchingPlatform` (the available platforms say which nested index holds them),
    /// `.nestedIndexTooDeep` or `.nestedIndexCycle`; errors of `fetch` pass through.
    public func selectManifest(
        for platform: Platform, digest: Digest? = nil, fetch: (Descriptor) throws -> Index
    ) throws -> IndexSelection {
        var available: [String] = []
        if let found = try select(platform, own: digest.map { [$0] } ?? [], chain: [], available: &available, fetch: fetch) {
            return found
        }
        throw OCISpecError.noMatchingPlatform(wanted: platform.description, available: available)
    }

    private func select(
        _ platform: Platform, own: [Digest], chain: [Descriptor], available: inout [String], fetch: (Descriptor) throws -> Index
    ) throws -> IndexSelection? {
        if let manifest = manifest(for: platform) { return IndexSelection(manifest: manifest, nested: chain) }
        let place = chain.last.map { " (in nested index \($0.digest.short))" } ?? ""
        for entry in manifests where !entry.isAttestation && !MediaType.indexTypes.contains(entry.mediaType) {
            if let candidate = entry.platform, !available.contains(candidate.description + place) {
                available.append(candidate.description + place)
            }
        }
        for entry in manifests where !entry.isAttestation && MediaType.indexTypes.contains(entry.mediaType) {
            if let candidate = entry.platform, !platform.accepts(candidate) {
                available.append("\(candidate) (nested index \(entry.digest.short))")
                continue
            }
            let seen = own + chain.map(\.digest)
            guard !seen.contains(entry.digest) else { throw OCISpecError.nestedIndexCycle(entry.digest.description) }
            guard chain.count < Self.maxNestedDepth else {
                throw OCISpecError.nestedIndexTooDeep(chain: (chain + [entry]).map(\.digest.short), limit: Self.maxNestedDepth)
            }
            let nested = try fetch(entry)
            if let found = try nested.select(platform, own: own, chain: chain + [entry], available: &available, fetch: fetch) {
                return found
            }
        }
        return nil
    }
}

/// The manifest chosen from an index, and the nested indexes followed to reach it.
public struct IndexSelection: Sendable, Equatable {
    public var manifest: Descriptor
    /// Outermost first; empty when the manifest is listed by the index itself.
    public var nested: [Descriptor]

    public init(manifest: Descriptor, nested: [Descriptor]) {
        self.manifest = manifest
        self.nested = nested
    }
}

extension Manifest {
    /// Config media types of container images (OCI and Docker schema 2).
    public static let imageConfigTypes: Set<String> = [MediaType.ociConfig, MediaType.dockerConfig]

    /// Whether the manifest describes a container image rather than an artifact (a Helm chart,
    /// a SIF pushed with ORAS, a signature) that only shares the manifest format.
    public var isContainerImage: Bool { Self.imageConfigTypes.contains(config.mediaType) }

    /// Throws `.notAContainerImage`, naming the artifact's media types, for an artifact.
    public func requireContainerImage() throws(OCISpecError) {
        guard isContainerImage else {
            throw .notAContainerImage(configMediaType: config.mediaType, artifactType: artifactType)
        }
    }
}

/// What a few well-known artifacts are, for messages.
enum ArtifactNames {
    static func kind(configMediaType: String, artifactType: String?) -> String? {
        switch artifactType ?? configMediaType {
        case MediaType.sifConfig, MediaType.sifLayer:
            "a SIF file pushed as an ORAS artifact: `sifter pull` downloads it as it is"
        case "application/vnd.cncf.helm.config.v1+json":
            "a Helm chart"
        case let type where type.hasPrefix("application/vnd.dev.cosign"):
            "a cosign signature or attestation"
        case let type where type.hasPrefix("application/vnd.in-toto") || type.hasPrefix("application/spdx")
            || type.hasPrefix("application/vnd.cyclonedx"):
            "an attestation or SBOM"
        default:
            nil
        }
    }
}
