import Foundation
@testable import Distribution
import Hashing
import OCISpec
import Testing

/// A blob found in the cache is checked before the build gets it: an intact one is verified
/// once (its reader follows the check and need not hash it), a damaged one is removed with a
/// warning and downloaded again, and when that fails the error names the cache.
@Suite(.timeLimit(.minutes(1)))
struct CachedBlobTests {
    static let bytes = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
    static let descriptor = Descriptor(mediaType: MediaType.ociLayer, digest: try! Digest(sha256Hex: SHA256.hash(bytes).hex),
                                       size: Int64(bytes.count))

    struct Fixture {
        let root: String
        let cache: BlobCache
        let web: ScriptedWeb
        let warnings = Locked<[String]>([])
        let client: RegistryClient

        init(registryUp: Bool = true) throws {
            root = try RegistryFixture.temporaryDirectory("cached-blob")
            cache = try BlobCache(root: root)
            web = ScriptedWeb { _ in
                registryUp ? .init(200, body: CachedBlobTests.bytes) : .init(failure: curlFailure(7, "Couldn't connect to server"))
            }
            var options = scriptedOptions(credential: nil)
            options.maxAttempts = 1
            options.warningHandler = { [warnings] text in warnings.withLock { $0.append(text) } }
            client = try web.client(options)
            let source = root + "/source"
            try Data(CachedBlobTests.bytes).write(to: URL(fileURLWithPath: source))
            try cache.add(file: source, digest: CachedBlobTests.descriptor.digest)
        }

        var blobPath: String { cache.blobPath(for: CachedBlobTests.descriptor.digest) }

        /// Starts the batch and reads the blob through its arrival as the build does.
        func fetchAndRead() throws -> (downloads: BlobDownloads, read: [UInt8], verified: Bool, intact: Bool) {
            let downloads = client.startBlobs(SessionTests.ref, [CachedBlobTests.descriptor], into: cache)
            let arrival = try #require(downloads.arrival(for: CachedBlobTests.descriptor.digest))
            let reader = try arrival.openReader()
            var read: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 256 << 10)
            while true {
                let offset = Int64(read.count)
                let n = try buffer.withUnsafeMutableBytes { try reader.read(at: offset, into: $0) }
                if n == 0 { break }  // a replaced file may be shorter: confirm() says so
                read += buffer[0..<n]
            }
            return (downloads, read, reader.verifiedByDownload, try arrival.confirm())
        }

        func cleanup() { try? FileManager.default.removeItem(atPath: root) }
    }

    @Test func anIntactCachedBlobIsVerifiedForItsReader() throws {
        let fixture = try Fixture()
        defer { fixture.cleanup() }
        let (downloads, read, verified, intact) = try fixture.fetchAndRead()
        try downloads.wait()
        #expect(verified, "the check on the download thread covers the reader")
        #expect(intact)
        #expect(read == Self.bytes)
        #expect(fixture.web.sent.isEmpty)
        #expect(fixture.warnings.withLock { $0 }.isEmpty)
    }

    @Test(arguments: ["flip", "longer", "shorter"])
    func aDamagedCachedBlobIsFetchedAgainWithAWarning(_ damage: String) throws {
        let fixture = try Fixture()
        defer { fixture.cleanup() }
        try Self.damage(fixture.blobPath, damage)
        let (downloads, read, _, intact) = try fixture.fetchAndRead()
        try downloads.wait()
        // Whatever the reader got while the check ran, it is told unless it got the good blob.
        if intact { #expect(read == Self.bytes) }
        #expect(try fixture.cache.verify(Self.descriptor.digest))
        #expect(fixture.web.sent.map(\.method) == ["GET"])
        let warnings = fixture.warnings.withLock { $0 }
        #expect(warnings.count == 1)
        let expected = damage == "flip" ? "has digest sha256:" : "bytes, expected \(Self.bytes.count)"
        #expect(warnings.first?.hasPrefix("blob cache \(fixture.blobPath): the cached blob ") == true)
        #expect(warnings.first?.contains(expected) == true, "\(warnings)")
        #expect(warnings.first?.hasSuffix("removed it, fetching it again") == true)
    }

    @Test func aDamagedCachedBlobThatCannotBeFetchedNamesTheCache() throws {
        let fixture = try Fixture(registryUp: false)
        defer { fixture.cleanup() }
        try Self.damage(fixture.blobPath, "flip")
        let downloads = fixture.client.startBlobs(SessionTests.ref, [Self.descriptor], into: fixture.cache)
        #expect {
            try downloads.wait()
        } throws: { error in
            guard case let DistributionError.damagedCacheBlob(path, problem, refetch) = error else { return false }
            guard case .transport = refetch else { return false }
            return path == fixture.blobPath && problem.hasPrefix("has digest sha256:")
                && "\(error)".hasPrefix("blob cache \(fixture.blobPath): the cached blob has digest")
                && "\(error)".contains("so it was removed, but fetching it again failed: registry.example: ")
        }
        #expect(fixture.cache.path(for: Self.descriptor.digest) == nil)
    }

    static func damage(_ path: String, _ how: String) throws {
        var bytes = Self.bytes
        switch how {
        case "flip": bytes[(1 << 20) + 5] ^= 0x10
        case "longer": bytes.append(0)
        default: bytes.removeLast()
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
