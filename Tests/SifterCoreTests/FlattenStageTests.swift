import ArchiveIO
import Foundation
import Hashing
import OCISpec
import Rootfs
import SIF
import Synchronization
import Testing
@testable import SifterCore

/// The stage's one strategy, against a fake sink: index every layer, start the sink once with
/// what the index says, stream, finish; a bad layer never starts the sink; a consumer that
/// stops reading explains the failure.
@Suite struct FlattenStageTests {
    final class FakeSink: TarSink {
        enum Consumer { case file(String), brokenPipe }
        let consumer: Consumer
        private(set) var starts: [(root: RootMetadata, latestTime: Int64)] = []
        private(set) var finished = 0
        private(set) var abandonedAfter: [String] = []
        private var descriptor: Int32 = -1
        struct ConsumerFailed: Error, Equatable {}

        init(_ consumer: Consumer) { self.consumer = consumer }

        var readsPaxLinkTargetsExactly: Bool { true }
        deinit { if descriptor >= 0 { close(descriptor) } }

        func start(root: RootMetadata, latestTime: Int64) throws -> Int32 {
            starts.append((root, latestTime))
            switch consumer {
            case let .file(path):
                descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            case .brokenPipe:
                var ends: [Int32] = [0, 0]
                guard pipe(&ends) == 0 else { throw ConsumerFailed() }
                close(ends[0])
                descriptor = ends[1]
            }
            return descriptor
        }

        func finish() throws { finished += 1 }

        func abandon(after error: any Error) -> any Error {
            abandonedAfter.append("\(error)")
            if case .brokenPipe = consumer { return ConsumerFailed() }
            return error
        }
    }

    final class Counter: Sendable {
        let value = Mutex(0)
        var count: Int { value.withLock { $0 } }
        func add() { value.withLock { $0 += 1 } }
    }

    let scratch: String

    init() throws {
        // A write into a pipe nobody reads must fail with EPIPE here too, as in the CLI.
        signal(SIGPIPE, SIG_IGN)
        scratch = NSTemporaryDirectory() + "flatten-stage-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    /// A plain tar layer of `members` (path, type, mtime), and how often its blob was opened.
    func layer(_ name: String, _ members: [(String, ArchiveEntry.FileType, Int64)], opens: Counter? = nil,
               wrongDigest: Bool = false) throws -> (ResolvedImage.Layer, Digest) {
        let path = scratch + "/" + name + ".tar"
        let writer = try ArchiveWriter(path: path)
        for (member, type, mtime) in members {
            let entry = try ArchiveEntry()
            entry.pathname = member
            entry.fileType = type
            entry.permissions = type == .directory ? 0o700 : 0o644
            entry.uid = 1000
            entry.gid = 1000
            entry.mtime = ArchiveTimestamp(seconds: mtime)
            entry.size = type == .regular ? 3 : 0
            try writer.writeHeader(entry)
            if type == .regular { try writer.writeData(Array("abc".utf8)) }
        }
        try writer.finish()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let digest = try Digest(sha256Hex: SHA256.hash(bytes).hex)
        let named = wrongDigest ? try Digest(sha256Hex: String(repeating: "1", count: 64)) : digest
        let blob = LayerBlob(location: path, unchangedWhileOpen: false) {
            opens?.add()
            return LayerBlob.Opened(source: try FileSource(path: path), verification: .byReader)
        }
        let descriptor = Descriptor(mediaType: MediaType.ociLayer, digest: named, size: Int64(bytes.count))
        return (ResolvedImage.Layer(descriptor: descriptor, diffID: digest, blob: blob), digest)
    }

    func image(_ layers: [ResolvedImage.Layer]) throws -> ResolvedImage {
        let diffIDs = layers.compactMap(\.diffID).map { #""\#($0)""# }.joined(separator: ",")
        let json = #"{"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z","rootfs":{"type":"layers","diff_ids":[\#(diffIDs)]},"config":{"Cmd":["/bin/sh"]}}"#
        let config = try ImageConfig.decode(Array(json.utf8))
        let digest = try Digest(sha256Hex: String(repeating: "ab", count: 32))
        let manifest = Manifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: digest, size: Int64(json.utf8.count)),
                                layers: layers.map(\.descriptor))
        return ResolvedImage(sourceText: "oci:layout:t", reference: "layout:t", bootstrap: "oci", registry: nil, repository: nil,
                             indexDigest: nil, manifestDigest: digest, manifest: manifest, configDigest: digest,
                             configBytes: Array(json.utf8), config: config, layers: layers)
    }

    func members(of path: String) throws -> [String] {
        let reader = try ArchiveReader(path: path)
        defer { try? reader.close() }
        var names: [String] = []
        while let entry = try reader.nextEntry() { names.append(entry.pathname ?? "") }
        return names
    }

    @Test func indexesThenStartsTheSinkOnceWithTheRootAndLatestTime() throws {
        let opens = Counter()
        let (lower, _) = try layer("lower", [("./", .directory, 1_000), ("etc", .directory, 2_000), ("etc/a", .regular, 3_000)], opens: opens)
        let (upper, _) = try layer("upper", [("etc/b", .regular, 1_700_000_000), ("etc/.wh.a", .regular, 5)], opens: opens)
        let image = try image([lower, upper])
        let metadata = try BuildMetadata(image: image, time: 1_600_000_000)
        let out = scratch + "/out.tar"
        let sink = FakeSink(.file(out))
        let outcome = try FlattenStage.stream(image: image, metadata: metadata, into: sink, workers: 2)
        #expect(sink.starts.count == 1 && sink.finished == 1 && sink.abandonedAfter.isEmpty)
        let start = try #require(sink.starts.first)
        #expect(start.root.mode == 0o700 && start.root.uid == 1000 && start.root.gid == 1000)
        #expect(start.latestTime == 1_700_000_000, "the latest time in the tree, runtime files included")
        #expect(outcome.summary.latestTime == start.latestTime)
        let names = try members(of: out)
        #expect(names.contains("etc/b") && !names.contains("etc/a") && names.contains(".singularity.d/runscript"))
        // Each blob opened once: pass 2 reads the source pass 1 kept open.
        #expect(opens.count == 2)
    }

    @Test func aBadLayerIsReportedBeforeTheSinkStarts() throws {
        let opens = Counter()
        let (good, _) = try layer("good", [("a", .regular, 1)], opens: opens)
        let (bad, actual) = try layer("bad", [("b", .regular, 1)], opens: opens, wrongDigest: true)
        let image = try image([good, bad])
        let sink = FakeSink(.file(scratch + "/never.tar"))
        #expect(throws: RootfsError.digestMismatch(image: "oci:layout:t", layer: bad.descriptor.digest.description,
                                                   actual: actual.description)) {
            try FlattenStage.stream(image: image, metadata: try BuildMetadata(image: image, time: 0), into: sink, workers: 2)
        }
        #expect(sink.starts.isEmpty && sink.finished == 0)
        #expect(opens.count == 2, "each layer read once")
    }

    @Test func aConsumerThatStopsReadingExplainsTheFailure() throws {
        // Enough data that the stream cannot fit in the pipe's buffer before the write fails.
        let members = (0..<400).map { ("f\($0)", ArchiveEntry.FileType.regular, Int64(1)) }
        let (layer, _) = try layer("many", members)
        let image = try image([layer])
        let sink = FakeSink(.brokenPipe)
        #expect(throws: FakeSink.ConsumerFailed()) {
            try FlattenStage.stream(image: image, metadata: try BuildMetadata(image: image, time: 0), into: sink, workers: 1)
        }
        #expect(sink.starts.count == 1 && sink.finished == 0)
        #expect(sink.abandonedAfter.count == 1 && sink.abandonedAfter[0].contains("writing the flattened tar failed"))
    }
}

/// The partition's architecture when /bin/sh is no ELF file: the first executable ELF in
/// Apptainer's walk order (names in byte order, a directory entered as soon as it is met), not
/// in the order the stream writes files.
@Suite struct PartitionArchWalkTests {
    @Test func theFirstExecutableELFInWalkOrderDecides() throws {
        let scratch = NSTemporaryDirectory() + "arch-walk-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let arm64 = PartitionArchTests.elf(machine: 183, elfClass: 2, littleEndian: true)
        let i386 = PartitionArchTests.elf(machine: 3, elfClass: 1, littleEndian: true)
        let riscv = PartitionArchTests.elf(machine: 243, elfClass: 2, littleEndian: true)
        // Root names in byte order: "0script" (not ELF), "a-dir" (entered: a-dir/sub/tool, arm64),
        // "b" (386, but not executable), "c" (riscv64, executable: first if a directory's files
        // came before its subdirectories, as the stream writes them).
        let members: [(String, ArchiveEntry.FileType, UInt32, [UInt8])] = [
            ("c", .regular, 0o755, riscv), ("b", .regular, 0o644, i386),
            ("0script", .regular, 0o755, Array("#!/bin/sh\n".utf8)), ("a-dir", .directory, 0o755, []),
            ("a-dir/sub", .directory, 0o755, []), ("a-dir/sub/tool", .regular, 0o700, arm64),
        ]
        let path = scratch + "/layer.tar"
        let writer = try ArchiveWriter(path: path)
        for (name, type, mode, content) in members {
            let entry = try ArchiveEntry()
            entry.pathname = name
            entry.fileType = type
            entry.permissions = mode
            entry.mtime = ArchiveTimestamp(seconds: 1)
            entry.size = Int64(content.count)
            try writer.writeHeader(entry)
            if !content.isEmpty { try writer.writeData(content) }
        }
        try writer.finish()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let digest = try Digest(sha256Hex: SHA256.hash(bytes).hex)
        let layer = ResolvedImage.Layer(descriptor: Descriptor(mediaType: MediaType.ociLayer, digest: digest, size: Int64(bytes.count)),
                                        diffID: digest, path: path)
        let json = #"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["\#(digest)"]}}"#
        let config = try ImageConfig.decode(Array(json.utf8))
        let image = ResolvedImage(sourceText: "oci:walk", reference: "walk", bootstrap: "oci", registry: nil, repository: nil,
                                  indexDigest: nil, manifestDigest: digest,
                                  manifest: Manifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: digest, size: 1),
                                                     layers: [layer.descriptor]),
                                  configDigest: digest, configBytes: Array(json.utf8), config: config, layers: [layer])
        let out = scratch + "/out.tar"
        let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        let outcome = try FlattenStage.stream(image: image, metadata: try BuildMetadata(image: image, time: 1),
                                              into: DescriptorSink(descriptor: fd), workers: 1)
        #expect(outcome.arch == PartitionArch.Choice(arch: try #require(Arch(goName: "arm64")), source: .executable), "\(outcome.arch)")
        #expect(outcome.summary.firstExecutableHead == arm64)
    }
}
