import Distribution
import Foundation
import OCISpec
import Rootfs
import Synchronization
import Testing
@testable import SifterCore

extension ProgressRenderer {
    func layer(_ report: ProgressRendererTests.Report) {
        download(report.digest, report.event, completed: report.completed, total: report.total, ofImage: true)
    }

    func pulled(_ report: ProgressRendererTests.Report) {
        download(report.digest, report.event, completed: report.completed, total: report.total, ofImage: false)
    }
}

/// The progress renderer's output for scripted event sequences, on a scripted clock: what a
/// CI log and a terminal show for a build, a convert's push, a pull and --quiet.
@Suite struct ProgressRendererTests {
    /// A renderer whose clock the test sets and whose output it reads.
    final class Script: Sendable {
        final class Cell<Value: Sendable>: Sendable {
            let value: Mutex<Value>
            init(_ value: Value) { self.value = Mutex(value) }
        }

        private let clock = Cell(0.0)
        private let output = Cell("")
        let renderer: ProgressRenderer

        init(_ style: ProgressStyle, columns: Int? = nil) {
            let clock = clock, output = output
            renderer = ProgressRenderer(style: style, write: { text in output.value.withLock { $0 += text } },
                                        now: { clock.value.withLock { $0 } }, columns: { columns })
        }

        /// Moves the clock to `time` and runs `body` there.
        func at(_ time: Double, _ body: (ProgressRenderer) -> Void) {
            clock.value.withLock { $0 = time }
            body(renderer)
        }

        var text: String { output.value.withLock { $0 } }
    }

    static let mib: Int64 = 1 << 20
    static let big = try! Digest(sha256Hex: String(repeating: "a1", count: 32))
    static let small = try! Digest(sha256Hex: String(repeating: "b2", count: 32))

    static func image() throws -> ResolvedImage {
        let json = #"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#
        let config = try ImageConfig.decode(Array(json.utf8))
        let digest = try Digest(sha256Hex: String(repeating: "cd", count: 32))
        let layers = [(big, 200 * mib), (small, 50 * mib)].map { digest, size in
            ResolvedImage.Layer(descriptor: Descriptor(mediaType: MediaType.ociLayer, digest: digest, size: size), diffID: nil,
                                path: "/nonexistent")
        }
        let manifest = Manifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: digest, size: Int64(json.utf8.count)),
                                layers: layers.map(\.descriptor))
        return ResolvedImage(sourceText: "docker://127.0.0.1:5000/x/app:1", reference: "127.0.0.1:5000/x/app:1", bootstrap: "docker",
                             registry: "127.0.0.1:5000", repository: "x/app", indexDigest: nil, manifestDigest: digest,
                             manifest: manifest, configDigest: digest, configBytes: Array(json.utf8), config: config, layers: layers)
    }

    /// What a download thread reports (`BlobProgress`), for a layer of an image or a pulled blob.
    struct Report {
        var digest: Digest, event: BlobProgress.Event, completed: Int64, total: Int64
    }

    static func blob(_ digest: Digest, _ event: BlobProgress.Event, _ completed: Int64, of total: Int64) -> Report {
        Report(digest: digest, event: event, completed: completed, total: total)
    }

    /// A registry build: the download (one layer from the cache, one stalling for 20 s), the
    /// index pass under it, a slow stream into mksquashfs, the SIF. Ticks come every second, as
    /// the CLI's timer sends them.
    static func scriptedBuild(_ script: Script) throws {
        let image = try image()
        script.at(0.0) { $0.layer(blob(big, .started, 0, of: 200 * mib)) }
        script.at(0.0) { $0.layer(blob(small, .cached, 50 * mib, of: 50 * mib)) }
        script.at(0.1) { $0.build(.resolved(image)) }
        script.at(0.1) { $0.build(.stage(.index)) }
        script.at(0.1) { $0.build(.flatten(FlattenProgress(pass: .index, completedBytes: 0, totalBytes: 250 * mib))) }
        var time = 0.1
        // 40 MiB/s for 2 s, then nothing for 20 s (a stalled registry), then the rest in 4 s.
        for second in 1...26 {
            time = Double(second)
            let received: Int64 = second <= 2 ? Int64(second) * 40 * mib : second <= 22 ? 80 * mib : min(200 * mib, 80 * mib + Int64(second - 22) * 30 * mib)
            script.at(time) { $0.layer(blob(big, .progress, received, of: 200 * mib)) }
            script.at(time) { $0.build(.flatten(FlattenProgress(pass: .index, completedBytes: received + 50 * mib, totalBytes: 250 * mib))) }
            script.at(time + 0.5) { $0.tick() }
        }
        script.at(26.5) { $0.layer(blob(big, .finished, 200 * mib, of: 200 * mib)) }
        script.at(27.0) { $0.build(.stage(.stream)) }
        script.at(27.0) { $0.build(.flatten(FlattenProgress(pass: .stream, completedBytes: 0, totalBytes: 250 * mib))) }
        // The stream: 5 MiB/s, into a slow compression.
        for second in 28...77 {
            script.at(Double(second)) { $0.build(.flatten(FlattenProgress(pass: .stream, completedBytes: Int64(second - 27) * 5 * mib, totalBytes: 250 * mib))) }
            script.at(Double(second) + 0.5) { $0.tick() }
        }
        script.at(78.0) { $0.build(.stage(.sif)) }
        script.at(78.4) { $0.finish() }
    }

    @Test func logShowsStagesAndAtMostOneProgressLineEveryTenSeconds() throws {
        let script = Script(.log)
        try Self.scriptedBuild(script)
        // The registry stalls from 2 s to 22 s: the download's lines stay at 52%; the stream's
        // lines move while mksquashfs is slow.
        #expect(script.text == """
            docker://127.0.0.1:5000/x/app:1: sha256:cdcdcdcdcdcd, 2 layers (250.0 MiB), linux/amd64
            download: 250.0 MiB in 2 layers (1 in the cache)
            index: reading 250.0 MiB into the index of the tree
            download: 52% of 250.0 MiB, 10 s
            download: 52% of 250.0 MiB, 20 s
            download: done, 200.0 MiB in 27 s (7.5 MiB/s); 1 of 2 layers were in the cache
            index: done, 250.0 MiB in 27 s (9.3 MiB/s)
            stream: 250.0 MiB of layers into mksquashfs
            stream: 20% of 250.0 MiB, 10 s
            stream: 40% of 250.0 MiB, 20 s
            stream: 60% of 250.0 MiB, 30 s
            stream: 80% of 250.0 MiB, 40 s
            stream: 100% of 250.0 MiB, 50 s
            stream: done, 250.0 MiB in 51 s (4.9 MiB/s)
            sif: writing the header, provenance and integrity record
            sif: done in 0.4 s

            """)
    }

    @Test func terminalShowsTheStageRunningWithRateAndETA() throws {
        let script = Script(.terminal, columns: 100)
        try Self.scriptedBuild(script)
        let text = script.text
        // Every stage leaves one line; the live line is redrawn in place (CR, erase line).
        let kept = text.components(separatedBy: "\n").map { $0.components(separatedBy: "\r\u{1B}[K").last ?? "" }
        #expect(kept == [
            "docker://127.0.0.1:5000/x/app:1: sha256:cdcdcdcdcdcd, 2 layers (250.0 MiB), linux/amd64",
            "download  done, 200.0 MiB in 27 s (7.5 MiB/s); 1 of 2 layers were in the cache",
            "index     done, 250.0 MiB in 27 s (9.3 MiB/s)",
            "stream    done, 250.0 MiB in 51 s (4.9 MiB/s)",
            "sif       done in 0.4 s",
            "",
        ])
        let frames = text.components(separatedBy: "\r\u{1B}[K").map { $0.replacingOccurrences(of: "\n", with: "") }.filter { !$0.isEmpty }
        // While the layers download, the download is shown, not the index pass under it; while
        // the registry stalls, its rate falls to nothing and no ETA is promised.
        #expect(frames.contains("download  130.0 MiB / 250.0 MiB  52%  40.0 MiB/s  ETA 3.0 s  layers 1/2  a1a1a1a1a1a1 40%"))
        #expect(frames.contains("download  130.0 MiB / 250.0 MiB  52%  0 B/s  layers 1/2  a1a1a1a1a1a1 40%"))
        let downloadEnd = try #require(frames.firstIndex { $0.hasPrefix("download  done") })
        #expect(!frames[..<downloadEnd].contains { $0.hasPrefix("index") })
        // Then the index pass, still reading when the download ended; during the stream the
        // stream is shown, never a stale download line.
        #expect(frames[downloadEnd + 1] == "index     250.0 MiB / 250.0 MiB  100%  24.0 MiB/s  26 s")
        #expect(frames.contains("stream    125.0 MiB / 250.0 MiB  50%  5.0 MiB/s  ETA 25 s  25 s"))
        let streamStart = try #require(frames.firstIndex { $0.hasPrefix("stream") })
        #expect(!frames[streamStart...].contains { $0.hasPrefix("download") || $0.hasPrefix("index") })
        #expect(frames.allSatisfy { $0.count <= 99 })
    }

    @Test func terminalLineIsCutToTheWidth() throws {
        let script = Script(.terminal, columns: 40)
        try Self.scriptedBuild(script)
        // The live line is cut; lines that stay (notes, ends) wrap as a terminal wraps them.
        let live = script.text.components(separatedBy: "\r\u{1B}[K").filter { !$0.isEmpty && !$0.contains("\n") }
        #expect(live.contains("download  130.0 MiB / 250.0 MiB  52%  …"))
        #expect(live.allSatisfy { $0.count <= 39 })
    }

    @Test func quietWritesNothingButMessages() throws {
        let script = Script(.quiet)
        try Self.scriptedBuild(script)
        script.at(80) { $0.printAbove("sifter: warning: something\n") }
        #expect(script.text == "sifter: warning: something\n")
    }

    @Test func messagesGoAboveTheLiveLine() throws {
        let script = Script(.terminal)
        script.at(0) { $0.build(.stage(.sif)) }
        script.at(1) { $0.printAbove("sifter: warning: w\n") }
        #expect(script.text == "\r\u{1B}[Ksif       0.0 s\r\u{1B}[Ksifter: warning: w\n\r\u{1B}[Ksif       1.0 s")
    }

    /// push: the hash, the upload (its size and time; the client reports no bytes), and a SIF
    /// the registry has already.
    @Test func pushShowsHashAndUpload() throws {
        let script = Script(.log)
        let config = try Digest(parsing: SIFArtifact.configDigest)
        script.at(0) { $0.push(.hashing(path: "app.sif")) }
        script.at(2) { $0.push(.blob(config, size: 2, .existed)) }
        script.at(2) { $0.push(.uploading(Self.big, size: 300 * Self.mib)) }
        for second in 3...25 { script.at(Double(second)) { $0.tick() } }
        script.at(26) { $0.push(.blob(Self.big, size: 300 * Self.mib, .uploaded)) }
        script.at(26) { $0.push(.tagged("1.0")) }
        script.at(27) { $0.finish() }
        #expect(script.text == """
            hash: sha256 of app.sif
            hash: done in 2.0 s
            upload: 300.0 MiB
            upload: 300.0 MiB, 10 s
            upload: 300.0 MiB, 20 s
            upload: done, 300.0 MiB in 24 s (12.5 MiB/s)

            """)

        let again = Script(.log)
        again.at(0) { $0.push(.hashing(path: "again.sif")) }
        again.at(0.5) { $0.push(.blob(config, size: 2, .existed)) }
        again.at(0.5) { $0.push(.blob(Self.big, size: 300 * Self.mib, .existed)) }
        again.at(0.6) { $0.finish() }
        #expect(again.text == """
            hash: sha256 of again.sif
            hash: done in 0.5 s
            upload: the registry has sha256:a1a1a1a1a1a1 (300.0 MiB) already; nothing uploaded

            """)
    }

    /// pull: one blob, its download ends when it has arrived.
    @Test func pullDownloadEndsWhenTheBlobArrives() throws {
        let script = Script(.log)
        script.at(0) { $0.pulled(Self.blob(Self.small, .started, 10 * Self.mib, of: 50 * Self.mib)) }
        script.at(12) { $0.pulled(Self.blob(Self.small, .progress, 30 * Self.mib, of: 50 * Self.mib)) }
        script.at(16) { $0.pulled(Self.blob(Self.small, .finished, 50 * Self.mib, of: 50 * Self.mib)) }
        script.at(17) { $0.finish() }
        #expect(script.text == """
            download: 50.0 MiB
            download: 60% of 50.0 MiB, 12 s
            download: done, 40.0 MiB in 16 s (2.5 MiB/s)

            """)
    }
}
