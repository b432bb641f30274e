import ArgumentParser
import Foundation
import OCISpec
import SifterCore
import Squashfs

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert an OCI image into an Apptainer SIF file.",
        discussion: """
        SOURCE is docker://REF (a registry), oci:DIR[:TAG] (an OCI image layout), \
        oci-archive:FILE.tar or docker-archive:FILE.tar. Layers are streamed into mksquashfs, \
        which writes the partition in place inside the SIF: no unpacked root file system and \
        no temporary squashfs file. The output appears only when complete.
        """
    )

    @Argument(help: "The image to convert.") var source: String
    @Argument(help: "The SIF file to write.") var output: String
    @OptionGroup var build: BuildFlags
    @Flag(help: "Replace OUT.sif if it exists.") var force = false
    @Flag(help: "Print a JSON summary.") var json = false
    @OptionGroup var progress: ProgressFlags
    @OptionGroup var registry: RegistryFlags

    func run() throws {
        if let hint = ArgumentOrder.swappedHint(source: source, output: output) { throw SifterError.invalidArgument(hint) }
        // Before any download: a missing directory would otherwise show up as a broken pipe.
        try AtomicOutput.checkDestination(output, replace: force)
        var options = try build.options()
        options.force = force
        options.digests = registry.digests()
        let progress = ProgressDisplay(self.progress)
        defer { progress.finish() }
        let imageSource = try SourceParser.parse(source) { reference in
            RegistryAccess(client: try registry.client(for: reference.registry), cache: try registry.cache(),
                           progress: progress.renderer.layerDownload)
        }
        let result = try Builder(options: options).build(source: imageSource, output: output, events: progress.renderer.build)
        progress.finish()
        for warning in result.warnings { printWarning(warning) }
        if json {
            printOut(BuildReport.json(result).rendered() + "\n")
        } else {
            printOut("\(result.output): \(result.size) bytes, sha256:\(result.sha256) (\(result.arch), from \(result.manifestDigest))\n")
        }
    }
}
