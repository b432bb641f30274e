import ArchiveIO
import Foundation
import OCISpec
import Rootfs
import Synchronization
import Testing

/// Who vouches for a layer's bytes, and the one case where a layer is read again: a writer
/// (a download) that replaced bytes a reader had already been given.
@Suite struct VerificationTests {
    /// A file read through a source that counts complete reads (each pass reads to the end
    /// once, and then asks once more, at the end).
    final class CountingSource: ByteSource {
        let file: FileSource
        let ends = Mutex(0)
        var size: Int64 { file.size }

        init(path: String) throws { file = try FileSource(path: path) }

        func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            if offset >= file.size { ends.withLock { $0 += 1 } }
            return try file.read(at: offset, into: buffer)
        }
    }

    final class Opens: Sendable {
        let count = Mutex(0)
        let sources = Mutex<[CountingSource]>([])
        var readsToTheEnd: Int { sources.withLock { $0.reduce(0) { $0 + $1.ends.withLock { $0 } } } }
    }

    func blob(_ path: String, opens: Opens, verification: LayerBlob.Verification) -> LayerBlob {
        LayerBlob(location: path, unchangedWhileOpen: true) {
            opens.count.withLock { $0 += 1 }
            let source = try CountingSource(path: path)
            opens.sources.withLock { $0.append(source) }
            return LayerBlob.Opened(source: source, verification: verification)
        }
    }

    /// A layer whose descriptor names a wrong digest: only a read that hashes notices.
    func layer(in dir: TempDir) throws -> LayerInput {
        var layer = try makeLayer([directory("etc"), file("etc/a", "a"), file("b", "b")], .tar, in: dir)
        layer.digest = try Digest(sha256Hex: String(repeating: "0", count: 64))
        return layer
    }

    @Test func aWriterThatVouchesSavesTheHash() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var layer = try layer(in: dir)
        let opens = Opens()
        layer.blob = blob(layer.path, opens: opens, verification: .byWriter(confirm: { true }))
        let out = try flatten([layer], in: dir)
        #expect(out.paths.sorted() == ["b", "etc", "etc/a"])
        // One open for both passes; each pass read the layer once.
        #expect(opens.count.withLock { $0 } == 1)
        #expect(opens.readsToTheEnd == 2)
    }

    @Test func replacedBytesAreReadOnceMoreAndHashed() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var layer = try layer(in: dir)
        let opens = Opens()
        layer.blob = blob(layer.path, opens: opens, verification: .byWriter(confirm: { false }))
        #expect(throws: RootfsError.digestMismatch(image: "test/image:1", layer: layer.name,
                                                   actual: try sha256(ofFile: layer.path))) {
            try flatten([layer], in: dir)
        }
        // The first read, then the second one, which hashed and found the wrong digest.
        #expect(opens.readsToTheEnd == 2)

        var good = try makeLayer([file("c", "c")], .tar, in: dir)
        let goodOpens = Opens()
        good.blob = blob(good.path, opens: goodOpens, verification: .byWriter(confirm: { false }))
        #expect(try flatten([good], in: dir).paths == ["c"])
        #expect(goodOpens.readsToTheEnd == 3, "two reads in pass 1, one in pass 2")
    }

    @Test func theWritersFailureExplainsWhatTheReadSaw() throws {
        struct DownloadFailed: Error, Equatable {}
        let dir = try TempDir()
        defer { dir.cleanup() }
        var layer = try layer(in: dir)
        // The bytes are not a tar at all: the read fails, and the download's failure is reported.
        let garbage = dir.file("garbage")
        _ = FileManager.default.createFile(atPath: garbage, contents: Data(repeating: 0x41, count: Int(layer.size)))
        let opens = Opens()
        layer.blob = blob(garbage, opens: opens, verification: .byWriter(confirm: { throw DownloadFailed() }))
        #expect(throws: DownloadFailed()) { try flatten([layer], in: dir) }
    }

    @Test func aBadLayerIsReadOnceAndReportedBeforeAnythingIsWritten() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var bad = try layer(in: dir)
        var good = try makeLayer([file("c", "c")], .tar, in: dir)
        let badOpens = Opens(), goodOpens = Opens()
        bad.blob = blob(bad.path, opens: badOpens, verification: .byReader)
        good.blob = blob(good.path, opens: goodOpens, verification: .byReader)
        let outPath = dir.file("nothing.tar")
        let fd = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        #expect(throws: RootfsError.digestMismatch(image: "test/image:1", layer: bad.name, actual: try sha256(ofFile: bad.path))) {
            try LayerFlattener(layers: [good, bad], options: defaultOptions).write(toFileDescriptor: fd)
        }
        #expect(badOpens.readsToTheEnd == 1)
        #expect(try fileSize(outPath) == 0)
    }
}
