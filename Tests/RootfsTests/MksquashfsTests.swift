import ArchiveIO
import Foundation
import Rootfs
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// End to end: the stream is piped straight into the real `mksquashfs -tar`, and
/// `unsquashfs -lln` must list exactly the expected tree.
@Suite struct MksquashfsTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/mksquashfs")))
    func pipedIntoMksquashfs() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var ping = file("bin/ping", "ELF", mode: 0o4755)
        ping.xattrs = [ArchiveXattr(name: "security.capability", value: [1, 0, 0, 2, 0, 32, 0, 0] + Array(repeating: 0, count: 12))]
        let one = try makeLayer([
            directory("bin"), ping, file("bin/tool", "tool", mode: 0o755, uid: 1000, gid: 100),
            hardlink("bin/tool2", "bin/tool"), directory("etc"), file("etc/old", "old"), file("etc/passwd", "root"),
            TEntry(path: Array("dev/null".utf8), type: .characterDevice, mode: 0o666, rdev: (1, 3)),
            TEntry(path: Array("run/fifo".utf8), type: .fifo, mode: 0o600), directory("tmp", mode: 0o1777),
        ], .gzip, in: dir)
        let two = try makeLayer([
            whiteout("etc/.wh.old"), file("bin/tool", "new tool", mode: 0o755), hardlink("a-link", "bin/tool2"),
            symlink("lib", "usr/lib"), file("usr/lib/x.so", "so"),
        ], .zstd, in: dir)
        let options = FlattenOptions(imageName: "e2e", defaultTime: 1_600_000_000, synthetic: [
            SyntheticEntry(path: ".singularity.d/runscript", kind: .file(contents: Array("#!/bin/sh\n".utf8)),
                           mode: 0o755, mtime: 1_600_000_000),
        ])
        let image = dir.file("out.sqfs")

        // SIGPIPE would kill the test process if mksquashfs died early; get EPIPE instead.
        signal(SIGPIPE, SIG_IGN)
        let pipe = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mksquashfs")
        process.arguments = ["-", image, "-tar", "-noappend", "-quiet", "-no-progress", "-exit-on-error",
                             "-root-mode", "0755", "-root-uid", "0", "-root-gid", "0"]
        process.standardInput = pipe.fileHandleForReading
        let errPipe = Pipe()
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try pipe.fileHandleForReading.close()
        let summary: FlattenSummary
        do {
            summary = try LayerFlattener(layers: [one, two], options: options)
                .write(toFileDescriptor: pipe.fileHandleForWriting.fileDescriptor)
            try pipe.fileHandleForWriting.close()
        } catch {
            try? pipe.fileHandleForWriting.close()
            process.waitUntilExit()
            throw error
        }
        let stderr = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "mksquashfs: \(stderr)")
        #expect(summary.root.mode == 0o755)

        let listing = try run("unsquashfs", ["-lln", image])
        #expect(listing.status == 0, "\(listing.stderr)")
        // "perms uid/gid size date time path[ -> target]" -> "perms uid/gid path[ -> target]".
        let lines = listing.stdout.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields.last(where: { $0.hasPrefix("squashfs-root") }) != nil else { return nil }
            let start = fields.firstIndex { $0.hasPrefix("squashfs-root") } ?? 0
            return ([fields[0], fields[1]] + fields[start...]).joined(separator: " ")
        }
        #expect(lines.sorted() == [
            "-rw-r--r-- 0/0 squashfs-root/.singularity.d/runscript".replacingOccurrences(of: "-rw-r--r--", with: "-rwxr-xr-x"),
            "-rw-r--r-- 0/0 squashfs-root/etc/passwd",
            "-rwsr-xr-x 0/0 squashfs-root/bin/ping",
            "-rwxr-xr-x 0/0 squashfs-root/bin/tool",
            "-rwxr-xr-x 1000/100 squashfs-root/a-link",
            "-rwxr-xr-x 1000/100 squashfs-root/bin/tool2",
            "-rw-r--r-- 0/0 squashfs-root/usr/lib/x.so",
            "crw-rw-rw- 0/0 squashfs-root/dev/null",
            "drwxr-xr-x 0/0 squashfs-root",
            "drwxr-xr-x 0/0 squashfs-root/.singularity.d",
            "drwxr-xr-x 0/0 squashfs-root/bin",
            "drwxr-xr-x 0/0 squashfs-root/dev",
            "drwxr-xr-x 0/0 squashfs-root/etc",
            "drwxr-xr-x 0/0 squashfs-root/run",
            "drwxr-xr-x 0/0 squashfs-root/usr",
            "drwxr-xr-x 0/0 squashfs-root/usr/lib",
            "drwxrwxrwt 0/0 squashfs-root/tmp",
            "lrwxrwxrwx 0/0 squashfs-root/lib -> usr/lib",
            "prw------- 0/0 squashfs-root/run/fifo",
        ].sorted())

        // Contents survive, the replaced target's old content stays under its links, and the
        // two links are one inode.
        let extract = dir.file("x")
        let unpack = try run("unsquashfs", ["-no-xattrs", "-d", extract, image, "bin/tool", "bin/tool2", "a-link"])
        #expect(unpack.status == 0, "\(unpack.stderr)")
        #expect(FileManager.default.contents(atPath: extract + "/bin/tool") == Data("new tool".utf8))
        #expect(FileManager.default.contents(atPath: extract + "/bin/tool2") == Data("tool".utf8))
        var first = stat()
        var second = stat()
        #expect(stat(extract + "/bin/tool2", &first) == 0 && stat(extract + "/a-link", &second) == 0)
        #expect(first.st_ino == second.st_ino && first.st_nlink == 2)

        // The file capability survives as an xattr (restoring security.* needs root, as in CI).
        if geteuid() == 0 {
            let withXattrs = dir.file("xattrs")
            let restore = try run("unsquashfs", ["-d", withXattrs, image, "bin/ping"])
            #expect(restore.status == 0, "\(restore.stderr)")
            let capability = try run("getfattr", ["--absolute-names", "-e", "hex", "-n", "security.capability", withXattrs + "/bin/ping"])
            #expect(capability.stdout.contains("security.capability=0x0100000200200000000000000000000000000000"),
                    "\(capability.stdout) \(capability.stderr)")
        }

        // Reproducible: two independent runs give the same stream and the same image.
        var images: [Data] = []
        var streams: [Data] = []
        for attempt in 0..<2 {
            let tarPath = dir.file("stream\(attempt).tar")
            let imagePath = dir.file("again\(attempt).sqfs")
            let fd = open(tarPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            defer { close(fd) }
            _ = try LayerFlattener(layers: [one, two], options: options).write(toFileDescriptor: fd)
            let build = try run("sh", ["-c", "/usr/bin/mksquashfs - '\(imagePath)' -tar -noappend -quiet -no-progress "
                + "-exit-on-error -root-mode 0755 -root-uid 0 -root-gid 0 -root-time 1600000000 "
                + "-mkfs-time 1600000000 < '\(tarPath)'"])
            #expect(build.status == 0, "\(build.stderr)")
            streams.append(try #require(FileManager.default.contents(atPath: tarPath)))
            images.append(try #require(FileManager.default.contents(atPath: imagePath)))
        }
        #expect(streams[0] == streams[1])
        #expect(images[0] == images[1] && images[0].count >= 4096)
    }
}

/// mksquashfs before 4.6 strips a leading `/`, `./` or `../` from a pax `linkpath`: symlink
/// targets that do not fit the ustar field go to it as GNU long-link records.
@Suite struct LongSymlinkTargetTests {
    func squash(_ layer: LayerInput, gnu: Bool, in dir: TempDir) throws -> [String: String] {
        var options = FlattenOptions(imageName: "e2e", defaultTime: 1_600_000_000)
        options.gnuLongLinkTargets = gnu
        let tar = dir.file("stream-\(gnu).tar")
        let fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try LayerFlattener(layers: [layer], options: options).write(toFileDescriptor: fd)
        close(fd)
        let image = dir.file("out-\(gnu).sqfs")
        let build = try run("sh", ["-c", "/usr/bin/mksquashfs - '\(image)' -tar -noappend -quiet -no-progress < '\(tar)'"])
        #expect(build.status == 0, "\(build.stderr)")
        var targets: [String: String] = [:]
        for line in try run("unsquashfs", ["-lln", "-d", "", image]).stdout.split(separator: "\n") {
            guard let arrow = line.range(of: " -> ") else { continue }
            let name = line[..<arrow.lowerBound].split(separator: " ").last.map(String.init) ?? ""
            targets[String(name.dropFirst())] = String(line[arrow.upperBound...])
        }
        return targets
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/mksquashfs")))
    func longTargetsArriveWhole() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let expected = [
            "absolute": "/" + String(repeating: "a", count: 150) + "/target",
            "relative": String(repeating: "../", count: 40) + "x",
            "unicode": "/ünïcödé/t",
            "short": "/usr/lib",
        ]
        let layer = try makeLayer(expected.sorted { $0.key < $1.key }.map { symlink($0.key, $0.value) }, .tar, in: dir)
        #expect(try squash(layer, gnu: true, in: dir) == expected)
        // What the GNU records avoid, with Debian 12's mksquashfs.
        let version = try run("sh", ["-c", "/usr/bin/mksquashfs -version | head -1"]).stdout
        if version.contains("version 4.5") {
            let stripped = try squash(layer, gnu: false, in: dir)
            #expect(stripped["absolute"] == String(repeating: "a", count: 150) + "/target", "\(stripped)")
            #expect(stripped["short"] == "/usr/lib")
        }
    }
}
