import Foundation
import Testing
@testable import Squashfs

/// Drives the real mksquashfs (squashfs-tools) and reads the result with the real unsquashfs.
@Suite struct MksquashfsTests {
    let scratch: String

    init() throws {
        scratch = NSTemporaryDirectory() + "squashfs-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    /// Runs a command and returns its stdout; fails the test on a non-zero exit.
    @discardableResult
    func run(_ command: String, _ arguments: [String], cwd: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command)
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(command) \(arguments)")
        return String(decoding: data, as: UTF8.self)
    }

    /// Copies a file into the process's stdin, as the layer flattener will stream its tar.
    func feed(_ path: String, to squash: MksquashfsProcess) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let handle = FileHandle(fileDescriptor: squash.input, closeOnDealloc: false)
        try handle.write(contentsOf: data)
    }

    @Test func writesPartitionAtOffsetFromTarOnStdin() throws {
        let tree = scratch + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/etc", withIntermediateDirectories: true)
        try "hello\n".write(toFile: tree + "/etc/greeting", atomically: false, encoding: .utf8)
        try run("/bin/tar", ["--numeric-owner", "--owner=1000", "--group=1000", "-cf", scratch + "/in.tar", "-C", tree, "etc"])
        var options = MksquashfsOptions()
        options.rootMode = 0o700
        options.sourceDateEpoch = 1_000_000_000
        let output = scratch + "/out.sif"
        let squash = try MksquashfsProcess(output: output, offset: 8192, options: options)
        try feed(scratch + "/in.tar", to: squash)
        try squash.finish()

        let bytes = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(bytes.prefix(8192).allSatisfy { $0 == 0 }, "mksquashfs -noappend zero-fills the prefix")
        #expect(bytes[8192..<8196] == Data("hsqs".utf8))
        let listing = try run("/usr/bin/unsquashfs", ["-o", "8192", "-lln", output])
        #expect(listing.contains("drwx------ 0/0"), "root mode and owner come from the options: \(listing)")
        #expect(listing.contains("2001-09-09"), "the root takes SOURCE_DATE_EPOCH as its time: \(listing)")
        #expect(listing.contains("1000/1000") && listing.contains("squashfs-root/etc/greeting"))
        #expect(try run("/usr/bin/unsquashfs", ["-o", "8192", "-cat", output, "etc/greeting"]) == "hello\n")
    }

    @Test func garbageInputFailsWithMksquashfsMessage() throws {
        let squash = try MksquashfsProcess(output: scratch + "/bad.sqfs", offset: 0, options: MksquashfsOptions())
        let handle = FileHandle(fileDescriptor: squash.input, closeOnDealloc: false)
        try? handle.write(contentsOf: Data(repeating: 0x41, count: 4096))
        #expect {
            try squash.finish()
        } throws: { error in
            guard case let .failed(_, status, message) = error as? SquashfsError else { return false }
            return status != 0 && !message.isEmpty
        }
    }

    @Test func argumentsAndValidation() throws {
        var options = MksquashfsOptions()
        options.compression = "zstd"
        options.blockSize = 1 << 20
        options.processors = 2
        let args = try options.arguments(output: "o.sif", offset: 36864)
        #expect(args.starts(with: ["-", "o.sif", "-tar", "-noappend"]))
        #expect(args.contains("-exit-on-error"))
        #expect(args.joined(separator: " ").contains("-comp zstd -offset 36864 -b 1048576 -processors 2 -root-mode 755 -root-uid 0 -root-gid 0"))
        options.blockSize = 5000
        #expect(throws: SquashfsError.self) { try options.arguments(output: "o", offset: 0) }
        options.blockSize = nil
        options.compression = "brotli"
        #expect(throws: SquashfsError.self) { try options.arguments(output: "o", offset: 0) }
        #expect(throws: SquashfsError.notFound(executable: "/nonexistent/mksquashfs")) {
            var missing = MksquashfsOptions()
            missing.executable = "/nonexistent/mksquashfs"
            _ = try MksquashfsProcess(output: scratch + "/x", offset: 0, options: missing)
        }
        #expect(try MksquashfsProcess.version().split(separator: ".").count >= 2)
    }
}
