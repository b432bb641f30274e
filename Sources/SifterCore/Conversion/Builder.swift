import Distribution
import Foundation
import Hashing
import Rootfs
import OCISpec
import OpenPGP
import SBOM
import SIF
import Squashfs
import Synchronization

/// Options of `sifter build`.
public struct BuildOptions: Sendable {
    public var platform: Platform = .host
    /// `platform` was asked for (`--platform`), rather than this machine's taken by default.
    public var platformRequested = false
    public var squashfs = MksquashfsOptions()
    /// Replace an existing output file.
    public var force = false
    /// SOURCE_DATE_EPOCH: the time recorded in the SIF; nil takes the image's `created`.
    public var sourceDateEpoch: Int64?
    /// Where to remember the output's digest for a later `push` (not part of the output).
    public var digests: FileDigestMemo?
    /// Read layers while they download (false: wait for every download first). The output is
    /// the same either way.
    public var readWhileDownloading = true
    /// Threads reading layers in the flattener's first pass.
    public var indexWorkers = ProcessInfo.processInfo.activeProcessorCount
    /// Sign the finished SIF with this key (`--sign-key`) before it is renamed into place.
    public var signingKey: SigningKey?
    /// The SBOM object's format; nil writes none (`--no-sbom`).
    public var sbomFormat: SBOMDocumentFormat? = .spdx

    public init() {}

    /// The options that change the output bytes, recorded in provenance and in the SIF ID. A
    /// build without an SBOM keeps the text builds had before SBOMs existed.
    public var fingerprint: String {
        let squash = squashfs
        return "platform=\(platform) comp=\(squash.compression) block=\(squash.blockSize.map(String.init) ?? "default")"
            + (sbomFormat.map { " sbom=\($0.rawValue)" } ?? "")
    }
}

/// What a finished build reports (`--json`).
public struct BuildResult: Sendable {
    public var output: String
    public var size: Int64
    public var sha256: String
    public var manifestDigest: Digest
    public var indexDigest: Digest?
    public var configDigest: Digest
    public var arch: String
    public var timings: [(stage: String, seconds: Double)]
    /// Layers the first pass began to read while they were still downloading.
    public var layersReadWhileDownloading = 0
    /// What the build could not keep exactly (xattrs on the root, a root time mksquashfs set
    /// from the clock), and libarchive's warnings.
    public var warnings: [String] = []
    /// The SBOM object written, if any: its format and how many packages it lists.
    public var sbom: (format: SBOMDocumentFormat, packages: Int)?
}

/// Progress events for a display; the builder never prints. Layer downloads report through
/// the source's own progress closure (`RegistryAccess.progress`).
public enum BuildEvent: Sendable {
    case resolved(ResolvedImage)
    /// A step began; the step before it, if any, ended.
    case stage(BuildStage)
    /// Compressed layer bytes read so far by the index or the stream pass, out of its total;
    /// from the reading threads.
    case flatten(FlattenProgress)
}

/// The steps of a build after the image is resolved.
public enum BuildStage: String, Sendable {
    /// Every layer read (while it downloads) into the index of the final tree.
    case index
    /// mksquashfs started; the surviving members streamed into it, until it exits.
    case stream
    /// The SIF written around the partition: header, provenance, integrity record.
    case sif
}

/// `sifter build`: resolve → flatten layers into mksquashfs writing the partition in place →
/// write the SIF around it → rename into place. No rootfs and no squashfs file on disk.
public struct Builder: Sendable {
    public let options: BuildOptions

    public init(options: BuildOptions) { self.options = options }

    public func build(source: any ImageSource, output: String,
                      events: @escaping @Sendable (BuildEvent) -> Void = { _ in }) throws -> BuildResult {
        let clock = StageClock()
        let image = options.readWhileDownloading ? try source.resolveWhileDownloading(platform: options.platform)
            : try source.resolve(platform: options.platform)
        clock.lap(options.readWhileDownloading ? "resolve" : "resolve+download")
        events(.resolved(image))
        do {
            return try build(image: image, output: output, clock: clock, events: events)
        } catch {
            guard let downloads = image.downloads else { throw error }
            // Nothing will read the layers still downloading (partial files stay to resume).
            // A download that failed explains what the build saw (a reader of another layer
            // sees only the cancellation it caused): it is the error to report.
            downloads.cancel()
            do {
                try downloads.wait()
            } catch {
                if case .cancelled = error {} else { throw error }
            }
            throw error
        }
    }

    private func build(image: ResolvedImage, output: String, clock: StageClock,
                       events: @escaping @Sendable (BuildEvent) -> Void) throws -> BuildResult {
        let time = options.sourceDateEpoch ?? image.config.created.flatMap(RFC3339.parse) ?? 0
        let metadata = try BuildMetadata(image: image, time: time)
        let version = try MksquashfsProcess.version(executable: options.squashfs.executable)

        var createOptions = CreateOptions()
        createOptions.launchScript = Layout.defaultLaunchScript
        createOptions.time = time
        createOptions.id = try BuildMetadata.deterministicID(manifest: image.manifestDigest, options: options.fingerprint)

        let destination = try AtomicOutput(destination: output, replace: options.force, mode: 0o755)
        let result = try destination.write { temporary in
            let leading = try leadingObjects(metadata: metadata)
            let offset = try SIFImage.plannedOffsets(
                options: createOptions, objects: leading + [try ObjectInput(.partition, source: .inPlace(size: 0))]
            ).last ?? 0
            clock.lap("prepare")
            let sink = MksquashfsSink(output: temporary, offset: offset, options: options.squashfs, version: version)
            let sbom = options.sbomFormat.map { SBOMStage(format: $0, source: image.sourceText) }
            let outcome = try FlattenStage.stream(image: image, metadata: metadata, into: sink, workers: options.indexWorkers,
                                                  observer: sbom?.observer, events: events) { clock.lap($0) }
            events(.stage(.sif))
            if let downloads = image.downloads {
                try downloads.wait()
                clock.record("download", seconds: downloads.seconds)
            }

            let partitionSize = try fileSize(temporary) - offset
            let arch = outcome.arch.arch
            let partition = try ObjectInput(.partition, source: .inPlace(size: partitionSize),
                                            metadata: .partition(fs: .squash, part: .primarySystem, arch: arch))
            let sif = try SIFImage.create(path: temporary, options: createOptions, objects: leading + [partition])
            let sbomObject = try sbom?.object(image: image, time: time)
            if let sbomObject { try sif.add(sbomObject.object, time: time) }
            // What ran is known exactly only now, so provenance goes after the partition (its
            // length never moved the partition), then the integrity record over everything.
            let provenance = ProvenanceDocument(image: image, options: options, mksquashfsVersion: version.text,
                                                mksquashfs: sink.record, time: time)
            try sif.add(try ObjectInput(.genericJSON, source: .bytes(provenance.encoded()), name: ProvenanceDocument.objectName),
                        time: time)
            var digest = try IntegrityRecord.appendHashingFile(to: sif, time: time)
            try sif.close()
            if let key = options.signingKey {
                digest = try BuildSigning.sign(temporary, with: key, buildTime: time)
            }
            clock.lap("sif")
            var result = BuildResult(
                output: output, size: try fileSize(temporary), sha256: digest.hex, manifestDigest: image.manifestDigest,
                indexDigest: image.indexDigest, configDigest: image.configDigest, arch: arch.goName, timings: clock.laps,
                layersReadWhileDownloading: image.downloads?.readWhileDownloading ?? 0,
                warnings: platformWarning(image) + outcome.summary.warnings + sink.warnings + (sbomObject?.warnings ?? []))
            result.sbom = sbom.map { ($0.format, sbomObject?.packages ?? 0) }
            return result
        }
        if let digests = options.digests, let digest = try? Digest(sha256Hex: result.sha256) {
            digests.remember(digest, for: output)
        }
        return result
    }

    /// A single-manifest image whose platform is not the one asked for with `--platform`.
    private func platformWarning(_ image: ResolvedImage) -> [String] {
        guard options.platformRequested else { return [] }
        return PlatformMismatch.warning(source: image.sourceText, requested: options.platform, image: image.platform,
                                        fromIndex: image.indexDigest != nil).map { [$0] } ?? []
    }

    /// The SIF objects before the partition, in Apptainer's order (JSON objects sorted by name).
    func leadingObjects(metadata: BuildMetadata) throws -> [ObjectInput] {
        var objects = [try ObjectInput(.deffile, source: .bytes(Array(metadata.definition.utf8)))]
        let json: [(String, [UInt8])] = [("inspect-metadata.json", metadata.inspectMetadata), ("oci-config.json", metadata.ociConfig)]
        for (name, bytes) in json.sorted(by: { $0.0 < $1.0 }) {
            objects.append(try ObjectInput(.genericJSON, source: .bytes(bytes), name: name))
        }
        return objects
    }

    func fileSize(_ path: String) throws -> Int64 {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.size] as? NSNumber)?.int64Value ?? 0
    }
}

/// Wall-clock time per stage, for `--json` and the benchmark's breakdown.
final class StageClock: Sendable {
    private struct State {
        var last = DispatchTime.now()
        var laps: [(stage: String, seconds: Double)] = []
    }

    private let state = Mutex(State())

    var laps: [(stage: String, seconds: Double)] { state.withLock { $0.laps } }

    func lap(_ stage: String) {
        let now = DispatchTime.now()
        state.withLock { state in
            state.laps.append((stage, Double(now.uptimeNanoseconds - state.last.uptimeNanoseconds) / 1e9))
            state.last = now
        }
    }

    /// A duration that overlapped the laps (downloads under the first pass).
    func record(_ stage: String, seconds: Double) {
        state.withLock { $0.laps.append((stage, seconds)) }
    }
}

/// RFC 3339 timestamps as images carry them (`2024-01-02T03:04:05.123456789Z`, offsets allowed).
public enum RFC3339 {
    public static func parse(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970.rounded(.down)) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970.rounded(.down)) }
        // Go writes up to nine fractional digits; Foundation reads at most three.
        if let dot = text.firstIndex(of: "."), let end = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) {
            return parse(String(text[..<dot] + text[end...]))
        }
        return nil
    }
}
