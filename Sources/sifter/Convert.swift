import ArgumentParser
import Distribution
import Foundation
import OCISpec
import SifterCore

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a SIF from an image and push it as an ORAS artifact, skipping both when nothing changed.",
        discussion: """
        SOURCE is as for `build`. The source's manifest digest is resolved first (one manifest \
        request, no layers); when DEST already holds a SIF whose annotations record that digest \
        and the same build options, nothing is built or uploaded (missing extra tags are pointed \
        at it). --force rebuilds. Credentials given with -u/--password-stdin or SIFTER_USERNAME/\
        SIFTER_PASSWORD go to DEST's registry only; the source registry gets --source-username \
        with SIFTER_SOURCE_PASSWORD, or docker config.

        --platform A,B (or --all-platforms) builds one SIF per platform and sets each tag to an \
        OCI index of them, each entry with its platform: `apptainer pull oras://DEST:TAG` gets \
        the SIF of its machine. Each platform is skipped on its own when DEST already has it.
        """
    )

    @Argument(help: "The image to convert.") var source: String
    @Argument(help: "oras://REGISTRY/REPOSITORY[:TAG].") var destination: String
    @OptionGroup var build: BuildFlags
    @Option(help: "Keep the built SIF at this path (default: a scratch file, removed).") var output: String?
    @Flag(help: "Build and push even when DEST is up to date (and replace --output).") var force = false
    @Flag(help: "Convert every platform of the source's index (attestations skipped) into one index of SIFs.") var allPlatforms = false
    @Flag(help: "With several platforms, also tag each platform's SIF TAG-ARCH (e.g. 1.2-amd64).") var platformTags = false
    @Option(help: "User name for the source registry (password from SIFTER_SOURCE_PASSWORD).") var sourceUsername: String?
    @OptionGroup var tagging: TagFlags
    @OptionGroup var outputs: PublishOutputFlags
    @OptionGroup var progress: ProgressFlags
    @OptionGroup var registry: RegistryFlags

    func run() throws {
        do {
            let platforms = try platformChoice()
            if platforms != nil, output != nil { throw SifterError.invalidArgument("--output keeps one SIF; it cannot be used with several platforms") }
            if platforms == nil, platformTags { throw SifterError.invalidArgument("--platform-tags needs several platforms (--platform A,B or --all-platforms)") }
            if let output { try AtomicOutput.checkDestination(output, replace: force) }
            var flags = build
            if platforms != nil { flags.platform = nil }
            var options = try flags.options()
            options.digests = registry.digests()
            let target = try PushTarget(parsing: destination, tags: tagging.tag, semver: tagging.semver)
            let destinationClient = try tagging.client(try registry.client(for: target.repository.registry))
            var sourceClient: RegistryClient?
            let progress = ProgressDisplay(self.progress)
            defer { progress.finish() }
            let imageSource = try SourceParser.parse(source) { reference in
                let client = try self.sourceClient(for: reference.registry, like: destinationClient)
                sourceClient = client
                return RegistryAccess(client: client, cache: try registry.cache(), progress: progress.renderer.layerDownload)
            }
            let converter = Converter(source: imageSource, sourceText: source, sourceClient: sourceClient,
                                      destination: destinationClient, options: options)
            let (source, renderer) = (self.source, progress.renderer)
            if let platforms {
                try convert(platforms, with: converter, to: target, renderer: renderer)
                return
            }
            let result = try converter.convert(to: target, annotations: try tagging.annotationMap(), output: output, force: force) {
                renderer.convert($0, source: source)
            }
            progress.finish()
            if result.skipped, !outputs.json {
                printOut("\(target.repository.name):\(target.tags[0]) is up to date (built from the same source digest with the same options): nothing built or uploaded\n")
            }
            try outputs.report(result, verb: result.skipped ? "up to date:" : "converted and pushed")
        }
    }

    /// Several platforms: `--all-platforms`, or a comma-separated `--platform`.
    func platformChoice() throws -> PlatformChoice? {
        if allPlatforms {
            guard build.platform == nil else { throw SifterError.invalidArgument("--all-platforms and --platform exclude each other") }
            return .all
        }
        guard let text = build.platform, text.contains(",") else { return nil }
        let choice = try PlatformChoice.parse(text)
        if case let .list(platforms) = choice, platforms.count < 2 { return nil }
        return choice
    }

    func convert(_ platforms: PlatformChoice, with converter: Converter, to target: PushTarget, renderer: ProgressRenderer) throws {
        let source = self.source
        // Platforms are built one after the other, so each one's stages follow the last one's.
        let result = try converter.convert(platforms: platforms, to: target, annotations: try tagging.annotationMap(),
                                           platformTags: platformTags, force: force) { platform, event in
            renderer.convert(event, source: platform.map { "\(source) (\($0))" } ?? source)
        }
        renderer.finish()
        if let digestFile = outputs.digestFile { try PublishReport.writeDigest(result, to: digestFile) }
        try PublishReport.writeGitHub(result)
        if outputs.json {
            printOut(PublishReport.json(result).rendered() + "\n")
            return
        }
        for entry in result.entries {
            let what = switch entry.outcome {
            case .built: "built, SIF \(entry.layer == .uploaded ? "uploaded" : "already there")"
            case .upToDate: "up to date"
            case .annotated: "up to date, annotations added"
            }
            printOut("\(entry.platform): \(what) (\(ByteCount.text(entry.layerSize))) \(entry.manifestDigest)\n")
        }
        printOut("\(result.skipped ? "up to date:" : "pushed") \(target.repository.name):\(result.tags.joined(separator: ",")) (index of \(result.entries.count) platforms)\n")
        printOut("digest: \(result.indexDigest)\n")
        printOut("pull:   apptainer pull oras://\(result.pinnedReference)\n")
    }

    /// Its own client for the source registry: the destination's connection settings, the
    /// source's own credentials first. The destination's explicit and environment
    /// credentials are bound to the destination's registry, so they reach the source only
    /// when both are the same registry.
    func sourceClient(for registryName: String, like destination: RegistryClient) throws -> RegistryClient {
        var options = destination.options
        if let sourceUsername {
            guard let password = ProcessInfo.processInfo.environment["SIFTER_SOURCE_PASSWORD"] else {
                throw SifterError.invalidArgument("--source-username needs SIFTER_SOURCE_PASSWORD")
            }
            options.credentialSources.insert(.explicit(Credential(username: sourceUsername, password: password), registries: [registryName]), at: 0)
        }
        return try RegistryClient(options: options)
    }
}
