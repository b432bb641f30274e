import ArchiveIO
import Foundation

/// A scratch directory removed by `cleanup()`.
struct TempDir {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("archiveio-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Finds an executable on the usual system paths, for optional oracles.
func findTool(_ name: String) -> String? {
    let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        + ["/usr/bin", "/bin", "/usr/local/bin"]
    return dirs.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs a tool, optionally redirecting stdout to a file; returns (status, stdout, stderr).
@discardableResult
func runTool(_ path: String, _ arguments: [String], stdoutTo outputPath: String? = nil) throws
    -> (status: Int32, stdout: String, stderr: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = ["LC_ALL": "C", "PATH": "/usr/bin:/bin"]
    let errPipe = Pipe()
    process.standardError = errPipe
    let outPipe = Pipe()
    var outHandle: FileHandle?
    if let outputPath {
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        outHandle = FileHandle(forWritingAtPath: outputPath)
        process.standardOutput = outHandle
    } else {
        process.standardOutput = outPipe
    }
    try process.run()
    // Read before waiting so a chatty tool cannot block on a full pipe.
    let out = outputPath == nil ? outPipe.fileHandleForReading.readDataToEndOfFile() : Data()
    let err = errPipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try outHandle?.close()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

/// Reads the remainder of the current entry with the copy-into-buffer API,
/// using a small buffer so several calls are needed.
func readAll(_ reader: ArchiveReader, bufferSize: Int = 7) throws -> [UInt8] {
    var result: [UInt8] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 1)
    defer { buffer.deallocate() }
    while true {
        let n = try reader.readData(into: buffer)
        if n == 0 { return result }
        result.append(contentsOf: buffer[0..<n])
    }
}

/// Writes a regular file entry with content.
func addFile(_ writer: ArchiveWriter, _ name: [UInt8], _ content: [UInt8], mode: UInt32 = 0o644) throws {
    let entry = try ArchiveEntry()
    entry.pathnameBytes = name
    entry.fileType = .regular
    entry.permissions = mode
    entry.size = Int64(content.count)
    entry.mtime = ArchiveTimestamp(seconds: 1_700_000_000)
    try writer.writeHeader(entry)
    try writer.writeData(content)
}

/// Deterministic, poorly compressible bytes so compressed archives stay large.
func noise(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}
