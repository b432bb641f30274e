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
        /// The Go architecture of the image's /bin/sh, from its ELF header.
        var shellArch: String?
    }

    /// `lap` marks the end of each step for the timings: "index", then "stream".
    static func stream(image: ResolvedImage, metadata: BuildMetadata, into sink: any TarSink, workers: Int,
                       lap: (String) -> Void = { _ in }) throws -> Outcome {
        let flattener = makeFlattener(image: image, metadata: metadata, workers: workers,
                                      gnuLongLinkTargets: !sink.readsPaxLinkTargetsExactly)
        let indexed = try flattener.index()
        lap("index")
        let fd = try sink.start(root: indexed.root, latestTime: indexed.latestTime)
        let summary: FlattenSummary
        do {
            summary = try flattener.write(indexed, toFileDescriptor: fd)
        } catch {
            throw sink.abandon(after: error)
        }
        try sink.finish()
        lap("stream")
        return Outcome(summary: summary, shellArch: summary.probeHead.flatMap(ELF.goArch))
    }

    /// The flattener for an image with Apptainer's runtime files added on top.
    static func makeFlattener(image: ResolvedImage, metadata: BuildMetadata, workers: Int,
                              gnuLongLinkTargets: Bool = false) -> LayerFlattener {
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
            }
            return SyntheticEntry(path: entry.path, kind: kind, mode: entry.mode, mtime: metadata.time, policy: policy)
        }
        var options = FlattenOptions(imageName: image.sourceText, defaultTime: metadata.time, synthetic: synthetic,
                                     probePath: "bin/sh")
        options.gnuLongLinkTargets = gnuLongLinkTargets
        return LayerFlattener(layers: layers, options: options, workers: workers)
    }
}

/// Reads the machine of an ELF header, as Apptainer's `ArchFromContainer` does for /bin/sh.
enum ELF {
    static func goArch(_ head: [UInt8]) -> String? {
        guard head.count >= 20, head.starts(with: [0x7F, 0x45, 0x4C, 0x46]) else { return nil }
        let is64 = head[4] == 2
        let littleEndian = head[5] == 1
        let machine = littleEndian ? UInt16(head[18]) | UInt16(head[19]) << 8 : UInt16(head[19]) | UInt16(head[18]) << 8
        switch machine {
        case 3: return "386"
        case 62: return "amd64"
        case 40: return "arm"
        case 183: return "arm64"
        case 21: return littleEndian ? "ppc64le" : "ppc64"
        case 22: return "s390x"
        case 243: return "riscv64"
        case 258: return "loong64"
        case 8: return is64 ? (littleEndian ? "mips64le" : "mips64") : (littleEndian ? "mipsle" : "mips")
        default: return nil
        }
    }
}
