import ArgumentParser
import Foundation
import OCISpec
import SBOM
import SifterCore

/// The options that shape a build, shared by `build` and `convert`.
struct BuildFlags: ParsableArguments {
    @Option(help: "Platform to pick from a multi-platform image (os/arch[/variant]; default: this machine's).") var platform: String?
    @Option(help: "Squashfs compression: gzip (Apptainer's default), zstd, xz, lz4, lzo.") var compression = "gzip"
    @Option(help: "Squashfs block size in bytes (default 131072).") var blockSize: Int?
    @Option(help: "Compressor threads (default: all cores).") var processors: Int?
    @Option(help: "The mksquashfs to run.") var mksquashfs = "mksquashfs"
    @Option(help: "Sign the SIF with this OpenPGP secret key before it is written (passphrase: SIFTER_SIGN_PASSPHRASE).")
    var signKey: String?
    @Option(help: "The SBOM object's format: spdx (SPDX 2.3 JSON, the default) or cyclonedx (CycloneDX 1.5 JSON).")
    var sbomFormat: String?
    @Flag(help: "Write no SBOM object.") var noSbom = false

    /// The build options, SOURCE_DATE_EPOCH included.
    func options() throws -> BuildOptions {
        var options = BuildOptions()
        if let platform {
            options.platform = try Platform(parsing: platform)
            options.platformRequested = true
        }
        options.squashfs.compression = compression
        options.squashfs.blockSize = blockSize
        options.squashfs.processors = processors
        options.squashfs.executable = mksquashfs
        guard let format = SBOMDocumentFormat(rawValue: sbomFormat ?? "spdx") else {
            throw SifterError.invalidArgument("--sbom-format \"\(sbomFormat ?? "")\": spdx or cyclonedx")
        }
        guard !noSbom || sbomFormat == nil else { throw SifterError.invalidArgument("--no-sbom and --sbom-format exclude each other") }
        options.sbomFormat = noSbom ? nil : format
        if let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"] {
            guard let value = Int64(epoch) else { throw SifterError.invalidArgument("SOURCE_DATE_EPOCH \"\(epoch)\" is not a number") }
            options.sourceDateEpoch = value
        }
        // Before any download: a key that cannot be unlocked stops the run at once.
        if let signKey {
            options.signingKey = try KeyFiles.signingKey(signKey) { try Sign.passphrase(fromStdin: false) }
        }
        // For comparisons: wait for every layer before reading any (the output is the same).
        options.readWhileDownloading = ProcessInfo.processInfo.environment["SIFTER_STREAM_DOWNLOADS"] != "0"
        return options
    }
}
