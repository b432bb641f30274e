import Distribution
import Foundation
import OCISpec
import SIF
import Synchronization

/// What a sync run shares between its items: one registry client per registry (each holding
/// only its own registry's credentials), one blob cache (so a base layer many images share is
/// downloaded once, the cache's per-blob lock making other jobs wait for it), and the build
/// options every item starts from.
public struct SyncContext: Sendable {
    public var client: @Sendable (String) throws -> RegistryClient
    public var cache: BlobCache
    public var options: BuildOptions

    public init(client: @escaping @Sendable (String) throws -> RegistryClient, cache: BlobCache, options: BuildOptions) {
        self.client = client
        self.cache = cache
        self.options = options
    }
}

/// How one item ended.
public enum SyncStatus: String, Sendable {
    case converted
    case upToDate = "up-to-date"
    case failed
}

/// One platform's output of an item.
public struct SyncOutput: Sendable {
    public var platform: Platform
    public var sourceDigest: Digest
    /// A file path, or `REGISTRY/REPOSITORY@sha256:…`.
    public var output: String
    public var converted: Bool
}

public struct SyncItemResult: Sendable {
    public var place: String
    public var source: String
    public var destination: String
    public var status: SyncStatus
    public var outputs: [SyncOutput] = []
    public var warnings: [String] = []
    public var error: (any Error)?
    public var seconds: Double = 0
}

public enum SyncEvent: Sendable {
    case started(SyncItem)
    case finished(SyncItemResult)
}

/// Runs the items of a plan, `jobs` at a time. A failed item is recorded and the others go on.
public struct SyncRunner: Sendable {
    public let context: SyncContext

    public init(context: SyncContext) { self.context = context }

    public func run(_ plan: SyncPlan, jobs: Int, force: Bool, events: @escaping @Sendable (SyncEvent) -> Void = { _ in }) -> [SyncItemResult] {
        var results = plan.failures.map { failure in
            SyncItemResult(place: failure.place, source: failure.source, destination: failure.destination, status: .failed, error: failure.error)
        }
        for result in results { events(.finished(result)) }
        let options = sharedOptions(jobs: jobs)
        let queue = Mutex(Array(plan.items.enumerated())[...])
        let done = Mutex([Int: SyncItemResult]())
        let group = DispatchGroup()
        for _ in 0..<max(1, min(jobs, plan.items.count)) {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                while let (position, item) = queue.withLock({ $0.popFirst() }) {
                    events(.started(item))
                    let result = self.convert(item, options: options, force: force)
                    done.withLock { $0[position] = result }
                    events(.finished(result))
                }
            }
            // The build recurses through the layer tree on this thread.
            thread.stackSize = 16 << 20
            thread.start()
        }
        group.wait()
        results += done.withLock { done in plan.items.indices.compactMap { done[$0] } }
        return results
    }

    /// With several jobs, each build reads its layers on a share of the cores. mksquashfs
    /// keeps its own default: `-processors` is recorded in the SIF's provenance, and a sync
    /// must write the same file as `sifter build` of the same source.
    private func sharedOptions(jobs: Int) -> BuildOptions {
        var options = context.options
        if jobs > 1 { options.indexWorkers = max(1, ProcessInfo.processInfo.activeProcessorCount / jobs) }
        return options
    }

    func convert(_ item: SyncItem, options base: BuildOptions, force: Bool) -> SyncItemResult {
        let started = DispatchTime.now()
        var result = SyncItemResult(place: item.place, source: item.source, destination: item.destinationText, status: .failed)
        do {
            var options = base
            options.squashfs.compression = item.compression
            options.squashfs.blockSize = item.blockSize
            let converter = try converter(for: item, options: options)
            switch item.output {
            case let .files(directory, files):
                (result.status, result.outputs, result.warnings) = try convertToFiles(item, directory: directory, files: files,
                                                                                      converter: converter, force: force)
            case let .registry(repository, tag):
                (result.status, result.outputs) = try convertToRegistry(item, target: try PushTarget(parsing: repository + ":" + tag),
                                                                        converter: converter, force: force)
            }
        } catch {
            result.status = .failed
            result.error = error
        }
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return result
    }

    private func converter(for item: SyncItem, options: BuildOptions) throws -> Converter {
        let context = self.context
        let source = try SourceParser.parse(item.source) { reference in
            RegistryAccess(client: try context.client(reference.registry), cache: context.cache)
        }
        let sourceClient = item.source.hasPrefix("docker://") ? try context.client(try ImageReference.parse(item.source).registry) : nil
        let destinationClient: RegistryClient
        if case let .registry(repository, _) = item.output {
            destinationClient = try context.client(try ImageReference.parse(repository).registry)
        } else if let sourceClient {
            destinationClient = sourceClient
        } else {
            destinationClient = try RegistryClient()
        }
        return Converter(source: source, sourceText: item.source, sourceClient: sourceClient, destination: destinationClient, options: options)
    }

    /// A directory destination: under the item's lock, each platform's SIF is kept when its
    /// provenance records the source manifest digest and options of this run, else built
    /// (written atomically, replacing the old one).
    private func convertToFiles(_ item: SyncItem, directory: String, files: [SyncItem.PlatformFile], converter: Converter, force: Bool)
        throws -> (SyncStatus, [SyncOutput], [String])
    {
        try AtomicOutput.checkDestination(files[0].path, replace: true)
        let name = URL(fileURLWithPath: item.key).lastPathComponent
        let lock = try OutputLock(path: directory + "/." + name + ".sifter-sync.lock")
        defer { lock.release() }
        let sources = try converter.resolveSourcePlatformsInOrder(.list(files.map(\.platform)))
        var outputs: [SyncOutput] = []
        var warnings: [String] = []
        for (file, source) in zip(files, sources) {
            var options = converter.options
            options.platform = source.platform
            options.platformRequested = true
            if !force, try Self.isCurrent(file.path, manifestDigest: source.manifestDigest, fingerprint: options.fingerprint) {
                outputs.append(SyncOutput(platform: source.platform, sourceDigest: source.manifestDigest, output: file.path, converted: false))
                continue
            }
            options.force = true
            let built = try Builder(options: options).build(source: converter.source, output: file.path)
            warnings += built.warnings
            outputs.append(SyncOutput(platform: source.platform, sourceDigest: built.manifestDigest, output: file.path, converted: true))
        }
        return (outputs.contains(where: \.converted) ? .converted : .upToDate, outputs, warnings)
    }

    private func convertToRegistry(_ item: SyncItem, target: PushTarget, converter: Converter, force: Bool) throws -> (SyncStatus, [SyncOutput]) {
        if item.platforms.count == 1 {
            var single = converter
            single.options.platform = item.platforms[0]
            single.options.platformRequested = true
            let resolved = Mutex<Digest?>(nil)
            let result = try single.convert(to: target, output: nil, force: force) { event in
                if case let .sourceDigest(digest) = event { resolved.withLock { $0 = digest } }
            }
            guard let digest = resolved.withLock({ $0 }) else { throw SifterError.invalidArgument("\(item.source): no source digest") }
            return (result.skipped ? .upToDate : .converted,
                    [SyncOutput(platform: item.platforms[0], sourceDigest: digest, output: result.pinnedReference, converted: !result.skipped)])
        }
        let result = try converter.convert(platforms: .list(item.platforms), to: target, force: force)
        let outputs = result.entries.map { entry in
            SyncOutput(platform: entry.platform, sourceDigest: entry.sourceDigest, output: "\(result.repository.name)@\(entry.manifestDigest)",
                       converted: entry.outcome == .built)
        }
        return (result.skipped ? .upToDate : .converted, outputs)
    }

    /// Whether the SIF at `path` was built from this manifest with these options. A file that
    /// is not a SIF sifter wrote is never replaced.
    static func isCurrent(_ path: String, manifestDigest: Digest, fingerprint: String) throws -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        guard info.st_mode & S_IFMT == S_IFREG else { throw SyncError.foreignOutput(path: path, reason: "is not a regular file") }
        let image: SIFImage
        do { image = try SIFImage.load(path: path) } catch {
            throw SyncError.foreignOutput(path: path, reason: "is not a SIF sifter can read (\(error))")
        }
        defer { try? image.close() }
        guard let provenance = try? RecordedProvenance.load(from: image) else {
            throw SyncError.foreignOutput(path: path, reason: "has no sifter provenance")
        }
        return provenance.manifestDigest == manifestDigest && provenance.buildOptions == fingerprint
    }
}
