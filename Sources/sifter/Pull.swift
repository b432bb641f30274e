import ArgumentParser
import OCISpec
import SifterCore

struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a SIF pushed as an ORAS artifact (by sifter, Apptainer or oras).",
        discussion: """
        The manifest must have exactly one layer of type application/vnd.sylabs.sif.layer.v1.sif \
        (or the legacy Singularity typo); its size and sha256 are checked while it downloads, a \
        dropped connection resumes, and OUT.sif appears only when complete and a valid SIF.
        """
    )

    @Argument(help: "oras://REGISTRY/REPOSITORY[:TAG|@sha256:…].") var reference: String
    @Argument(help: "The SIF file to write.") var output: String
    @Option(help: "Platform to pick when the reference is an index (default: this machine's).") var platform: String?
    @Flag(help: "Replace OUT.sif if it exists.") var force = false
    @Flag(help: "Print a JSON summary.") var json = false
    @OptionGroup var progress: ProgressFlags
    @OptionGroup var registry: RegistryFlags

    func run() throws {
        do {
            try AtomicOutput.checkDestination(output, replace: force)
            let parsed = try ImageReference.parse(reference)
            let progress = ProgressDisplay(self.progress)
            defer { progress.finish() }
            let result = try Puller(client: try registry.client(for: parsed.registry)).pull(
                reference, output: output, replace: force, platform: try platform.map { try Platform(parsing: $0) } ?? .host,
                progress: progress.renderer.download)
            progress.finish()
            if json {
                printOut(JSONValue.object([
                    ("output", .string(result.output)), ("size", .int(result.size)), ("sha256", .string(result.layerDigest.hex)),
                    ("arch", .string(result.arch)), ("digest", .string(result.manifestDigest.description)),
                    ("ref", .string("\(result.reference.name)@\(result.manifestDigest)")),
                ]).rendered() + "\n")
            } else {
                printOut("\(result.output): \(result.size) bytes, \(result.layerDigest) (\(result.arch), from \(result.reference.name)@\(result.manifestDigest))\n")
            }
        }
    }
}
