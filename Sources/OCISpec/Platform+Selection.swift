/// Choosing an image from an index by platform, the way containerd's default matcher does:
/// OS and architecture must be equal after normalisation (`aarch64` is `arm64`, `x86_64` is
/// `amd64`); a variant, when asked for, must match (an `arm64` entry without variant is `v8`).
extension Platform {
    /// The same platform with Go's names and default variants filled in, so that equal
    /// platforms compare equal: `linux/aarch64` → `linux/arm64/v8`, `linux/arm` → `linux/arm/v7`.
    public var normalized: Platform {
        var result = Platform(os: os.lowercased(), architecture: architecture.lowercased(), variant: variant?.lowercased())
        switch result.architecture {
        case "x86_64", "x86-64": result.architecture = "amd64"
        case "aarch64": result.architecture = "arm64"
        case "i386", "i686": result.architecture = "386"
        case "armhf": result.architecture = "arm"; result.variant = result.variant ?? "v7"
        case "armel": result.architecture = "arm"; result.variant = result.variant ?? "v6"
        default: break
        }
        switch result.architecture {
        case "arm64":
            if result.variant == nil || result.variant == "8" { result.variant = "v8" }
        case "arm":
            if result.variant == nil { result.variant = "v7" }
            if let v = result.variant, v.count == 1, v.first?.isNumber == true { result.variant = "v" + v }
        case "amd64":
            // amd64 micro-architecture levels are not distinguished by sifter.
            if result.variant == "v1" { result.variant = nil }
        default: break
        }
        return result
    }

    /// Whether an image built for `candidate` runs as this (wanted) platform. A wanted platform
    /// without variant takes any variant; `arm/v7` also takes `arm/v6` and `arm/v5` images.
    public func accepts(_ candidate: Platform) -> Bool {
        matchRank(candidate) != nil
    }

    /// Lower is better; nil means no match. Exact variants beat compatible older ones.
    func matchRank(_ candidate: Platform) -> Int? {
        let want = normalized
        let have = candidate.normalized
        guard want.os == have.os, want.architecture == have.architecture else { return nil }
        if want.variant == have.variant { return 0 }
        if variant == nil { return 1 }
        if want.architecture == "arm", let w = Self.armLevel(want.variant), let h = Self.armLevel(have.variant), h < w {
            return 1 + (w - h)
        }
        return nil
    }

    private static func armLevel(_ variant: String?) -> Int? {
        guard let variant, variant.hasPrefix("v") else { return nil }
        return Int(variant.dropFirst())
    }
}

extension Descriptor {
    /// Attestation manifests (BuildKit provenance/SBOM) sit in indexes as `unknown/unknown`
    /// entries; they are not images and must never be selected.
    public var isAttestation: Bool {
        if annotations?["vnd.docker.reference.type"] == "attestation-manifest" { return true }
        if let platform, platform.os == "unknown", platform.architecture == "unknown" { return true }
        return false
    }
}

extension Index {
    /// The platforms this index offers, attestation entries left out, in index order.
    public var availablePlatforms: [Platform] {
        var seen: [Platform] = []
        for entry in manifests where !entry.isAttestation {
            if let platform = entry.platform, !seen.contains(platform) { seen.append(platform) }
        }
        return seen
    }

    /// The manifest to use for `platform`: the best match among entries with a platform (first
    /// one wins a tie, as in containerd). An index whose only non-attestation entry has no
    /// platform at all (common for ORAS artifacts) yields that entry. Nil when nothing fits;
    /// `availablePlatforms` then says what there is.
    public func manifest(for platform: Platform) -> Descriptor? {
        let entries = manifests.filter { !$0.isAttestation && !MediaType.indexTypes.contains($0.mediaType) }
        var best: (rank: Int, entry: Descriptor)?
        for entry in entries {
            guard let candidate = entry.platform, let rank = platform.matchRank(candidate) else { continue }
            if best == nil || rank < best!.rank { best = (rank, entry) }
        }
        if let best { return best.entry }
        if entries.count == 1, entries[0].platform == nil { return entries[0] }
        return nil
    }
}
