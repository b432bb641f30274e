import Foundation
import Testing
@testable import SifterCore

@Suite struct AtomicOutputTests {
    /// A fresh directory, removed by the caller.
    func scratchDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "sifter-atomic-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Two writers of one new output, both inside their body before either commits (each waits
    /// for the other): exactly one succeeds, the other fails saying the output exists, and the
    /// file holds the winner's bytes.
    @Test func twoWritersRacingForANewOutput() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let destination = directory + "/out.sif"
        let arrived = DispatchGroup()
        arrived.enter()
        arrived.enter()
        let results = ResultBox()
        let done = DispatchGroup()
        for name in ["A", "B"] {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                var waited = false
                do {
                    let output = try AtomicOutput(destination: destination, replace: false)
                    try output.write { temporary in
                        try Data(String(repeating: name, count: 1000).utf8).write(to: URL(fileURLWithPath: temporary))
                        waited = true
                        arrived.leave()
                        arrived.wait()
                    }
                    results.add(name, nil)
                } catch {
                    if !waited { arrived.leave() }
                    results.add(name, error)
                }
            }
        }
        done.wait()
        let all = results.all
        let winners = all.filter { $0.1 == nil }.map(\.0)
        let losers = all.filter { $0.1 != nil }
        #expect(winners.count == 1, "results: \(all)")
        #expect(losers.count == 1)
        if let winner = winners.first, let loser = losers.first {
            #expect(contents(destination) == String(repeating: winner, count: 1000))
            #expect(String(describing: loser.1!).contains("already exists"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["out.sif"])
    }

    final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [(String, (any Error)?)] = []
        func add(_ name: String, _ error: (any Error)?) { lock.withLock { results.append((name, error)) } }
        var all: [(String, (any Error)?)] { lock.withLock { results } }
    }

    @Test func theSecondCommitNeverReplacesWithoutForce() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let destination = directory + "/out.sif"
        let first = try AtomicOutput(destination: destination, replace: false)
        let second = try AtomicOutput(destination: destination, replace: false)
        try first.write { try Data("first".utf8).write(to: URL(fileURLWithPath: $0)) }
        #expect(throws: (any Error).self) {
            try second.write { try Data("second".utf8).write(to: URL(fileURLWithPath: $0)) }
        }
        #expect(contents(destination) == "first")
        // With replace, the newer file wins.
        let forced = try AtomicOutput(destination: destination, replace: true)
        try forced.write { try Data("forced".utf8).write(to: URL(fileURLWithPath: $0)) }
        #expect(contents(destination) == "forced")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["out.sif"])
    }

    @Test func theFinishedFileGetsItsMode() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let destination = directory + "/out.sif"
        try AtomicOutput(destination: destination, replace: false, mode: 0o751).write { temporary in
            #expect(FileManager.default.createFile(atPath: temporary, contents: Data("x".utf8), attributes: [.posixPermissions: 0o600]))
        }
        let mode = try FileManager.default.attributesOfItem(atPath: destination)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o751)
    }

    /// What a killed run leaves (a lock file nobody holds, a temporary file, a scratch folder)
    /// is removed by the next run for the same output; a live run's files are not, nor are
    /// other outputs'.
    @Test func removesWhatDeadRunsLeftAndKeepsLiveOnes() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let create = { (name: String) in
            #expect(FileManager.default.createFile(atPath: directory + "/" + name, contents: Data("x".utf8)))
        }
        create(".out.sif.sifter-deadbeef.lock")
        create(".out.sif.sifter-deadbeef.tmp")
        try FileManager.default.createDirectory(atPath: directory + "/.out.sif.sifter-deadbeef.tmp.blobs/x", withIntermediateDirectories: true)
        create(".out.sif.sifter-0a1b2c3d.lock")
        create(".out.sif.sifter-0a1b2c3d.tmp")
        create(".other.sif.sifter-deadbeef.lock")
        create(".other.sif.sifter-deadbeef.tmp")
        // A live run: its lock file is locked (an flock on another open file conflicts, even
        // in this process).
        let live = open(directory + "/.out.sif.sifter-0a1b2c3d.lock", O_RDWR | O_CLOEXEC)
        #expect(live >= 0)
        defer { close(live) }
        #expect(flock(live, LOCK_EX | LOCK_NB) == 0)

        let output = try AtomicOutput(destination: directory + "/out.sif", replace: false)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: directory))
        let mine = URL(fileURLWithPath: output.temporaryPath).lastPathComponent.dropLast(".tmp".count) + ".lock"
        #expect(left == [".out.sif.sifter-0a1b2c3d.lock", ".out.sif.sifter-0a1b2c3d.tmp",
                         ".other.sif.sifter-deadbeef.lock", ".other.sif.sifter-deadbeef.tmp", String(mine)])
        output.discard()
        #expect(!FileManager.default.fileExists(atPath: directory + "/" + mine))
    }

    @Test func namesAMissingDirectory() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: SifterError.outputDirectory(output: directory + "/no/such/out.sif", directory: directory + "/no/such", reason: "does not exist")) {
            try AtomicOutput(destination: directory + "/no/such/out.sif", replace: false)
        }
        #expect(FileManager.default.createFile(atPath: directory + "/file", contents: nil))
        #expect(throws: SifterError.outputDirectory(output: directory + "/file/out.sif", directory: directory + "/file", reason: "is not a directory")) {
            try AtomicOutput.checkDestination(directory + "/file/out.sif", replace: true)
        }
        #expect(AtomicOutput.directory(of: "out.sif") == ".")
        #expect(AtomicOutput.directory(of: "/out.sif") == "/")
        #expect(AtomicOutput.directory(of: "a/b/out.sif") == "a/b")
    }
}
