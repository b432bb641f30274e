import ArchiveIO
import Foundation
import OCISpec
import Rootfs
#if canImport(Glibc)
import Glibc
#endif

/// A scratch directory removed by `cleanup()`.
struct TempDir {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("rootfs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

struct ToolFailure: Error, CustomStringConvertible {
    var description: String
}

/// Runs a tool; stdout goes to `stdoutTo` if given. Returns (status, stdout, stderr).
@discardableResult
func run(_ tool: String, _ arguments: [String], stdoutTo outputPath: String? = nil) throws
    -> (status: Int32, stdout: String, stderr: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/" + tool)
    process.arguments = arguments
    process.environment = ["LC_ALL": "C", "PATH": "/usr/bin:/bin", "TZ": "UTC"]
    let errPipe = Pipe()
    let outPipe = Pipe()
    process.standardError = errPipe
    var outHandle: FileHandle?
    if let outputPath {
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        outHandle = FileHandle(forWritingAtPath: outputPath)
        process.standardOutput = outHandle
    } else {
        process.standardOutput = outPipe
    }
    try process.run()
    let out = outputPath == nil ? outPipe.fileHandleForReading.readDataToEndOfFile() : Data()
    let err = errPipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try outHandle?.close()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

func sha256(ofFile path: String) throws -> String {
    let result = try run("sha256sum", [path])
    guard result.status == 0, let hex = result.stdout.split(separator: " ").first else {
        throw ToolFailure(description: "sha256sum failed: \(result.stderr)")
    }
    return "sha256:" + hex
}

func fileSize(_ path: String) throws -> Int64 {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.size] as? NSNumber)?.int64Value ?? -1
}

/// A member of a test layer.
struct TEntry {
    var path: [UInt8]
    var type: ArchiveEntry.FileType = .regular
    var mode: UInt32 = 0o644
    var uid: Int64 = 0
    var gid: Int64 = 0
    var mtime: Int64 = 1_700_000_000
    var content: [UInt8] = []
    var symlink: [UInt8]?
    var hardlink: [UInt8]?
    var rdev: (UInt64, UInt64) = (0, 0)
    var xattrs: [ArchiveXattr] = []
}

func file(_ path: String, _ content: String = "", mode: UInt32 = 0o644, uid: Int64 = 0, gid: Int64 = 0) -> TEntry {
    TEntry(path: Array(path.utf8), mode: mode, uid: uid, gid: gid, content: Array(content.utf8))
}

func directory(_ path: String, mode: UInt32 = 0o755, uid: Int64 = 0, gid: Int64 = 0, mtime: Int64 = 1_700_000_000) -> TEntry {
    TEntry(path: Array(path.utf8), type: .directory, mode: mode, uid: uid, gid: gid, mtime: mtime)
}

func symlink(_ path: String, _ target: String) -> TEntry {
    TEntry(path: Array(path.utf8), type: .symlink, mode: 0o777, symlink: Array(target.utf8))
}

func hardlink(_ path: String, _ target: String) -> TEntry {
    TEntry(path: Array(path.utf8), hardlink: Array(target.utf8))
}

func whiteout(_ path: String) -> TEntry { file(path) }

enum Packing { case tar, gzip, zstd }

/// Writes a layer with ArchiveWriter (plain pax), compresses it with the real CLI and
/// returns its descriptor with digest, size and diff_id.
func makeLayer(_ entries: [TEntry], _ packing: Packing = .gzip, in dir: TempDir) throws -> LayerInput {
    let name = UUID().uuidString
    let tarPath = dir.file(name + ".tar")
    let writer = try ArchiveWriter(path: tarPath)
    for spec in entries {
        let entry = try ArchiveEntry()
        entry.pathnameBytes = spec.path
        entry.fileType = spec.type
        entry.permissions = spec.mode
        entry.uid = spec.uid
        entry.gid = spec.gid
        entry.mtime = ArchiveTimestamp(seconds: spec.mtime)
        entry.xattrs = spec.xattrs
        if let target = spec.symlink { entry.symlinkBytes = target }
        if let target = spec.hardlink { entry.hardlinkBytes = target }
        if spec.type == .characterDevice || spec.type == .blockDevice {
            entry.rdevMajor = spec.rdev.0
            entry.rdevMinor = spec.rdev.1
        }
        entry.size = spec.type == .regular && spec.hardlink == nil ? Int64(spec.content.count) : 0
        try writer.writeHeader(entry)
        if entry.size > 0 { try writer.writeData(spec.content) }
    }
    try writer.finish()
    return try describe(tarPath: tarPath, packing, in: dir)
}

/// Compresses an existing tar and describes it as a layer.
func describe(tarPath: String, _ packing: Packing, in dir: TempDir) throws -> LayerInput {
    let diffID = try sha256(ofFile: tarPath)
    let blobPath: String
    let mediaType: String
    switch packing {
    case .tar:
        blobPath = tarPath
        mediaType = "application/vnd.oci.image.layer.v1.tar"
    case .gzip:
        blobPath = tarPath + ".gz"
        mediaType = "application/vnd.oci.image.layer.v1.tar+gzip"
        try checkTool(run("gzip", ["-n", "-c", tarPath], stdoutTo: blobPath))
    case .zstd:
        blobPath = tarPath + ".zst"
        mediaType = "application/vnd.oci.image.layer.v1.tar+zstd"
        try checkTool(run("zstd", ["-q", "-c", tarPath], stdoutTo: blobPath))
    }
    return LayerInput(
        digest: try Digest(parsing: try sha256(ofFile: blobPath)), size: try fileSize(blobPath),
        diffID: try Digest(parsing: diffID), mediaType: mediaType, blob: .file(blobPath))
}

extension LayerInput {
    /// The digest as errors name it.
    var name: String { digest.description }
    /// The blob's file; setting it reads another file.
    var path: String {
        get { blob.location }
        set { blob = .file(newValue) }
    }
}

func checkTool(_ result: (status: Int32, stdout: String, stderr: String)) throws {
    if result.status != 0 { throw ToolFailure(description: "tool failed: \(result.stderr)") }
}

/// One member of the flattened output, read back.
struct OutEntry: Equatable, CustomStringConvertible {
    var path: String
    var type: ArchiveEntry.FileType
    var mode: UInt32
    var uid: Int64
    var gid: Int64
    var mtime: Int64
    var content: String
    var symlink: String?
    var hardlink: String?
    var xattrs: [ArchiveXattr]
    var rdev: [UInt64]
    var uname: String?

    var description: String {
        "\(path) \(type) \(String(mode, radix: 8)) \(uid):\(gid)"
            + (symlink.map { " -> \($0)" } ?? "") + (hardlink.map { " => \($0)" } ?? "")
    }
}

/// The flattened stream, member by member, in stream order.
struct Flattened {
    var entries: [OutEntry]
    /// The raw stream, for checks on the pax records themselves.
    var raw: [UInt8]
    var summary: FlattenSummary

    var paths: [String] { entries.map(\.path) }
    subscript(_ path: String) -> OutEntry? { entries.first { $0.path == path } }

    /// How often `text` occurs in the raw stream.
    func occurrences(of text: String) -> Int {
        let needle = Array(text.utf8)
        guard !needle.isEmpty, raw.count >= needle.count else { return 0 }
        var count = 0
        for start in 0...(raw.count - needle.count) where raw[start] == needle[0] {
            if raw[start..<start + needle.count].elementsEqual(needle) { count += 1 }
        }
        return count
    }
}

let defaultOptions = FlattenOptions(imageName: "test/image:1", defaultTime: 1_600_000_000)

/// Flattens into a file and reads the result back with ArchiveReader. Names that are not
/// UTF-8 are shown with `\xNN` escapes.
func flatten(_ layers: [LayerInput], options: FlattenOptions = defaultOptions, in dir: TempDir) throws -> Flattened {
    let outPath = dir.file("out-\(UUID().uuidString).tar")
    let fd = open(outPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw ToolFailure(description: "cannot create \(outPath)") }
    let summary: FlattenSummary
    do {
        summary = try LayerFlattener(layers: layers, options: options).write(toFileDescriptor: fd)
        close(fd)
    } catch {
        close(fd)
        throw error
    }
    let raw = Array(FileManager.default.contents(atPath: outPath) ?? Data())
    return Flattened(entries: try readBack(outPath), raw: raw, summary: summary)
}

func readBack(_ path: String) throws -> [OutEntry] {
    let reader = try ArchiveReader(path: path)
    var result: [OutEntry] = []
    while let entry = try reader.nextEntry() {
        var data: [UInt8] = []
        // Holes of a sparse member are jumps in the offset, and may end the file.
        try reader.readDataBlocks { block, offset in
            data += [UInt8](repeating: 0, count: Int(offset) - data.count)
            data.append(contentsOf: block)
        }
        if entry.fileType == .regular, entry.hardlinkBytes == nil {
            data += [UInt8](repeating: 0, count: max(0, Int(entry.size) - data.count))
        }
        var name = display(entry.pathnameBytes ?? [])
        if name.hasSuffix("/") { name.removeLast() }
        result.append(OutEntry(
            path: name, type: entry.fileType, mode: entry.permissions, uid: entry.uid, gid: entry.gid,
            mtime: entry.mtime?.seconds ?? -1, content: String(decoding: data, as: UTF8.self),
            symlink: entry.symlinkBytes.map(display), hardlink: entry.hardlinkBytes.map(display),
            xattrs: firstOfEachName(entry.xattrs), rdev: [entry.rdevMajor, entry.rdevMinor], uname: entry.uname))
    }
    try reader.close()
    return result
}

/// libarchive's pax reader returns an xattr once per record kind (`LIBARCHIVE.xattr.*` and
/// `SCHILY.xattr.*`, which its writer both emits); the raw records are checked separately.
func firstOfEachName(_ xattrs: [ArchiveXattr]) -> [ArchiveXattr] {
    var seen = Set<String>()
    return xattrs.filter { seen.insert($0.name).inserted }
}

func display(_ bytes: [UInt8]) -> String {
    if let text = String(validating: bytes, as: UTF8.self) { return text }
    return bytes.map { $0 < 0x80 ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
}

/// A flattened tree keyed by path, hard links resolved to their target's entry, with the groups
/// of names that share an inode.
struct CanonicalTree: Equatable {
    var members: [String: OutEntry] = [:]
    var groups: Set<Set<String>> = []

    init(_ entries: [OutEntry]) {
        var groupOf: [String: Int] = [:]
        var groupPaths: [[String]] = []
        for entry in entries {
            if let target = entry.hardlink, let original = members[target] {
                var linked = original
                linked.path = entry.path
                members[entry.path] = linked
                let group = groupOf[target] ?? {
                    groupPaths.append([target])
                    groupOf[target] = groupPaths.count - 1
                    return groupPaths.count - 1
                }()
                groupPaths[group].append(entry.path)
                groupOf[entry.path] = group
            } else {
                members[entry.path] = entry
            }
        }
        groups = Set(groupPaths.map(Set.init))
    }
}
