import ArgumentParser
import OCISpec
import SifterCore

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an image's flattened tree, with Apptainer's files, as one uncompressed tar.",
        discussion: "The same stream `build` feeds to mksquashfs. SOURCE is as for `build`."
    )

    @Argument(help: "The image.") var source: String
    @Argument(help: "The tar file to write, or - for standard output.") var output: String
    @Option(help: "Platform to pick from a multi-platform image.") var platform: String?
    @Flag(help: "Replace OUT.tar if it exists.") var force = false
    @OptionGroup var registry: RegistryFlags

    func run() throws {
        if output != "-" { try AtomicOutput.checkDestination(output, replace: force) }
        let imageSource = try SourceParser.parse(source) { reference in
            RegistryAccess(client: try registry.client(for: reference.registry), cache: try registry.cache())
        }
        try Exporter.export(source: imageSource, platform: try platform.map { try Platform(parsing: $0) } ?? .host,
                            output: output, replace: force)
    }
}
