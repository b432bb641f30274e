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
        let output = scratch + "/out.sif"
        let squash = try MksquashfsProcess(output: output, offset: 8192, options: MksquashfsOptions(),
                                           root: SquashfsRoot(mode: 0o700, uid: 0, gid: 0, time: 1_000_000_000),
                                           version: try MksquashfsProcess.version())
        try feed(scratch + "/in.tar", to: squash)
        try squash.finish()

        let bytes = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(bytes.prefix(8192).allSatisfy { $0 == 0 }, "mksquashfs -noappend zero-fills the prefix")
        #expect(bytes[8192..<8196] == Data("hsqs".utf8))
        let listing = try run("/usr/bin/unsquashfs", ["-o", "8192", "-lln", output])
        #expect(listing.contains("drwx------ 0/0"), "root mode and owner come from the root: \(listing)")
        #expect(listing.contains("2001-09-09"), "the root takes SOURCE_DATE_EPOCH as its time: \(listing)")
        #expect(listing.contains("1000/1000") && listing.contains("squashfs-root/etc/greeting"))
        #expect(try run("/usr/bin/unsquashfs", ["-o", "8192", "-cat", output, "etc/greeting"]) == "hello\n")
    }

    @Test func garbageInputFailsWithMksquashfsMessage() throws {
        let squash = try MksquashfsProcess(output: scratch + "/bad.sqfs", offset: 0, options: MksquashfsOptions(),
                                           root: SquashfsRoot(), version: try MksquashfsProcess.version())
        let handle = FileHandle(fileDescriptor: squash.input, closeOnDealloc: false)
        try? handle.write(contentsOf: Data(repeating: 0x41, count: 4096))
        #expect {
            try squash.finish()
        } throws: { error in
            guard case let .failed(_, status, output, message) = error as? SquashfsError else { return false }
            return status != 0 && !message.isEmpty && output == scratch + "/bad.sqfs"
        }
    }

    /// Waiting for mksquashfs blocks instead of polling: Foundation's `waitUntilExit`, called
    /// from a thread whose run loop has no source (a test's, a `sifter sync` job's), spun a
    /// core for as long as the compression ran. A stand-in that reads its input and then
    /// works for 1.5 s must cost the waiting thread well under that in CPU time (its own CPU
    /// time only, so tests running meanwhile do not count).
    @Test func waitingForMksquashfsCostsNoCPU() throws {
        let stub = scratch + "/slow-mksquashfs"
        try "#!/bin/sh\ncat >/dev/null\nsleep 1.5\n".write(toFile: stub, atomically: false, encoding: .utf8)
        chmod(stub, 0o755)
        var options = MksquashfsOptions()
        options.executable = stub
        let squash = try MksquashfsProcess(output: scratch + "/slow.sqfs", offset: 0, options: options, root: SquashfsRoot(),
                                           version: try #require(MksquashfsVersion("4.6")))
        let before = Self.threadCPUSeconds()
        try squash.finish()
        let spent = Self.threadCPUSeconds() - before
        #expect(spent < 0.5, "waiting 1.5 s for mksquashfs took \(spent) s of the waiting thread's CPU")
    }

    /// User and system CPU time of the calling thread so far.
    static func threadCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(1, &usage)  // RUSAGE_THREAD, which Glibc's Swift overlay does not name
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    @Test func argumentsAndValidation() throws {
        var options = MksquashfsOptions()
        options.compression = "zstd"
        options.blockSize = 1 << 20
        options.processors = 2
        let args = try options.arguments(output: "o.sif", offset: 36864)
        #expect(args.starts(with: ["-", "o.sif", "-tar", "-noappend"]))
        #expect(args.contains("-exit-on-error"))
        #expect(args.joined(separator: " ").contains("-comp zstd -offset 36864 -b 1048576 -processors 2 -root-mode 755 -root-uid 0 -root-gid 0 -root-time 0"))
        options.blockSize = 5000
        #expect(throws: SquashfsError.self) { try options.arguments(output: "o", offset: 0) }
        options.blockSize = nil
        options.compression = "brotli"
        #expect(throws: SquashfsError.self) { try options.arguments(output: "o", offset: 0) }
        #expect(throws: SquashfsError.notFound(executable: "/nonexistent/mksquashfs")) {
            var missing = MksquashfsOptions()
            missing.executable = "/nonexistent/mksquashfs"
            _ = try MksquashfsProcess(output: scratch + "/x", offset: 0, options: missing, root: SquashfsRoot(),
                                      version: MksquashfsVersion("4.5.1")!)
        }
        #expect(try MksquashfsProcess.version() >= MksquashfsVersion("4.5")!)
    }

    @Test func versionsAreParsedAndOrdered() throws {
        let old = try #require(MksquashfsVersion("4.5.1"))
        let new = try #require(MksquashfsVersion("4.6.1"))
        #expect(old < new && new < MksquashfsVersion("4.7.5")! && MksquashfsVersion("4.7")! < MksquashfsVersion("4.7.5-git")!)
        #expect(!old.setsRootOwnerAndTimeInTarMode && new.setsRootOwnerAndTimeInTarMode)
        #expect(MksquashfsVersion("4.6")!.setsRootOwnerAndTimeInTarMode)
        #expect(MksquashfsVersion("four") == nil && MksquashfsVersion("4") == nil)
    }

    /// mksquashfs 4.5.1 gives the root the owner of its process in tar mode: sifter runs it in
    /// a user namespace whose one user is the root's owner. Run here as root (CI) and as
    /// anyone else, the root directory gets the owner asked for.
    @Test func oldVersionGetsTheRootOwnerFromAUserNamespace() throws {
        let version = try MksquashfsProcess.version()
        guard !version.setsRootOwnerAndTimeInTarMode else { return }
        try run("/bin/tar", ["-cf", scratch + "/empty.tar", "--files-from", "/dev/null"])
        let output = scratch + "/owned.sqfs"
        let squash = try MksquashfsProcess(output: output, offset: 0, options: MksquashfsOptions(),
                                           root: SquashfsRoot(mode: 0o755, uid: 1234, gid: 5678, time: 1_000_000_000),
                                           version: version)
        #expect(squash.executable.hasSuffix("unshare"), "\(squash.executable) \(squash.arguments)")
        #expect(squash.mksquashfsArguments.first == "-")
        try feed(scratch + "/empty.tar", to: squash)
        try squash.finish()
        let listing = try run("/usr/bin/unsquashfs", ["-lln", "-d", "", output])
        #expect(listing.contains("drwxr-xr-x 1234/5678"), "\(listing)")
    }
}
