import Distribution
import OCISpec
import Testing

struct PlatformSelectionTests {
    static func entry(_ platform: String?, _ n: Int, attestation: Bool = false) throws -> Descriptor {
        let hex = String(repeating: String(n % 10), count: 64)
        var d = Descriptor(mediaType: MediaType.ociManifest, digest: try Digest(sha256Hex: hex), size: 100,
                           platform: try platform.map { try Platform(parsing: $0) })
        if attestation { d.annotations = ["vnd.docker.reference.type": "attestation-manifest"] }
        return d
    }

    static func index(_ entries: [Descriptor]) -> Index { Index(manifests: entries) }

    @Test func choosesExactPlatformAndSkipsAttestations() throws {
        let index = Self.index([
            try Self.entry("unknown/unknown", 1, attestation: true),
            try Self.entry("linux/amd64", 2),
            try Self.entry("linux/arm64/v8", 3),
            try Self.entry("unknown/unknown", 4, attestation: true),
        ])
        #expect(index.manifest(for: try Platform(parsing: "linux/amd64"))?.digest.hex.first == "2")
        #expect(index.manifest(for: try Platform(parsing: "linux/arm64"))?.digest.hex.first == "3")
        #expect(index.manifest(for: try Platform(parsing: "linux/aarch64"))?.digest.hex.first == "3")
        #expect(index.manifest(for: try Platform(parsing: "linux/arm64/v8"))?.digest.hex.first == "3")
        #expect(index.manifest(for: try Platform(parsing: "linux/s390x")) == nil)
        #expect(index.manifest(for: try Platform(parsing: "unknown/unknown")) == nil)
        #expect(index.availablePlatforms.map(\.description) == ["linux/amd64", "linux/arm64/v8"])
    }

    @Test func arm64WithoutVariantMatchesV8() throws {
        let index = Self.index([try Self.entry("linux/arm64", 5)])
        #expect(index.manifest(for: try Platform(parsing: "linux/arm64/v8"))?.digest.hex.first == "5")
    }

    @Test func armVariantsPreferExactThenOlder() throws {
        let index = Self.index([try Self.entry("linux/arm/v6", 6), try Self.entry("linux/arm/v7", 7)])
        #expect(index.manifest(for: try Platform(parsing: "linux/arm/v7"))?.digest.hex.first == "7")
        #expect(index.manifest(for: try Platform(parsing: "linux/arm"))?.digest.hex.first == "7")
        #expect(index.manifest(for: try Platform(parsing: "linux/arm/v6"))?.digest.hex.first == "6")
        #expect(Self.index([try Self.entry("linux/arm/v6", 6)]).manifest(for: try Platform(parsing: "linux/arm/v7"))?.digest.hex.first == "6")
        #expect(Self.index([try Self.entry("linux/arm/v7", 7)]).manifest(for: try Platform(parsing: "linux/arm/v6")) == nil)
    }

    @Test func singleUnlabelledEntryIsTaken() throws {
        #expect(Self.index([try Self.entry(nil, 8)]).manifest(for: .host)?.digest.hex.first == "8")
        #expect(Self.index([try Self.entry(nil, 8), try Self.entry(nil, 9)]).manifest(for: .host) == nil)
    }

    @Test func errorListsAvailablePlatforms() throws {
        let error = DistributionError.platformNotFound(
            reference: "ghcr.io/o/i:1", wanted: try Platform(parsing: "linux/s390x"),
            available: ["linux/amd64", "linux/arm64/v8"])
        #expect(error.description == "ghcr.io/o/i:1: no image for platform linux/s390x; available: linux/amd64, linux/arm64/v8 (choose one with --platform)")
    }
}
