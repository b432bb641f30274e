import ArgumentParser
import Distribution
import Foundation
import OCISpec
import SifterCore
import Synchronization

struct Sync: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep a list of images converted: SIFs in a directory, or ORAS artifacts in a registry.",
        discussion: """
        WISHLIST is a YAML file (see the README): images by tag or digest, or repositories \
        whose tags are chosen by globs (tags:) or a semver range (versions:), each with a \
        destination (a directory, or oras://REGISTRY/REPOSITORY, or oras://REGISTRY/NAMESPACE/ \
        for one repository per image) and platforms. Each source digest is resolved first; \
        only what is missing or changed is built (a directory SIF records its source digest \
        in its provenance; a registry uses convert's skip-if-present). One failed entry does \
        not stop the others; the exit status is non-zero when any failed.

        --shard I/N takes a fixed share of the entries (a hash of each output), for a Slurm job \
        array or a CI matrix: shards never overlap and need no coordination. --plan --matrix N \
        prints a GitHub Actions strategy.matrix. Credentials come from docker's config.json \
        (docker login, $DOCKER_CONFIG, REGISTRY_AUTH_FILE), each registry getting its own.
        """
    )

    @Argument(help: "The wishlist (YAML).") var wishlist: String
    @Option(help: "Conversions run at once (they share one blob cache).") var jobs = 1
    @Option(help: "Take share I of N of the entries (I from 0), e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT.") var shard: String?
    @Option(help: "Destination for entries that name none (overrides the wishlist's defaults).") var destination: String?
    @Flag(help: "Print what would be converted (tags listed, nothing built).") var plan = false
    @Option(help: "With --plan: print a GitHub Actions strategy.matrix of N shards instead.") var matrix: Int?
    @Flag(help: "Rebuild even what is up to date.") var force = false
    @Flag(help: "Remove SIFs that sifter wrote into the destination directories and the wishlist no longer names.") var prune = false
    @Flag(help: "With --prune: only say what would be removed.") var dryRun = false
    @Option(help: "Write the JSON report to this file.") var report: String?
    @Option(help: "Write a Markdown summary to this file (also appended to $GITHUB_STEP_SUMMARY).") var summary: String?
    @Flag(help: "Print the JSON report on standard output (progress goes to standard error).") var json = false
    @Option(help: "Compressor threads per build (default: mksquashfs's, all cores).") var processors: Int?
    @Option(help: "The mksquashfs to run.") var mksquashfs = "mksquashfs"
    @OptionGroup var connection: ConnectionFlags

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        if matrix != nil, !plan { throw ValidationError("--matrix goes with --plan") }
        if let matrix, matrix < 1 { throw ValidationError("--matrix must be at least 1") }
        if dryRun, !prune { throw ValidationError("--dry-run goes with --prune") }
    }

    func run() throws {
        let started = DispatchTime.now()
        let list = try Wishlist.load(path: wishlist, destination: destination)
        let share = try shard.map(SyncShard.init(parsing:)) ?? .whole
        if let matrix {
            printOut(SyncShard.matrix(matrix) + "\n")
            return
        }
        let clients = ClientPool(flags: connection)
        let whole = try list.plan { repository in try clients.client(for: repository.registry).listTags(repository) }
        let mine = whole.share(share)
        if plan {
            printPlan(mine, share: share)
            return
        }
        var options = BuildOptions()
        options.squashfs.executable = mksquashfs
        options.squashfs.processors = processors
        options.digests = FileDigestMemo(cacheRoot: connection.cacheRoot)
        if let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"] {
            guard let value = Int64(epoch) else { throw SifterError.invalidArgument("SOURCE_DATE_EPOCH \"\(epoch)\" is not a number") }
            options.sourceDateEpoch = value
        }
        let context = SyncContext(client: { try clients.client(for: $0) }, cache: try BlobCache(root: connection.cacheRoot), options: options)
        let toStandardError = json
        let results = SyncRunner(context: context).run(mine, jobs: jobs, force: force) { event in
            guard case let .finished(result) = event else { return }
            Self.show(result, toStandardError: toStandardError)
        }
        var outcome = SyncReport(wishlist: wishlist, shard: share, results: results)
        if prune {
            if whole.failures.isEmpty {
                outcome.pruned = try DirectoryPrune.prune(whole, dryRun: dryRun)
                for path in outcome.pruned { printError("\(dryRun ? "would prune" : "pruned") \(path)") }
            } else {
                outcome.pruneSkipped = "the tags of \(whole.failures.count) entries could not be listed, so what the wishlist names is not known"
                printWarning("not pruning: \(outcome.pruneSkipped!)")
            }
        }
        outcome.seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        try write(outcome)
        let failed = outcome.results(.failed)
        guard failed.isEmpty else {
            // One category for all failures keeps its status; mixed failures give 1.
            let categories = Set(failed.compactMap { $0.error.flatMap { FailureCategory($0)?.exitStatus } })
            Sifter.fail(SyncError.entriesFailed(failed: failed.count, total: outcome.results.count).description,
                        code: categories.count == 1 ? categories.first! : 1)
        }
    }

    static func show(_ result: SyncItemResult, toStandardError: Bool) {
        let seconds = String(format: "%.1f s", result.seconds)
        switch result.status {
        case .failed:
            printError("failed: \(result.source) -> \(result.destination) (\(result.place)): \(result.error.map { "\($0)" } ?? "")")
        case .converted, .upToDate:
            let line = "\(result.status == .converted ? "converted" : "up to date"): \(result.source) -> \(result.destination) (\(seconds))"
            if toStandardError { printError(line) } else { printOut(line + "\n") }
        }
        for warning in result.warnings { printWarning("\(result.source): \(warning)") }
    }

    func printPlan(_ plan: SyncPlan, share: SyncShard) {
        if json {
            let items: [JSONValue] = plan.items.map { item in
                .object([("entry", .string(item.place)), ("source", .string(item.source)), ("destination", .string(item.destinationText)),
                         ("platforms", .array(item.platforms.map { .string($0.description) }))])
            }
            let failures: [JSONValue] = plan.failures.map {
                .object([("entry", .string($0.place)), ("source", .string($0.source)), ("error", .string("\($0.error)"))])
            }
            printOut(JSONValue.object([("shard", .string(share.description)), ("items", .array(items)), ("failed", .array(failures))]).rendered() + "\n")
            return
        }
        for item in plan.items {
            printOut("\(item.source) -> \(item.destinationText) [\(item.platforms.map(\.description).joined(separator: ", "))]\n")
        }
        for failure in plan.failures { printError("failed: \(failure.source) (\(failure.place)): \(failure.error)") }
        printOut("\(plan.items.count) items\(share.count > 1 ? " in shard \(share)" : "")\n")
    }

    func write(_ outcome: SyncReport) throws {
        let text = outcome.json.rendered() + "\n"
        if let report { try Self.writeFile(report, text) }
        if json { printOut(text) }
        if let summary { try Self.writeFile(summary, outcome.markdown) }
        try outcome.writeGitHubSummary()
    }

    /// Written whole under a temporary name, then renamed: a reader never sees half a report.
    static func writeFile(_ path: String, _ text: String) throws {
        let output = try AtomicOutput(destination: path, replace: true, mode: 0o644)
        try output.write { temporary in
            guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) else {
                throw SifterError.io(path: temporary, operation: "write", reason: "cannot create")
            }
        }
    }
}

/// The connection flags of `sync`. Credentials are not among them: a run touches many
/// registries, so each registry's come from docker's config.json, for that registry only.
struct ConnectionFlags: ParsableArguments {
    @Flag(help: "Talk plain HTTP to the registries.") var plainHTTP = false
    @Flag(help: "Accept any TLS certificate.") var insecure = false
    @Option(help: "CA certificates (PEM) to trust for the registries.") var caFile: String?
    @Option(help: "Layers downloaded at once per image.") var parallel = 4
    @Option(help: "Blob cache directory, shared by the jobs (default: $SIFTER_CACHE_DIR, else $XDG_CACHE_HOME/sifter, else ~/.cache/sifter).")
    var cacheDir: String?
    @Flag(help: "Log registry requests to stderr (never secrets).") var verbose = false

    var cacheRoot: String { cacheDir ?? BlobCache.defaultRoot() }
}

/// One client per registry, made when first needed and shared by every job.
final class ClientPool: Sendable {
    private let flags: ConnectionFlags
    private let clients = Mutex([String: RegistryClient]())

    init(flags: ConnectionFlags) { self.flags = flags }

    func client(for registry: String) throws -> RegistryClient {
        try clients.withLock { clients in
            if let client = clients[registry] { return client }
            var options = RegistryOptions(credentialSources: [.dockerConfig(paths: nil)], plainHTTP: flags.plainHTTP, insecure: flags.insecure,
                                          caFile: flags.caFile, parallelDownloads: flags.parallel)
            if flags.verbose { options.logger = { printError($0) } }
            options.warningHandler = { printWarning($0) }
            let client = try RegistryClient(options: options)
            clients[registry] = client
            return client
        }
    }
}
