import Foundation
import Testing
@testable import SIF

/// A FIFO, directory or device where a SIF or an object's data is expected is refused by name,
/// never read (a FIFO would block until a writer comes: `inspect`, `verify` and `push` used to
/// hang on one).
@Suite struct NonRegularFileTests {
    /// A FIFO with a writer held open by the test, so that even an open that blocks until a
    /// writer comes cannot hang the test: what is checked is the answer.
    func withFIFO(_ body: (String) throws -> Void) throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file("pipe.sif")
        #expect(mkfifo(path, 0o600) == 0)
        let writer = open(path, O_RDWR | O_CLOEXEC)
        #expect(writer >= 0)
        defer { close(writer) }
        try body(path)
    }

    @Test func refusesAFIFOAsASIF() throws {
        try withFIFO { path in
            #expect(throws: SIFError.notRegularFile(path: path, kind: "a FIFO")) { try SIFImage.load(path: path) }
            #expect(throws: SIFError.notRegularFile(path: path, kind: "a FIFO")) { try SIFImage.load(path: path, writable: true) }
        }
    }

    @Test func refusesAFIFOAsObjectData() throws {
        try withFIFO { path in
            let input = try ObjectInput(.generic, source: .file(path: path))
            #expect(throws: SIFError.notRegularFile(path: path, kind: "a FIFO")) { try input.knownSize() }
        }
    }

    @Test func refusesADirectoryAndADevice() throws {
        let scratch = try ScratchDirectory()
        #expect(throws: SIFError.notRegularFile(path: scratch.path, kind: "a directory")) { try SIFImage.load(path: scratch.path) }
        #expect(throws: SIFError.notRegularFile(path: "/dev/null", kind: "a character device")) { try SIFImage.load(path: "/dev/null") }
        #expect(SIFError.notRegularFile(path: "x.sif", kind: "a FIFO").description == "x.sif: not a regular file (a FIFO)")
    }

    @Test func aRegularFileStillLoadsAndIsWritable() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file("ok.sif")
        var options = CreateOptions()
        options.deterministic = true
        try SIFImage.create(path: path, options: options).close()
        let image = try SIFImage.load(path: path, writable: true)
        _ = try image.add(try ObjectInput(.generic, source: .bytes([1, 2, 3])))
        try image.close()
        #expect(try SIFImage.load(path: path).descriptors.count == 1)
    }
}
