import Foundation
@testable import Distribution
import OCISpec
import Testing
#if canImport(Glibc)
import Glibc
#endif

let bigPullMebibytes = ProcessInfo.processInfo.environment["SIFTER_BIG_PULL_MIB"].flatMap { Int($0) }

/// Opt-in: SIFTER_BIG_PULL_MIB=300 swift test --filter BigPull. Pulls an image with two layers of
/// that many MiB each (four parallel downloads, through the fault proxy so a resume happens)
/// and checks that the peak RSS grows by far less than a layer: bodies go to disk, not memory.
@Suite(.serialized, .enabled(if: RegistryFixture.isAvailable && bigPullMebibytes != nil, "set SIFTER_BIG_PULL_MIB to run"))
struct BigPullTests {

    /// Current resident set size from /proc (the high-water mark of getrusage also counts
    /// whatever happened before the pull).
    static func currentRSSKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    static func peakRSSKiB() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss
    }

    @Test func memoryStaysFlat() throws {
        let size = bigPullMebibytes ?? 300
        let fixture = try RegistryFixture(mode: "none")
        let image = try fixture.seed(repository: "big/img", bigMiB: size)
        let front = try fixture.startFront("bigfaults", ["--faults"])
        let ref = try ImageReference.parse("\(front)/big/img:latest")
        let cacheRoot = try RegistryFixture.temporaryDirectory("big-cache")
        defer { try? FileManager.default.removeItem(atPath: cacheRoot) }
        let client = try RegistryClient(options: PullIntegrationTests.options())
        let before = Self.peakRSSKiB()
        let started = Date()
        let amd64 = try client.resolve(ref, platform: Platform(os: "linux", architecture: "amd64"))
        let arm64 = try client.resolve(ref, platform: Platform(os: "linux", architecture: "arm64"))
        let layers = amd64.manifest.layers + arm64.manifest.layers
        let baseline = Self.currentRSSKiB()
        let highest = Locked(baseline)
        try client.fetchBlobs(ref, layers, into: try BlobCache(root: cacheRoot)) { _ in
            let now = Self.currentRSSKiB()
            highest.withLock { $0 = max($0, now) }
        }
        let sampled = highest.withLock { $0 }
        let seconds = Date().timeIntervalSince(started)
        let after = Self.peakRSSKiB()
        let total = layers.reduce(0) { $0 + $1.size }
        print("big pull: \(total >> 20) MiB in \(String(format: "%.1f", seconds)) s through the fault proxy; RSS \(baseline / 1024) MiB before, at most \(sampled / 1024) MiB during (sampled at every progress report); process peak \(before / 1024) → \(after / 1024) MiB")
        #expect(after - before < 64 * 1024, "peak RSS grew by \((after - before) / 1024) MiB")
        #expect(sampled - baseline < 64 * 1024, "RSS grew by \((sampled - baseline) / 1024) MiB during the pull")
        try PullIntegrationTests.checkCache(try BlobCache(root: cacheRoot), has: image.amd64Layers + image.arm64Layers)

        // The same straight from the registry, for a throughput figure without the Python proxy.
        let directRoot = try RegistryFixture.temporaryDirectory("big-direct")
        defer { try? FileManager.default.removeItem(atPath: directRoot) }
        let directRef = try ImageReference.parse("\(fixture.registry)/big/img:latest")
        let directStart = Date()
        try client.fetchBlobs(directRef, layers, into: try BlobCache(root: directRoot))
        print("big pull direct: \(total >> 20) MiB in \(String(format: "%.1f", Date().timeIntervalSince(directStart))) s")
    }
}
