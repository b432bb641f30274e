import Foundation
@testable import Distribution
import Hashing
import OCISpec
import Testing

/// Push primitives against a real registry; results are read back with skopeo, an
/// independent client.
@Suite(.serialized, .enabled(if: RegistryFixture.isAvailable, "needs docker-registry, skopeo, htpasswd, openssl, python3, curl"))
struct PushIntegrationTests {
    struct Blob {
        var path: String
        var digest: Digest
        var size: Int64
        var bytes: [UInt8]
    }

    static func writeBlob(_ dir: String, _ name: String, _ bytes: [UInt8]) throws -> Blob {
        let path = dir + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return Blob(path: path, digest: try Digest(sha256Hex: SHA256.hash(bytes).hex), size: Int64(bytes.count), bytes: bytes)
    }

    @Test func uploadMountManifestTagsDelete() throws {
        let fixture = try RegistryFixture(mode: "basic")
        let dir = try RegistryFixture.temporaryDirectory("push")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = LogSink()
        var options = PullIntegrationTests.options(credential: Credential(username: fixture.user, password: fixture.password), log: log)
        options.monolithicUploadLimit = 1 << 20
        options.uploadChunkSize = 700_000  // not a divisor of the blob size: a short last chunk
        let client = try RegistryClient(options: options)
        let ref = try ImageReference.parse("oras://\(fixture.registry)/push/sif:v1")

        let config = try Self.writeBlob(dir, "config", Array("{}".utf8))
        var generator = SystemRandomNumberGenerator()
        let big = try Self.writeBlob(dir, "big", (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })

        #expect(try client.blobExists(ref, config.digest) == nil)
        #expect(try client.pushBlob(ref, file: config.path, digest: config.digest, size: config.size) == .uploaded)  // monolithic
        #expect(try client.pushBlob(ref, file: big.path, digest: big.digest, size: big.size) == .uploaded)  // chunked
        #expect(try client.blobExists(ref, big.digest) == big.size)
        #expect(try client.pushBlob(ref, file: big.path, digest: big.digest, size: big.size) == .existed)
        #expect(log.lines.filter { $0.hasPrefix("PATCH") }.count == 5, "\(log.lines)")

        // A wrong digest is refused by the registry and reported, not silently stored.
        #expect(throws: DistributionError.self) {
            try client.uploadBlob(ref, file: big.path, digest: config.digest, size: big.size)
        }

        let manifest = Manifest(
            config: Descriptor(mediaType: MediaType.sifConfig, digest: config.digest, size: config.size),
            layers: [Descriptor(mediaType: MediaType.sifLayer, digest: big.digest, size: big.size,
                                annotations: ["org.opencontainers.image.title": "image.sif"])])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = Array(try encoder.encode(manifest))
        let digest = try client.putManifest(bytes, mediaType: MediaType.ociManifest, to: ref)
        #expect(try client.putManifest(bytes, mediaType: MediaType.ociManifest, to: ref.pinned(to: digest)) == digest)
        for tag in ["v2", "v3", "latest"] { try client.putManifest(bytes, mediaType: MediaType.ociManifest, to: try ref.tagged(tag)) }
        #expect(try client.listTags(ref) == ["latest", "v1", "v2", "v3"])
        // Pages of one tag (through a front, distribution 2.8 does not paginate tags): the
        // Link header must be followed to the end.
        let front = try fixture.startFront("pages", ["--paginate-tags"])
        #expect(try client.listTags(try ImageReference.parse("\(front)/push/sif"), pageSize: 1) == ["latest", "v1", "v2", "v3"])
        #expect(fixture.events(fixture.env["pages_EVENTS"] ?? "").count == 4)

        // Read back with skopeo: the bytes are ours, the blobs verify.
        let raw = try RegistryFixture.run("/usr/bin/env", ["skopeo", "inspect", "--raw", "--tls-verify=false",
                                                          "--creds", "\(fixture.user):\(fixture.password)", "docker://\(fixture.registry)/push/sif:v1"])
        #expect(Array(raw.utf8) == bytes)
        try RegistryFixture.run("/usr/bin/env", ["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                                                 "--src-creds", "\(fixture.user):\(fixture.password)",
                                                 "docker://\(fixture.registry)/push/sif:v1", "oci:\(dir)/copy:v1"])
        #expect(FileManager.default.contentsEqual(atPath: dir + "/copy/blobs/sha256/" + big.digest.hex, andPath: big.path))

        // Cross-repository mount on the same registry.
        let other = try ref.inRepository("push/other")
        #expect(try client.mountBlob(big.digest, from: "push/sif", into: other))
        #expect(try client.blobExists(other, big.digest) == big.size)
        #expect(try client.pushBlob(other, file: config.path, digest: config.digest, size: config.size, mountFrom: "push/sif") == .mounted)
        // Not mountable: reported as false, the caller uploads.
        let missing = try Self.writeBlob(dir, "missing", Array("not pushed".utf8))
        #expect(try client.mountBlob(missing.digest, from: "push/sif", into: other) == false)

        try client.deleteManifest(ref.pinned(to: digest))
        #expect { try client.fetchManifest(ref.pinned(to: digest)) } throws: { error in
            guard case DistributionError.notFound = error else { return false }
            return true
        }
        log.expectNoSecrets([fixture.password])
    }

    @Test func chunkedUploadSurvivesALostAnswer() throws {
        let fixture = try RegistryFixture(mode: "none")
        let front = try fixture.startFront("pushfaults", ["--faults"])
        let dir = try RegistryFixture.temporaryDirectory("push-faults")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = LogSink()
        var options = PullIntegrationTests.options(log: log)
        options.monolithicUploadLimit = 0
        options.uploadChunkSize = 256 << 10
        let client = try RegistryClient(options: options)
        let ref = try ImageReference.parse("\(front)/push/faulty:v1")
        let blob = try Self.writeBlob(dir, "blob", (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try client.uploadBlob(ref, file: blob.path, digest: blob.digest, size: blob.size)
        #expect(try client.blobExists(ref, blob.digest) == blob.size)
        let events = fixture.events(fixture.env["pushfaults_EVENTS"] ?? "").compactMap { $0["event"]?.string }
        #expect(events.contains("patch-answer-lost"))
        let direct = try RegistryClient(options: PullIntegrationTests.options())
        let bytes = try direct.fetchBlobBytes(try ImageReference.parse("\(fixture.registry)/push/faulty"),
                                              Descriptor(mediaType: MediaType.ociLayer, digest: blob.digest, size: blob.size))
        #expect(bytes == blob.bytes)
    }
}
