import Foundation
@testable import Distribution
import Hashing
import OCISpec
import Testing

/// A blob read while it is written into the cache: readers see only written bytes, learn of a
/// failure, and are told when bytes they may have read were cut away by a restart.
struct BlobArrivalTests {
    /// A fresh cache and an arrival for `bytes`, removed by `cleanup()`.
    struct Fixture {
        let root: String
        let cache: BlobCache
        let bytes: [UInt8]
        let digest: Digest
        let arrival: BlobArrival

        init(_ bytes: [UInt8]) throws {
            root = try RegistryFixture.temporaryDirectory("arrival")
            cache = try BlobCache(root: root)
            self.bytes = bytes
            digest = try BlobCacheTests.digest(bytes)
            arrival = BlobArrival(digest: digest, size: Int64(bytes.count), path: cache.blobPath(for: digest))
        }

        func ingest(_ body: (BlobWriter) throws(DistributionError) -> Void) throws(DistributionError) {
            _ = try cache.ingest(digest, expectedSize: Int64(bytes.count), arrival: arrival, body)
        }

        func cleanup() { try? FileManager.default.removeItem(atPath: root) }
    }

    static func readAll(_ arrival: BlobArrival) throws -> [UInt8] {
        let reader = try arrival.openReader()
        #expect(reader.verifiedByDownload)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 7)
        while true {
            let offset = Int64(bytes.count)
            let n = try buffer.withUnsafeMutableBytes { try reader.read(at: offset, into: $0) }
            if n == 0 { break }
            bytes += buffer[0..<n]
        }
        return bytes
    }

    @Test func readerFollowsTheWriterAndIsToldTheBytesAreVerified() throws {
        let fixture = try Fixture((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        defer { fixture.cleanup() }
        let (bytes, arrival) = (fixture.bytes, fixture.arrival)
        let read = Locked<[UInt8]?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            read.withLock { $0 = try? Self.readAll(arrival) }
            done.signal()
        }.start()
        try fixture.ingest { writer throws(DistributionError) in
            for start in stride(from: 0, to: bytes.count, by: 300) {
                try feed(writer, bytes[start..<min(start + 300, bytes.count)])
                usleep(500)
            }
        }
        done.wait()
        #expect(read.withLock { $0 } == bytes)
        #expect(try arrival.confirm())
        #expect(arrival.wasReadWhileWriting)
        // Once complete, a new reader opens the cached blob, which this run verified.
        #expect(try arrival.openReader().verifiedByDownload)
    }

    @Test func aRestartBelowWhatWasReadIsReported() throws {
        let fixture = try Fixture(Array("0123456789abcdef".utf8))
        defer { fixture.cleanup() }
        let (bytes, arrival) = (fixture.bytes, fixture.arrival)
        try fixture.ingest { writer throws(DistributionError) in
            // An error page's bytes, read by a reader, then rolled back.
            writer.begin()
            try feed(writer, Array("<html>".utf8))
            #expect(try arrival.readable(beyond: 0) == 6)
            try writer.rollback()
            try feed(writer, bytes)
        }
        #expect(try arrival.confirm() == false)
    }

    @Test func aRestartAboveWhatWasReadIsHarmless() throws {
        let fixture = try Fixture(Array("0123456789abcdef".utf8))
        defer { fixture.cleanup() }
        let (bytes, arrival) = (fixture.bytes, fixture.arrival)
        try fixture.ingest { writer throws(DistributionError) in
            try feed(writer, bytes[0..<4])
            #expect(try arrival.readable(beyond: 0) == 4)
            writer.begin()
            try feed(writer, Array("junk".utf8))
            try writer.rollback()
            try feed(writer, bytes[4...])
        }
        #expect(try arrival.confirm())
    }

    @Test func aFailedDownloadWakesTheReaderWithItsError() throws {
        let fixture = try Fixture(Array("expected content".utf8))
        defer { fixture.cleanup() }
        let (bytes, arrival) = (fixture.bytes, fixture.arrival)
        let outcome = Locked<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            do {
                _ = try arrival.readable(beyond: Int64(bytes.count))
                outcome.withLock { $0 = "returned" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
            done.signal()
        }.start()
        #expect(throws: DistributionError.self) {
            try fixture.ingest { writer throws(DistributionError) in
                try feed(writer, Array("unexpected bytes".utf8))
            }
        }
        arrival.failed(.cancelled)
        done.wait()
        #expect(outcome.withLock { $0 } != "returned")
        #expect(throws: DistributionError.self) { _ = try arrival.confirm() }
        #expect(fixture.cache.path(for: fixture.digest) == nil)
    }

    /// The cache does not vouch for a blob it already had: `ingest` leaves it, and the
    /// arrival, to its caller (the registry client checks it, see `CachedBlobTests`).
    @Test func aBlobAlreadyCachedIsLeftToItsCaller() throws {
        let fixture = try Fixture(Array("cached".utf8))
        defer { fixture.cleanup() }
        let bytes = fixture.bytes
        _ = try fixture.cache.ingest(fixture.digest, expectedSize: Int64(bytes.count)) { writer throws(DistributionError) in
            try feed(writer, bytes)
        }
        let (path, wrote) = try fixture.cache.ingest(fixture.digest, expectedSize: Int64(bytes.count), arrival: fixture.arrival) {
            _ throws(DistributionError) in Issue.record("a cached blob was downloaded again")
        }
        #expect(!wrote)
        #expect(path == fixture.arrival.path)
        #expect(!fixture.arrival.isDone)
    }

    /// `ingest` closes the partial file's descriptor as soon as the download fails, before
    /// anyone marks the arrival failed; a reader opening it then must still get the partial
    /// file, never whatever the process opened next under the same number.
    @Test func aReaderNeverGetsTheWritersClosedDescriptor() throws {
        let fixture = try Fixture(Array("0123456789abcdef".utf8))
        defer { fixture.cleanup() }
        #expect(throws: DistributionError.self) {
            try fixture.ingest { writer throws(DistributionError) in
                try feed(writer, fixture.bytes[0..<6])
                throw .cancelled
            }
        }
        let squatter = open("/dev/null", O_RDONLY | O_CLOEXEC)  // takes the lowest free number
        defer { close(squatter) }
        var partial = stat()
        #expect(stat(fixture.root + "/ingest/" + fixture.digest.hex + ".partial", &partial) == 0)
        let reader = try fixture.arrival.openReader()
        #expect(try fixture.arrival.readable(beyond: 0) == 6)
        // The partial file's bytes, not /dev/null's (which the closed number would now be).
        var head = [UInt8](repeating: 0, count: 6)
        #expect(try head.withUnsafeMutableBytes { try reader.read(at: 0, into: $0) } == 6)
        #expect(head == Array(fixture.bytes[0..<6]))
        fixture.arrival.failed(.cancelled)
        #expect(throws: DistributionError.self) { _ = try fixture.arrival.openReader() }
    }

    /// A cached copy being checked is replaced by a download when it fails: a reader that
    /// opened the first file (even without reading from it yet) must be told.
    @Test func aReaderOfAReplacedFileIsToldSo() throws {
        let fixture = try Fixture(Array("content".utf8))
        defer { fixture.cleanup() }
        let first = open(fixture.root + "/first", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        let second = open(fixture.root + "/second", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        defer { close(first); close(second) }
        try fixture.arrival.begin(fd: first, offset: 0)
        _ = try fixture.arrival.openReader()
        try fixture.arrival.begin(fd: second, offset: 0)
        fixture.arrival.verified()
        #expect(try fixture.arrival.confirm() == false)

        // Nobody opened the first: the switch is harmless.
        let other = BlobArrival(digest: fixture.digest, size: 7, path: fixture.arrival.path)
        try other.begin(fd: first, offset: 0)
        try other.begin(fd: second, offset: 0)
        other.verified()
        #expect(try other.confirm())
    }
}
