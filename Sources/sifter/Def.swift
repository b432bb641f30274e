import ArgumentParser
import Distribution
import Foundation
import OCISpec
import SifterCore

struct Def: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "def",
        abstract: "Write an Apptainer definition file generated from an image's metadata.",
        discussion: """
        `apptainer build x.sif FILE.def` then gives the container `sifter build` makes from the \
        same image; `build` embeds the same text (pinned, without --workdir) in the SIF. \
        SOURCE is as for `build`; the file is written for Apptainer 1.3 and later. Metadata a \
        definition file cannot hold (an Env name no shell variable can have, …) is left out \
        with a comment in the file and a warning on stderr. \
        -o replaces FILE atomically, so the file can be regenerated in place.
        """
    )

    @Argument(help: "The image to describe.") var source: String
    @Option(name: .shortAndLong, help: "Write the definition file here instead of standard output.") var output: String?
    @Flag(help: "Keep the reference as given instead of pinning From: to the manifest digest.") var unpinned = false
    @Flag(help: "Change to the image's WorkingDir in %runscript (Apptainer ignores it otherwise).") var workdir = false
    @Option(help: "Platform to pick from a multi-platform image (os/arch[/variant]; default: this machine's).") var platform: String?
    @OptionGroup var registry: RegistryFlags

    func run() throws {
        if let output { try AtomicOutput.checkDestination(output, replace: true) }
        let wanted = try platform.map { try Platform(parsing: $0) } ?? .host
        let options = DefinitionOptions(pinned: !unpinned, applyWorkingDir: workdir)
        let definition: DefinitionFile
        let found: (platform: Platform, fromIndex: Bool)
        if source.hasPrefix("docker://") {
            (definition, found) = try registryDefinition(platform: wanted, options: options)
        } else {
            let image = try SourceParser.parse(source).resolve(platform: wanted)
            definition = DefinitionFile(image: image, options: options)
            found = (image.platform, image.indexDigest != nil)
        }
        if platform != nil, let warning = PlatformMismatch.warning(source: source, requested: wanted, image: found.platform,
                                                                   fromIndex: found.fromIndex) {
            printWarning(warning)
        }
        if let reason = definition.unusableReason {
            throw SifterError.invalidArgument("\(source): \(reason)")
        }
        for warning in definition.warnings { printWarning(warning) }
        guard let output else {
            printData(definition.text)
            return
        }
        let destination = try AtomicOutput(destination: output, replace: true)
        try destination.write { temporary in
            guard FileManager.default.createFile(atPath: temporary, contents: Data(definition.text.utf8)) else {
                throw SifterError.io(path: temporary, operation: "write", reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Only the manifest and config are fetched: resolving a `RegistrySource` would download
    /// every layer, which a definition file does not need. The reference is the one `build`
    /// records, so pinned output equals the text `build` embeds.
    func registryDefinition(platform: Platform, options: DefinitionOptions) throws
        -> (DefinitionFile, (platform: Platform, fromIndex: Bool))
    {
        let reference = try ImageReference.parse(source)
        let remote = try registry.client(for: reference.registry).resolve(reference, platform: platform)
        do { try remote.manifest.requireContainerImage() } catch {
            throw BuildError.invalidSource(source, reason: error.description)
        }
        let config = try ImageConfig.decode(remote.configBytes)
        let origin = DefinitionFile.Origin(
            bootstrap: "docker", reference: reference.description, manifestDigest: remote.manifestDigest,
            indexDigest: remote.indexDigest, platform: config.platform, created: config.created)
        return (DefinitionFile(origin: origin, config: config.config, options: options), (config.platform, remote.indexDigest != nil))
    }
}
