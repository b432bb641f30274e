import Foundation
@testable import Distribution
import Hashing
import OCISpec
import Testing

struct BlobCacheTests {
    static func digest(_ bytes: [UInt8]) throws -> Digest { try Digest(sha256Hex: SHA256.hash(bytes).hex) }

    @Test func defaultRootFollowsEnvironment() {
        #expect(BlobCache.defaultRoot(environment: ["SIFTER_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"]) == "/c")
        #expect(BlobCache.defaultRoot(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]) == "/x/sifter")
        #expect(BlobCache.defaultRoot(environment: ["HOME": "/h"]) == "/h/.cache/sifter")
    }

    @Test func ingestVerifiesAndPlacesAtomically() throws {
        let root = try RegistryFixture.temporaryDirectory("cache")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = try BlobCache(root: root)
        let bytes = Array("hello blob".utf8)
        let digest = try Self.digest(bytes)
        #expect(cache.path(for: digest) == nil)
        let (path, wrote) = try cache.ingest(digest, expectedSize: Int64(bytes.count)) { writer throws(DistributionError) in
            try feed(writer, bytes)
        }
        #expect(wrote)
        #expect(path == root + "/blobs/sha256/" + digest.hex)
        #expect(cache.path(for: digest) == path)
        #expect(try cache.verify(digest))

        // Wrong content: nothing lands in blobs/.
        let other = try Self.digest(Array("other".utf8))
        #expect(throws: DistributionError.self) {
            try cache.ingest(other, expectedSize: 5) { writer throws(DistributionError) in
                try feed(writer, Array("wrong".utf8))
            }
        }
        #expect(cache.path(for: other) == nil)
        // More bytes than declared stop at once.
        #expect(throws: DistributionError.self) {
            try cache.ingest(other, expectedSize: 2) { writer throws(DistributionError) in
                try feed(writer, Array("other".utf8))
            }
        }
        // A corrupted cached blob is detected and removed by verify.
        try Data("tampered".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try cache.verify(digest) == false)
        #expect(cache.path(for: digest) == nil)
    }

    @Test func partialFromEarlierRunIsResumed() throws {
        let root = try RegistryFixture.temporaryDirectory("cache-resume")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = try BlobCache(root: root)
        let bytes = (0..<10_000).map { UInt8($0 % 251) }
        let digest = try Self.digest(bytes)
        try Data(bytes[0..<4000]).write(to: URL(fileURLWithPath: root + "/ingest/" + digest.hex + ".partial"))
        var startedAt: Int64 = -1
        _ = try cache.ingest(digest, expectedSize: Int64(bytes.count)) { writer throws(DistributionError) in
            startedAt = writer.offset
            try feed(writer, bytes[Int(writer.offset)...])
        }
        #expect(startedAt == 4000)
        #expect(try cache.verify(digest))
    }

    /// Many threads ingest the same blob: exactly one writes it, the rest find it done.
    @Test func concurrentIngestOfOneBlob() throws {
        let root = try RegistryFixture.temporaryDirectory("cache-race")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let digest = try Self.digest(bytes)
        let writes = Locked(0)
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                let cache = try BlobCache(root: root)
                _ = try cache.ingest(digest, expectedSize: Int64(bytes.count)) { writer throws(DistributionError) in
                    writes.withLock { $0 += 1 }
                    for start in stride(from: 0, to: bytes.count, by: 4096) {
                        try feed(writer, bytes[start..<min(start + 4096, bytes.count)])
                    }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(writes.withLock { $0 } == 1)
        #expect(try BlobCache(root: root).verify(digest))
    }

    @Test func listAndPrune() throws {
        let root = try RegistryFixture.temporaryDirectory("cache-prune")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = try BlobCache(root: root)
        let now = Date()
        var digests: [Digest] = []
        let ages: [Double] = [0, 3600, 86400 * 3, 86400 * 10]
        for (i, age) in ages.enumerated() {
            let bytes = [UInt8](repeating: UInt8(i), count: 1000 * (i + 1))
            let file = root + "/in-\(i)"
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            let digest = try Self.digest(bytes)
            try cache.add(file: file, digest: digest)
            try setModified(cache.blobPath(for: digest), now.addingTimeInterval(-age))
            digests.append(digest)
        }
        try Data("junk".utf8).write(to: URL(fileURLWithPath: root + "/blobs/sha256/not-a-digest"))
        let listed = try cache.list()
        #expect(listed.map(\.digest) == digests)  // newest first
        #expect(listed.map(\.size) == [1000, 2000, 3000, 4000])

        let dry = try cache.prune(olderThan: 86400 * 2, dryRun: true, now: now)
        #expect(dry.removed.map(\.digest) == [digests[3], digests[2]])
        #expect(try cache.list().count == 4)

        let byAge = try cache.prune(olderThan: 86400 * 7, now: now)
        #expect(byAge.removed.map(\.digest) == [digests[3]])
        #expect(byAge.freedBytes == 4000)
        let bySize = try cache.prune(maxSize: 2500, now: now)
        #expect(bySize.removed.map(\.digest) == [digests[2], digests[1]])  // least recently used first
        #expect(bySize.remainingBytes == 1000)
        #expect(try cache.list().map(\.digest) == [digests[0]])
        #expect(FileManager.default.fileExists(atPath: root + "/blobs/sha256/not-a-digest"))

        // A stale unlocked partial goes; a locked one stays.
        let stale = root + "/ingest/" + String(repeating: "1", count: 64)
        try Data("x".utf8).write(to: URL(fileURLWithPath: stale + ".partial"))
        try Data().write(to: URL(fileURLWithPath: stale + ".lock"))
        try setModified(stale + ".partial", now.addingTimeInterval(-200_000))
        let held = root + "/ingest/" + String(repeating: "2", count: 64)
        try Data("y".utf8).write(to: URL(fileURLWithPath: held + ".partial"))
        try setModified(held + ".partial", now.addingTimeInterval(-200_000))
        let lock = try IngestLock(path: held + ".lock")
        defer { lock.release() }
        #expect(try cache.prune(now: now).partialsRemoved == 1)
        #expect(!FileManager.default.fileExists(atPath: stale + ".partial"))
        #expect(FileManager.default.fileExists(atPath: held + ".partial"))
    }

    /// Partial downloads are listed, count in the cache's size, and go under a size limit
    /// first — unless a live run holds their lock.
    @Test func partialsAreListedCountedAndPruned() throws {
        let root = try RegistryFixture.temporaryDirectory("cache-partials")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = try BlobCache(root: root)
        let blob = [UInt8](repeating: 1, count: 1000)
        try Data(blob).write(to: URL(fileURLWithPath: root + "/blob"))
        try cache.add(file: root + "/blob", digest: try Self.digest(blob))
        let stale = root + "/ingest/" + String(repeating: "3", count: 64)
        try Data(count: 5000).write(to: URL(fileURLWithPath: stale + ".partial"))  // a failed run's, recent
        let live = root + "/ingest/" + String(repeating: "4", count: 64)
        try Data(count: 3000).write(to: URL(fileURLWithPath: live + ".partial"))
        let lock = try IngestLock(path: live + ".lock")
        defer { lock.release() }

        let listed = try cache.list(includingPartials: true)
        #expect(listed.count == 3)
        #expect(listed.filter(\.partial).map(\.size).sorted() == [3000, 5000])
        #expect(listed.first { $0.size == 3000 }?.inUse == true)
        #expect(listed.first { $0.size == 5000 }?.inUse == false)
        #expect(try cache.list().count == 1)

        let dry = try cache.prune(maxSize: 10_000, dryRun: true)
        #expect(dry.partialsRemoved == 1 && dry.freedBytes == 5000 && dry.remainingBytes == 4000)
        #expect(FileManager.default.fileExists(atPath: stale + ".partial"))
        let report = try cache.prune(maxSize: 10_000)
        #expect(report.partialsRemoved == 1)
        #expect(report.freedBytes == 5000)
        #expect(report.removed.isEmpty)
        #expect(report.remainingBytes == 4000)
        #expect(!FileManager.default.fileExists(atPath: stale + ".partial"))
        // The live partial counts: the blob must go to fit 3500 bytes; the partial stays.
        let tight = try cache.prune(maxSize: 3500)
        #expect(tight.removed.count == 1)
        #expect(tight.remainingBytes == 3000)
        #expect(FileManager.default.fileExists(atPath: live + ".partial"))
    }

    @Test func sizeAndDurationParsing() throws {
        #expect(try BlobCache.parseSize("2048") == 2048)
        #expect(try BlobCache.parseSize("500M") == 500 << 20)
        #expect(try BlobCache.parseSize("10G") == 10 << 30)
        #expect(try BlobCache.parseSize("1.5GiB") == 3 << 29)
        #expect(try BlobCache.parseSize("3kb") == 3072)
        #expect(throws: DistributionError.self) { try BlobCache.parseSize("lots") }
        #expect(throws: DistributionError.self) { try BlobCache.parseSize("5X") }
        #expect(try BlobCache.parseDuration("30s") == 30)
        #expect(try BlobCache.parseDuration("7d") == 604_800)
        #expect(try BlobCache.parseDuration("1d12h") == 129_600)
        #expect(try BlobCache.parseDuration("2w") == 1_209_600)
        #expect(throws: DistributionError.self) { try BlobCache.parseDuration("7") }
        #expect(throws: DistributionError.self) { try BlobCache.parseDuration("d") }
        #expect(throws: DistributionError.self) { try BlobCache.parseDuration("3y") }
    }
}

/// Feeds bytes to a writer (withUnsafeBytes only rethrows untyped errors).
func feed(_ writer: BlobWriter, _ bytes: some Collection<UInt8>) throws(DistributionError) {
    let array = Array(bytes)
    let result = array.withUnsafeBytes { buffer in
        Result { () throws(DistributionError) in try writer.append(buffer) }
    }
    try result.get()
}

func setModified(_ path: String, _ date: Date) throws {
    try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
}
