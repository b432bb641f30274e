import Distribution
import Foundation
import OCISpec

/// Which platforms of a source to convert.
public enum PlatformChoice: Sendable, Hashable {
    /// These, in this order (`--platform A,B`).
    case list([Platform])
    /// Every platform the source's index lists, attestations skipped (`--all-platforms`).
    case all

    /// `linux/amd64,linux/arm64` (spaces allowed around the commas); duplicates dropped.
    public static func parse(_ text: String) throws -> PlatformChoice {
        var platforms: [Platform] = []
        for part in text.split(separator: ",") {
            let platform = PlatformIndex.canonical(try Platform(parsing: part.trimmingCharacters(in: .whitespaces)))
            if !platforms.contains(platform) { platforms.append(platform) }
        }
        guard !platforms.isEmpty else { throw SifterError.invalidArgument("--platform needs at least one os/arch[/variant]") }
        return .list(platforms)
    }
}

/// One platform of a source, resolved without downloading layers.
public struct SourcePlatform: Sendable, Hashable {
    /// The platform the image is for, as an index entry names it (Go names, variant filled in).
    public var platform: Platform
    /// The image manifest a build for `platform` reads.
    public var manifestDigest: Digest
}

extension Converter {
    /// The manifest of each platform asked for: at a registry one GET of the tag (and of nested
    /// indexes), plus the config of a single-manifest image; for local sources, their files.
    /// Two names of one platform (`linux/arm64`, `linux/arm64/v8`) count once.
    public func resolveSourcePlatforms(_ choice: PlatformChoice) throws -> [SourcePlatform] {
        var found: [SourcePlatform] = []
        for item in try resolveSourcePlatformsInOrder(choice) where !found.contains(where: { $0.platform == item.platform }) {
            found.append(item)
        }
        return found
    }

    /// One result per platform asked for, in that order, duplicates kept.
    func resolveSourcePlatformsInOrder(_ choice: PlatformChoice) throws -> [SourcePlatform] {
        guard let sourceClient, sourceText.hasPrefix("docker://") else {
            guard case let .list(platforms) = choice else {
                throw PublishError.platforms(source: sourceText, reason: "--all-platforms reads the platforms from a registry's index: "
                    + "use a docker:// source, or name the platforms with --platform")
            }
            return try platforms.map { wanted in
                let image = try source.resolve(platform: wanted)
                return SourcePlatform(platform: PlatformIndex.canonical(image.platform), manifestDigest: image.manifestDigest)
            }
        }
        let reference = try ImageReference.parse(sourceText)
        let fetched = try sourceClient.fetchManifest(reference)
        guard fetched.isIndex else {
            // One image asked for as one platform: as `build` does, any platform mismatch is a
            // warning of the build, and no config is fetched to find it here.
            if case let .list(platforms) = choice, platforms.count == 1 {
                return [SourcePlatform(platform: platforms[0], manifestDigest: fetched.digest)]
            }
            // Otherwise its config says which platform it is.
            let manifest = try Manifest.decode(fetched.bytes)
            let config = try ImageConfig.decode(try sourceClient.fetchBlobBytes(reference, manifest.config))
            let platform = PlatformIndex.canonical(config.platform)
            if case let .list(platforms) = choice, let missing = platforms.first(where: { !$0.accepts(platform) }) {
                throw DistributionError.platformNotFound(reference: sourceText, wanted: missing, available: [platform.description + " (a single-platform image)"])
            }
            return [SourcePlatform(platform: platform, manifestDigest: fetched.digest)]
        }
        let index = try Index.decode(fetched.bytes)
        let wanted: [Platform]
        switch choice {
        case let .list(platforms):
            wanted = platforms
        case .all:
            wanted = index.availablePlatforms
            guard !wanted.isEmpty else {
                throw PublishError.platforms(source: sourceText, reason: "its index names no platforms (name them with --platform)")
            }
        }
        return try wanted.map { platform in
            let entry = try sourceClient.select(platform, in: index, digest: fetched.digest, of: reference)
            return SourcePlatform(platform: PlatformIndex.canonical(entry.platform ?? platform), manifestDigest: entry.digest)
        }
    }
}
