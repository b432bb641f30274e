@testable import ArchiveIO
import Foundation
import Testing

/// Not a test: times `ObservedTarReader` over one gzip layer with each gzip engine. Run with
/// SIFTER_INFLATE_BENCH=<path of a .tar.gz> (and optionally SIFTER_INFLATE_BENCH_BLOCK, the
/// read size), in release (`swift test -c release -Xswiftc -enable-testing --filter InflateBenchmark`).
@Suite struct InflateBenchmark {
    static let path = ProcessInfo.processInfo.environment["SIFTER_INFLATE_BENCH"]
    static let blockSize = ProcessInfo.processInfo.environment["SIFTER_INFLATE_BENCH_BLOCK"].flatMap { Int($0) }
        ?? ArchiveReader.defaultBlockSize

    @Test(.enabled(if: path != nil)) func compareEngines() throws {
        let path = try #require(Self.path)
        var results: [ObservedTarReader.GzipDecoder: [(wall: Double, cpu: Double)]] = [:]
        var totals: [ObservedTarReader.GzipDecoder: (Int64, Int64, Int)] = [:]
        for _ in 0..<3 {
            for decoder in [ObservedTarReader.GzipDecoder.libarchive, .isal] {
                let (wall, cpu, result) = try measure { try readEverything(path, decoder) }
                results[decoder, default: []].append((wall, cpu))
                totals[decoder] = result
            }
        }
        #expect(totals[.isal]! == totals[.libarchive]!)
        // Untimed: both engines hand out the same bytes (observers and entry data).
        #expect(try fingerprint(path, .isal) == fingerprint(path, .libarchive))
        for decoder in [ObservedTarReader.GzipDecoder.libarchive, .isal] {
            let runs = results[decoder]!.sorted { $0.wall < $1.wall }
            let text = runs.map { String(format: "wall %.3f s cpu %.3f s", $0.wall, $0.cpu) }.joined(separator: "; ")
            print("inflate-bench \(decoder): \(text); file/tar bytes, entries \(totals[decoder]!)")
        }
    }
}

/// Every entry and all its data, then `finish()`; returns the totals and the entry count.
private func readEverything(_ path: String, _ decoder: ObservedTarReader.GzipDecoder) throws -> (Int64, Int64, Int) {
    var seen = 0
    let reader = try ObservedTarReader(
        source: try FileSource(path: path), blockSize: InflateBenchmark.blockSize, gzipDecoder: decoder, onFileBytes: { _ in }, onTarBytes: { seen &+= $0.count })
    defer { try? reader.close() }
    var entries = 0
    while try reader.nextEntry() != nil {
        entries += 1
        try reader.readDataBlocks { block, _ in seen &+= block.count }
    }
    let totals = try reader.finish()
    return (totals.fileBytes, totals.tarBytes, entries)
}

/// FNV-1a of the file observer's, the tar observer's and the entries' bytes.
private func fingerprint(_ path: String, _ decoder: ObservedTarReader.GzipDecoder) throws -> [UInt64] {
    final class Hashes { var values: [UInt64] = [0xcbf2_9ce4_8422_2325, 0xcbf2_9ce4_8422_2325, 0xcbf2_9ce4_8422_2325] }
    let hashes = Hashes()
    func mix(_ index: Int, _ bytes: UnsafeRawBufferPointer) {
        var hash = hashes.values[index]
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hashes.values[index] = hash
    }
    let reader = try ObservedTarReader(
        source: try FileSource(path: path), gzipDecoder: decoder, onFileBytes: { mix(0, $0) }, onTarBytes: { mix(1, $0) })
    defer { try? reader.close() }
    while try reader.nextEntry() != nil {
        try reader.readDataBlocks { block, _ in mix(2, block) }
    }
    _ = try reader.finish()
    return hashes.values
}

private func measure<T>(_ body: () throws -> T) rethrows -> (wall: Double, cpu: Double, result: T) {
    func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }
    let cpuStart = cpuSeconds()
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try body()
    let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return (wall, cpuSeconds() - cpuStart, result)
}
