import ArgumentParser
import Foundation
import SIF
import SifterCore

struct SBOMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sbom",
        abstract: "Write a SIF's SBOM (software bill of materials) object.",
        discussion: """
        `build` writes one (SPDX 2.3 JSON unless --sbom-format cyclonedx; none with --no-sbom): \
        the packages of the image's final tree, from its dpkg, apk, rpm (rpmdb.sqlite) and \
        Python databases. The object is written as it is stored; -o replaces FILE atomically.
        """
    )

    @Argument(help: "The SIF file.") var file: String
    @Option(help: "Which SBOM: spdx or cyclonedx (or a SIF format name such as spdx-json); default: the only one.")
    var format: String?
    @Option(name: .shortAndLong, help: "Write the SBOM here instead of standard output.") var output: String?

    /// Shown whole on a terminal (escaped) only up to this size.
    static let terminalLimit: Int64 = 64 << 20

    func run() throws {
        if let output { try AtomicOutput.checkDestination(output, replace: true) }
        let image = try SIFImage.load(path: file)
        defer { try? image.close() }
        let descriptor = try SBOMExtractor.find(in: image, format: format)
        if let output {
            try AtomicOutput(destination: output, replace: true).write { temporary in
                let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw SifterError.io(path: temporary, operation: "open", reason: String(cString: strerror(errno))) }
                defer { close(fd) }
                try SBOMExtractor.copy(descriptor, of: image, to: fd, name: output)
            }
        } else if isatty(STDOUT_FILENO) != 0 {
            printOut(String(decoding: try image.data(of: descriptor, limit: Self.terminalLimit), as: UTF8.self))
        } else {
            try SBOMExtractor.copy(descriptor, of: image, to: STDOUT_FILENO, name: "standard output")
        }
    }
}
