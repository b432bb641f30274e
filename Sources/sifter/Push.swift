import ArgumentParser
import Distribution
import Foundation
import SifterCore

struct Push: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Push a SIF file to a registry as an ORAS artifact, laid out as Apptainer pushes it.",
        discussion: """
        The artifact is an OCI image manifest with the config type \(SIFArtifact.configMediaType) \
        and one layer \(SIFArtifact.layerMediaType) holding the file, so `apptainer pull oras://…` \
        accepts it. Its created time comes from the SIF, so the same file always gives the same \
        digest. The blob is skipped when the repository has it; each tag is one manifest PUT.
        """
    )

    @Argument(help: "The SIF file.") var file: String
    @Argument(help: "oras://REGISTRY/REPOSITORY[:TAG] (default tag: latest).") var destination: String
    @OptionGroup var tagging: TagFlags
    @OptionGroup var output: PublishOutputFlags
    @OptionGroup var progress: ProgressFlags
    @OptionGroup var registry: RegistryFlags

    func run() throws {
        do {
            let target = try PushTarget(parsing: destination, tags: tagging.tag, semver: tagging.semver)
            let client = try tagging.client(try registry.client(for: target.repository.registry))
            let progress = ProgressDisplay(self.progress)
            defer { progress.finish() }
            let result = try Pusher(client: client, digests: registry.digests()).push(
                file: file, to: target, annotations: try tagging.annotationMap(), events: progress.renderer.push)
            progress.finish()
            try output.report(result, verb: "pushed")
        }
    }
}

/// `--tag`, `--semver`, `--annotation` and the upload chunking, shared by push and convert.
struct TagFlags: ParsableArguments {
    @Option(help: "Another tag to set (repeatable).") var tag: [String] = []
    @Option(help: "A release version vX.Y.Z[-pre][+build]: tags X.Y.Z, X.Y, X and latest (a pre-release gets only its version; 0.y.z no X).")
    var semver: String?
    @Option(help: "A manifest annotation KEY=VALUE (repeatable; wins over the derived ones).") var annotation: [String] = []
    @Option(help: "Let Quay expire the tags after this long (e.g. 2w, 12h): the quay.expires-after annotation.")
    var expiresAfter: String?
    @Option(help: "Upload blobs larger than this in PATCH chunks of this many bytes (default: one streamed PUT; chunks only to resume an interrupted upload or when the registry refuses the single request).")
    var chunkSize: Int64?

    func annotationMap() throws -> [String: String] {
        var map: [String: String] = [:]
        for item in annotation {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw SifterError.invalidArgument("--annotation \"\(item)\" is not KEY=VALUE")
            }
            map[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        if let expiresAfter { map.merge(try QuayExpiry.annotation(expiresAfter)) { _, expiry in expiry } }
        return map
    }

    /// The client with `--chunk-size` applied (a new client over the same options).
    func client(_ client: RegistryClient) throws -> RegistryClient {
        guard let chunkSize else { return client }
        guard chunkSize >= 1 << 10 else { throw SifterError.invalidArgument("--chunk-size must be at least 1024 bytes") }
        var options = client.options
        options.monolithicUploadLimit = chunkSize
        options.uploadChunkSize = chunkSize
        return try RegistryClient(options: options)
    }
}

/// `--json`, `--digest-file`, and the GitHub Actions files, shared by push and convert.
struct PublishOutputFlags: ParsableArguments {
    @Flag(help: "Print a JSON summary.") var json = false
    @Option(help: "Write the manifest digest to this file.") var digestFile: String?

    func report(_ result: PushResult, verb: String) throws {
        if let digestFile { try PublishReport.writeDigest(result, to: digestFile) }
        try PublishReport.writeGitHub(result)
        if json {
            printOut(PublishReport.json(result).rendered() + "\n")
            return
        }
        printOut("\(verb) \(result.repository.name):\(result.tags.joined(separator: ",")) (SIF \(result.layer == .uploaded ? "uploaded" : "already there"), \(ByteCount.text(result.layerSize)))\n")
        printOut("digest: \(result.manifestDigest)\n")
        printOut("pull:   apptainer pull oras://\(result.pinnedReference)\n")
    }
}
