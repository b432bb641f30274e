import ArchiveIO
import Distribution
import Foundation
import OCISpec
import Rootfs

/// The conversion's central stage: the image's layers, with Apptainer's runtime files on
/// top, flattened into one tar stream that goes into a sink (mksquashfs writing the partition
/// in place, or a file). One strategy, fixed before any byte is read: index every layer
/// (worker threads, downloads read as they arrive), start the sink with what the index says,
/// stream the surviving members. A bad layer is read once and reported once.
enum FlattenStage {
    struct Outcome {
        var summary: FlattenSummary
        /// The partition's architecture, chosen as Apptainer chooses it.
        var arch: PartitionArch.Choice
    }

    /// `lap` marks the end of each step for the timings: "index", then "stream". `observer` is
    /// offered every regular file of the final tree as it streams (the SBOM's databases);
    /// `events` is told when each pass begins and how far it has read.
    static func stream(image: ResolvedImage, metadata: BuildMetadata, into sink: any TarSink, workers: Int,
                       observer: (any ContentObserver)? = nil, events: (@Sendable (BuildEvent) -> Void)? = nil,
                       lap: (String) -> Void = { _ in }) throws -> Outcome {
        var progress: (@Sendable (FlattenProgress) -> Void)?
        if let events { progress = { events(.flatten($0)) } }
        let flattener = makeFlattener(image: image, metadata: metadata, workers: workers,
                                      gnuLongLinkTargets: !sink.readsPaxLinkTargetsExactly, progress: progress)
        events?(.stage(.index))
        let indexed = try flattener.index()
        lap("index")
        let fd = try sink.start(root: indexed.root, latestTime: indexed.latestTime)
        events?(.stage(.stream))
        let summary: FlattenSummary
        do {
            summary = try flattener.write(indexed, toFileDescriptor: fd, observer: observer)
        } catch {
            throw sink.abandon(after: error)
        }
        try sink.finish()
        lap("stream")
        let arch = PartitionArch.choose(shellHead: summary.probeHead, firstExecutableHead: summary.firstExecutableHead,
                                        configArchitecture: image.config.architecture)
        return Outcome(summary: summary, arch: arch)
    }

    /// The flattener for an image with Apptainer's runtime files added on top.
    static func makeFlattener(image: ResolvedImage, metadata: BuildMetadata, workers: Int, gnuLongLinkTargets: Bool = false,
                              progress: (@Sendable (FlattenProgress) -> Void)? = nil) -> LayerFlattener {
        let layers = image.layers.map { layer in
            LayerInput(digest: layer.descriptor.digest, size: layer.descriptor.size, diffID: layer.diffID,
                       mediaType: layer.descriptor.mediaType, blob: layer.blob)
        }
        let synthetic = metadata.runtimeEntries.map { entry -> SyntheticEntry in
            let kind: SyntheticEntry.Kind = switch entry.kind {
            case let .file(bytes): .file(contents: bytes)
            case .directory: .directory
            case let .symlink(target): .symlink(target: target)
            }
            let policy: SyntheticEntry.Policy = switch entry.policy {
            case .replace: .replace
            case .ifMissing: .ifAbsent
            case .ifMissingOrSymlink: .ifAbsentOrSymlink
            case .replaceThroughSymlink: .replaceThroughSymlink
            case let .replaceKeepingHistory(directory, prefix): .replaceKeepingHistory(directory: directory, prefix: prefix)
            }
            return SyntheticEntry(path: entry.path, kind: kind, mode: entry.mode, mtime: metadata.time, policy: policy)
        }
        var options = FlattenOptions(imageName: image.sourceText, defaultTime: metadata.time, synthetic: synthetic,
                                     probePath: "bin/sh")
        options.gnuLongLinkTargets = gnuLongLinkTargets
        options.executableProbe = PartitionArch.endsWalk
        options.progress = progress
        return LayerFlattener(layers: layers, options: options, workers: workers)
    }
}
