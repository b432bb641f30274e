import Foundation
@testable import SBOM

/// A scratch directory removed by `cleanup()`.
struct Scratch {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "sbom-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    var entries: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Offers files to a collector as pass 2 would: each path once, its bytes in pieces of
/// `chunk` while it wants them. Returns the paths it wanted.
@discardableResult
func offer(_ files: [(paths: [String], bytes: [UInt8])], to collector: PackageDatabaseCollector, chunk: Int = 7) -> [String] {
    var wanted: [String] = []
    for file in files {
        guard collector.wantsContent(of: file.paths.map { Array($0.utf8) }) else { continue }
        wanted.append(file.paths[0])
        var offset = 0
        while offset < file.bytes.count {
            let end = min(offset + chunk, file.bytes.count)
            let more = file.bytes[offset..<end].withUnsafeBytes { collector.receive($0) }
            offset = end
            if !more { break }
        }
        collector.endOfContent()
    }
    return wanted
}

func text(_ path: String, _ content: String) -> (paths: [String], bytes: [UInt8]) {
    ([path], Array(content.utf8))
}

struct ToolFailure: Error, CustomStringConvertible {
    var description: String
}

/// Runs a program; returns its status and output (stdout and stderr together).
@discardableResult
func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ["LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The PyPI validators integration/install-deps.sh installs (spdx-tools, cyclonedx-python-lib,
/// packageurl-python), run through integration/validate-sbom.py.
enum Validators {
    static let python: String? = {
        let cache = ProcessInfo.processInfo.environment["SIFTER_TEST_CACHE"] ?? "/var/cache/sifter-tests"
        let candidate = cache + "/sbom-validators/bin/python3"
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()

    static var available: Bool { python != nil }

    static let script: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("integration/validate-sbom.py").path
    }()

    /// Validates the document at `path`; throws with the validator's findings.
    static func validate(_ path: String) throws {
        guard let python else { return }
        let result = try run(python, [script, path])
        guard result.status == 0 else { throw ToolFailure(description: "validate-sbom.py: \(result.output)") }
    }
}
