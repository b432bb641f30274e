import Distribution
import Foundation
import OCISpec
import Testing
@testable import SifterCore

@Suite struct RetentionTests {
    static let day: Int64 = 86_400
    static let now: Int64 = 1_800_000_000

    static func digest(_ n: Int) -> Digest {
        try! Digest(sha256Hex: String(format: "%064x", n))  // test data: always 64 hex digits
    }

    static func record(_ tag: String, _ n: Int, daysOld: Int64?, children: [Int] = []) -> TagRecord {
        TagRecord(tag: tag, digest: digest(n), mediaType: children.isEmpty ? MediaType.ociManifest : MediaType.ociIndex,
                  created: daysOld.map { now - $0 * day }, children: children.map(digest))
    }

    /// build-1 … build-12, 12 … 1 days old; release-1 shares build-3's digest; an undated tag.
    static let records: [TagRecord] = (1...12).map { record("build-\($0)", $0, daysOld: Int64(13 - $0)) }
        + [record("release-1", 3, daysOld: 10), record("mystery", 99, daysOld: nil)]

    func decisions(_ plan: PrunePlan) -> [String: PrunePlan.Decision] {
        Dictionary(uniqueKeysWithValues: plan.tags.map { ($0.record.tag, $0.decision) })
    }

    @Test func keepNewest() {
        let plan = PrunePlan.decide(Self.records, policy: RetentionPolicy(match: ["build-*"], keep: 3), now: Self.now)
        let decided = decisions(plan)
        #expect(decided["build-12"] == .keepNewest(rank: 1) && decided["build-10"] == .keepNewest(rank: 3))
        #expect(decided["build-3"] == .keepShared(with: ["release-1"]))
        #expect(decided["release-1"] == .keepUnmatched && decided["mystery"] == .keepUnmatched)
        let deleted = Set(plan.tags.filter { $0.decision.deletes }.map(\.record.tag))
        #expect(deleted == Set([1, 2, 4, 5, 6, 7, 8, 9].map { "build-\($0)" }))
        #expect(plan.digests == [1, 2, 4, 5, 6, 7, 8, 9].map(Self.digest) && plan.untagged.isEmpty, "oldest first")
    }

    @Test func olderThanAndUndated() {
        let records = Self.records + [Self.record("build-x", 98, daysOld: nil)]
        let plan = PrunePlan.decide(records, policy: RetentionPolicy(match: ["build-*"], olderThan: Double(Self.day) * 9.5), now: Self.now)
        let decided = decisions(plan)
        #expect(Set(plan.tags.filter { $0.decision.deletes }.map(\.record.tag)) == ["build-1", "build-2"])
        #expect(decided["build-3"] == .keepShared(with: ["release-1"]))
        #expect(decided["build-4"] == .keepRecent && decided["build-x"] == .keepUndated)
        // Both: beyond the newest 2 and older than 9.5 days.
        let both = PrunePlan.decide(records, policy: RetentionPolicy(match: ["build-*"], keep: 11, olderThan: Double(Self.day) * 9.5), now: Self.now)
        #expect(both.tags.filter { $0.decision.deletes }.map(\.record.tag) == ["build-1"])
    }

    @Test func indexesAndTheirPlatforms() {
        let records = [
            Self.record("old", 1, daysOld: 30, children: [10, 11]),
            Self.record("new", 2, daysOld: 1, children: [12, 13]),
            Self.record("old-amd64", 10, daysOld: 30),
            Self.record("shared", 3, daysOld: 20, children: [11, 14]),
        ]
        // `old` goes with its arm64 manifest 11? No: `shared` (kept, unmatched) lists it.
        let plan = PrunePlan.decide(records, policy: RetentionPolicy(match: ["old", "new"], keep: 1, untagged: true), now: Self.now)
        #expect(decisions(plan)["old"] == .delete)
        #expect(plan.untagged == [], "10 is tagged old-amd64, 11 is listed by the kept index shared")
        let all = PrunePlan.decide(records, policy: RetentionPolicy(match: ["old", "new", "old-amd64"], keep: 1, untagged: true), now: Self.now)
        #expect(all.digests == [Self.digest(1), Self.digest(10)], "the index before its manifest")
        let children = PrunePlan.decide([records[0], records[1]], policy: RetentionPolicy(keep: 1, untagged: true), now: Self.now)
        #expect(children.digests == [1, 10, 11].map(Self.digest) && children.untagged == [10, 11].map(Self.digest))
        // A platform of a kept index is never deleted through its own tag.
        let kept = PrunePlan.decide(records, policy: RetentionPolicy(match: ["old-amd64"], keep: 0), now: Self.now)
        #expect(decisions(kept)["old-amd64"] == .keepShared(with: ["old"]))
    }

    @Test func refusedDeletesSayWhereToDelete() {
        let refused = DistributionError.unexpectedStatus(registry: "ghcr.io", repository: "org/app", operation: "DELETE manifest",
                                                         status: 405, errors: [RegistryErrorEntry(code: "UNSUPPORTED", message: "nope")])
        let ghcr = "\(TagPruner.explain(refused, registry: "ghcr.io", repository: "org/app"))"
        #expect(ghcr.contains("HTTP 405 UNSUPPORTED nope") && ghcr.contains("GitHub's REST API") && ghcr.contains("dataaxiom/ghcr-cleanup-action"))
        let local = "\(TagPruner.explain(refused, registry: "127.0.0.1:5000", repository: "x"))"
        #expect(local.contains("storage.delete.enabled"))
        let other = DistributionError.unexpectedStatus(registry: "r", repository: "x", operation: "DELETE", status: 500, errors: [])
        #expect(TagPruner.explain(other, registry: "r", repository: "x") is DistributionError)
    }
}

@Suite struct PlatformIndexTests {
    @Test func documentIsCompactAndOrdered() throws {
        let digest = try Digest(sha256Hex: String(repeating: "b", count: 64))
        let bytes = PlatformIndex.document(entries: [
            PlatformIndex.Entry(platform: Platform(os: "linux", architecture: "amd64"), digest: digest, size: 10),
            PlatformIndex.Entry(platform: Platform(os: "linux", architecture: "arm64", variant: "v8"), digest: digest, size: 11),
        ], annotations: ["quay.expires-after": "2w", "a": "b"])
        let expected = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":["#
            + #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":10,"digest":"sha256:\#(digest.hex)","platform":{"architecture":"amd64","os":"linux"}},"#
            + #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":11,"digest":"sha256:\#(digest.hex)","platform":{"architecture":"arm64","os":"linux","variant":"v8"}}],"#
            + #""annotations":{"a":"b","quay.expires-after":"2w"}}"#
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
        // What Apptainer's pull does with it: choose by platform.
        let index = try Index.decode(bytes)
        #expect(index.manifest(for: Platform(os: "linux", architecture: "arm64"))?.size == 11)
        #expect(index.manifest(for: Platform(os: "linux", architecture: "amd64"))?.size == 10)
    }

    @Test func names() throws {
        #expect(PlatformIndex.tagSuffix(Platform(os: "linux", architecture: "amd64")) == "amd64")
        #expect(PlatformIndex.tagSuffix(Platform(os: "linux", architecture: "aarch64")) == "arm64")
        #expect(PlatformIndex.tagSuffix(Platform(os: "linux", architecture: "arm", variant: "v7")) == "arm-v7")
        #expect(PlatformIndex.tagSuffix(Platform(os: "windows", architecture: "amd64")) == "windows-amd64")
        #expect(try PlatformChoice.parse("linux/amd64, linux/aarch64,linux/arm64/v8")
            == .list([Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64", variant: "v8")]))
        #expect(throws: (any Error).self) { try PlatformChoice.parse("linux") }
    }

    @Test func quayExpiry() throws {
        #expect(try QuayExpiry.annotation("2w") == ["quay.expires-after": "2w"])
        #expect(try QuayExpiry.annotation("36h") == ["quay.expires-after": "36h"])
        for bad in ["", "w", "2", "0d", "2weeks", "1.5d", "-1d", "2W", "٣d"] {
            #expect(throws: PublishError.invalidExpiry(bad)) { try QuayExpiry.annotation(bad) }
        }
    }

    @Test func reannotatingKeepsTheBlobAndAddsWhatIsMissing() throws {
        let layer = try Digest(sha256Hex: String(repeating: "c", count: 64))
        let bytes = SIFArtifact.manifest(layerSize: 5, layerDigest: layer, title: "app.sif", annotations: ["x": "1"])
        let manifest = try Manifest.decode(bytes)
        #expect(try Converter.reannotated(manifest, annotations: [:], reference: "r") == nil)
        #expect(try Converter.reannotated(manifest, annotations: ["x": "1"], reference: "r") == nil)
        let annotated = try #require(try Converter.reannotated(manifest, annotations: ["quay.expires-after": "2w"], reference: "r"))
        #expect(annotated == SIFArtifact.manifest(layerSize: 5, layerDigest: layer, title: "app.sif", annotations: ["x": "1", "quay.expires-after": "2w"]))
    }
}
