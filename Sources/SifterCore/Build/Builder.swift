import Distribution
import Foundation
import Hashing
import OCISpec
import SIF
import Squashfs

/// Options of `sifter build`.
public struct BuildOptions: Sendable {
    public var platform: Platform = .host
    public var squashfs = MksquashfsOptions()
    /// Replace an existing output file.
    public var force = false
    /// SOURCE_DATE_EPOCH: the time recorded in the SIF; nil takes the image's `created`.
    public var sourceDateEpoch: Int64?
    /// Where to remember the output's digest for a later `push` (not part of the output).
    public var digests: FileDigestMemo?

    public init() {}

    /// The options that change the output bytes, recorded in provenance and in the SIF ID.
    public var fingerprint: String {
        let squash = squashfs
        return "platform=\(platform) comp=\(squash.compression) block=\(squash.blockSize.map(String.init) ?? "default")"
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
    /// Why the one-pass stream was given up for the two passes (slower, same tree), if it was.
    public var onePassAbandoned: String?
    /// Layers the stream began to read while they were still downloading.
    public var layersReadWhileDownloading = 0
}

/// Progress events for a display; the builder never prints.
public enum BuildEvent: Sendable {
    case resolved(ResolvedImage)
    case stage(String)
}

/// `sifter build`: resolve → flatten layers into mksquashfs writing the partition in place →
/// write the SIF prefix around it → rename into place. No rootfs and no squashfs file on disk.
public struct Builder: Sendable {
    public let options: BuildOptions

    public init(options: BuildOptions) { self.options = options }

    public func build(source: any ImageSource, output: String, events: @Sendable (BuildEvent) -> Void = { _ in }) throws -> BuildResult {
        let clock = StageClock()
        // Layers keep downloading while the stream starts, top layer first.
        // SIFTER_STREAM_DOWNLOADS=0 waits for every layer first (to compare, or rule it out).
        let overlap = ProcessInfo.processInfo.environment["SIFTER_STREAM_DOWNLOADS"] != "0"
        let image = overlap ? try source.resolveWhileDownloading(platform: options.platform)
            : try source.resolve(platform: options.platform)
        clock.lap(overlap ? "resolve" : "resolve+download")
        events(.resolved(image))
        do {
            return try build(image: image, output: output, clock: clock, events: events)
        } catch {
            // Nothing will read the layers still downloading (partial files stay to resume).
            image.downloads?.cancel()
            throw error
        }
    }

    private func build(image: ResolvedImage, output: String, clock: StageClock,
                       events: @Sendable (BuildEvent) -> Void) throws -> BuildResult {
        let time = options.sourceDateEpoch ?? image.config.created.flatMap(RFC3339.parse) ?? 0
        let metadata = try BuildMetadata(image: image, time: time)
        let mksquashfsVersion = try MksquashfsProcess.version(executable: options.squashfs.executable)
        let squashOptions = options.squashfs

        var createOptions = CreateOptions()
        createOptions.launchScript = Layout.defaultLaunchScript
        createOptions.time = time
        createOptions.id = try BuildMetadata.deterministicID(manifest: image.manifestDigest, options: options.fingerprint)

        let destination = try AtomicOutput(destination: output, replace: options.force, mode: 0o755)
        let result = try destination.write { temporary in
            // The arguments depend on the partition offset, which depends on the provenance
            // object that records the arguments: plan with a placeholder of the final length.
            var provenance = ProvenanceDocument(image: image, options: options, mksquashfsVersion: mksquashfsVersion, mksquashfsArguments: [], time: time)
            let leadingBeforeProvenance = try leadingObjects(metadata: metadata, provenance: [])
            var offset = try SIFImage.plannedOffsets(
                options: createOptions,
                objects: leadingBeforeProvenance + [try ObjectInput(.genericJSON, source: .inPlace(size: 0))]
            ).last ?? 0
            var arguments = try squashOptions.arguments(output: temporary, offset: offset)
            provenance.mksquashfsArguments = arguments
            var provenanceBytes = provenance.encoded()
            var leading = try leadingObjects(metadata: metadata, provenance: provenanceBytes)
            let partitionSlot = [try ObjectInput(.partition, source: .inPlace(size: 0))]
            let planned = try SIFImage.plannedOffsets(options: createOptions, objects: leading + partitionSlot).last ?? 0
            if planned != offset {
                offset = planned
                arguments = try squashOptions.arguments(output: temporary, offset: offset)
                provenance.mksquashfsArguments = arguments
                provenanceBytes = provenance.encoded()
                leading = try leadingObjects(metadata: metadata, provenance: provenanceBytes)
                let replanned = try SIFImage.plannedOffsets(options: createOptions, objects: leading + partitionSlot).last ?? 0
                guard replanned == offset else {
                    throw BuildError.failed(image.sourceText, stage: "layout", reason: "partition offset did not settle")
                }
            }
            clock.lap("prepare")
            events(.stage("squash"))
            let squashed = try squash(image: image, metadata: metadata, output: temporary, offset: offset,
                                      options: squashOptions, clock: clock)
            clock.lap("squash")

            let partitionSize = try fileSize(temporary) - offset
            let arch = squashed.shellArch.flatMap { Arch(goName: $0) } ?? Arch(goName: image.config.architecture)
            guard let arch else {
                throw BuildError.failed(image.sourceText, stage: "arch", reason: "architecture \"\(image.config.architecture)\" has no SIF code")
            }
            let partition = try ObjectInput(.partition, source: .inPlace(size: partitionSize),
                                            metadata: .partition(fs: .squash, part: .primarySystem, arch: arch))
            let sif = try SIFImage.create(path: temporary, options: createOptions, objects: leading + [partition])
            // `sifter verify`: the digests of every object, the partition's included, in a small
            // object after the partition (its digest exists only now); appending moves nothing.
            let digest = try IntegrityRecord.appendHashingFile(to: sif, time: time)
            try sif.close()
            clock.lap("sif")
            return BuildResult(
                output: output, size: try fileSize(temporary), sha256: digest.hex, manifestDigest: image.manifestDigest,
                indexDigest: image.indexDigest, configDigest: image.configDigest, arch: arch.goName, timings: clock.laps,
                onePassAbandoned: squashed.onePassAbandoned,
                layersReadWhileDownloading: image.downloads?.readWhileDownloading ?? 0
            )
        }
        if let digests = options.digests, let digest = try? Digest(sha256Hex: result.sha256) {
            digests.remember(digest, for: output)
        }
        return result
    }

    /// `Squash.run`, reading layers as they download. If that fails, or read bytes a resumed
    /// download then replaced, the downloads are awaited (a failed one is the error to report)
    /// and the stream runs again from the verified cache, where a fault in the image itself
    /// shows up again with its proper message.
    func squash(image: ResolvedImage, metadata: BuildMetadata, output: String, offset: Int64,
                options: MksquashfsOptions, clock: StageClock) throws -> Squash.Outcome {
        guard let downloads = image.downloads else {
            return try Squash.run(image: image, metadata: metadata, output: output, offset: offset, options: options) { clock.lap($0) }
        }
        do {
            let outcome = try Squash.run(image: image, metadata: metadata, output: output, offset: offset, options: options) { clock.lap($0) }
            try downloads.wait()
            clock.record("download", seconds: downloads.seconds)
            return outcome
        } catch {
            try downloads.wait()
            clock.record("download", seconds: downloads.seconds)
            clock.lap("retry")
            return try Squash.run(image: image.fromCache, metadata: metadata, output: output, offset: offset, options: options) { clock.lap($0) }
        }
    }

    /// The SIF objects before the partition, in Apptainer's order (JSON objects sorted by name).
    func leadingObjects(metadata: BuildMetadata, provenance: [UInt8]) throws -> [ObjectInput] {
        var objects = [try ObjectInput(.deffile, source: .bytes(Array(metadata.definition.utf8)))]
        var json: [(String, [UInt8])] = [("inspect-metadata.json", metadata.inspectMetadata), ("oci-config.json", metadata.ociConfig)]
        if !provenance.isEmpty { json.append(("sifter-provenance.json", provenance)) }
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
final class StageClock: @unchecked Sendable {
    private var last = DispatchTime.now()
    private(set) var laps: [(stage: String, seconds: Double)] = []

    func lap(_ stage: String) {
        let now = DispatchTime.now()
        laps.append((stage, Double(now.uptimeNanoseconds - last.uptimeNanoseconds) / 1e9))
        last = now
    }

    /// A duration that overlapped the laps (downloads under the stream).
    func record(_ stage: String, seconds: Double) {
        laps.append((stage, seconds))
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
