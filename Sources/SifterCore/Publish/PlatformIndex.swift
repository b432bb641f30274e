import Foundation
import Hashing
import OCISpec

/// The OCI image index `convert --platform A,B` pushes under one tag: one entry per platform,
/// each the SIF artifact manifest of that platform with its `platform` set, which is what
/// go-containerregistry's `remote.Image(…, WithPlatform(linux/<arch>))` (Apptainer's `pull
/// oras://`) and `sifter pull` choose from.
public enum PlatformIndex {
    /// One entry: a per-platform SIF manifest already in the repository.
    public struct Entry: Sendable, Hashable {
        public var platform: Platform
        public var digest: Digest
        public var size: Int64

        public init(platform: Platform, digest: Digest, size: Int64) {
            self.platform = platform
            self.digest = digest
            self.size = size
        }
    }

    /// The index bytes: members in the order go-containerregistry writes them (descriptor:
    /// mediaType, size, digest, platform; platform: architecture, os, variant), compact, so
    /// the same entries and annotations always give the same digest and an unchanged re-run
    /// finds the tag already pointing at it.
    public static func document(entries: [Entry], annotations: [String: String]) -> [UInt8] {
        let manifests: [JSONValue] = entries.map { entry in
            var platform: [(String, JSONValue)] = [("architecture", .string(entry.platform.architecture)), ("os", .string(entry.platform.os))]
            if let variant = entry.platform.variant { platform.append(("variant", .string(variant))) }
            return .object([
                ("mediaType", .string(MediaType.ociManifest)), ("size", .int(entry.size)), ("digest", .string(entry.digest.description)),
                ("platform", .object(platform)),
            ])
        }
        var members: [(String, JSONValue)] = [
            ("schemaVersion", .int(2)), ("mediaType", .string(MediaType.ociIndex)), ("manifests", .array(manifests)),
        ]
        if !annotations.isEmpty {
            members.append(("annotations", .object(annotations.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        return Array(JSONValue.object(members).rendered(indentString: "").utf8)
    }

    /// The platform as an index entry and a build name it: Go's names, default variants
    /// filled in except amd64's (`linux/aarch64` → `linux/arm64/v8`).
    public static func canonical(_ platform: Platform) -> Platform {
        let normalized = platform.normalized
        return Platform(os: normalized.os, architecture: normalized.architecture, variant: normalized.variant)
    }

    /// The suffix of a per-platform tag: `amd64`, `arm64` (v8 is arm64's only variant in use),
    /// `arm-v7`, and the OS first when it is not Linux (`windows-amd64`).
    public static func tagSuffix(_ platform: Platform) -> String {
        let platform = canonical(platform)
        var parts = platform.os == "linux" ? [] : [platform.os]
        parts.append(platform.architecture)
        if let variant = platform.variant, !(platform.architecture == "arm64" && variant == "v8") { parts.append(variant) }
        return parts.joined(separator: "-")
    }

    static func digest(of bytes: [UInt8]) throws -> Digest {
        try Digest(sha256Hex: SHA256.hash(bytes).hex)
    }
}
